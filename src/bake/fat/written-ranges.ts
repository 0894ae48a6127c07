// Where writeFat may write non-zero, from the plan alone (what qcow2 and VMDK size their
// tables from): everything from the boot sector up to the end of the last used cluster.
// The allocation is one walk from cluster 2, so the used clusters are contiguous.
import type { ByteRange } from '../../io/byte-ranges.js';
import type { FatPlan } from './planner.js';

const SECTOR = 512;

export function fatWrittenRanges(plan: FatPlan): ByteRange[] {
  const end = Math.min(plan.sizeBytes, plan.geo.dataStart * SECTOR + plan.usedClusters * plan.geo.clusterBytes);
  return [{ start: 0, end }];
}
