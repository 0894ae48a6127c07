// What the page draws of a planned disk: the partition (from 1 MiB), one strip per ext4
// block group (superblock or backup, free blocks) and where the kernel, the initrd and
// ldlinux.sys landed — all read from the plan, nothing from the written bytes.
import type { DiskPlan } from '../src/bake/disk.js';
import { groupBlocks, groupHasSuper, groupStart } from '../src/bake/ext4/geometry.js';
import { walkTree } from '../src/tree/walk.js';

export interface LayoutSummary {
  diskBytes: number;
  partitionStart: number;
  blockSize: number;
  groups: { index: number; start: number; blocks: number; superblock: boolean; freeBlocks: number }[];
  /** Files of /boot and the block runs they occupy. */
  files: { path: string; runs: [number, number][] }[];
}

const SHOWN = ['/boot/vmlinux', '/boot/initrd', '/boot/ldlinux.sys', '/boot/ldlinux.c32'];

export function layoutSummary(p: DiskPlan): LayoutSummary {
  const geo = p.root.fs.geo;
  const groups = [];
  for (let g = 0; g < geo.groups; g++) {
    groups.push({ index: g, start: groupStart(geo, g), blocks: groupBlocks(geo, g), superblock: groupHasSuper(g), freeBlocks: p.root.fs.stats[g]?.freeBlocks ?? 0 });
  }
  const ino = new Map(p.root.fs.catalog.entries.filter((e) => e).map((e) => [e!.node, e!.ino]));
  const files = [];
  for (const e of walkTree(p.root.fs.catalog.entries[2]!.node as never)) {
    const path = `/${e.path.join('/')}`;
    if (!SHOWN.includes(path)) continue;
    const maps = p.root.fs.layout.inodes[ino.get(e.node)!]?.mappings ?? [];
    files.push({ path, runs: maps.map((m) => [m.physical, m.length] as [number, number]) });
  }
  return { diskBytes: p.diskBytes, partitionStart: p.root.offset, blockSize: geo.blockSize, groups, files };
}
