// Where writeExt4 may write a non-zero byte, from the plan alone (no write, no read): the
// image formats that store only what a disk holds (qcow2, VMDK) size their tables from it
// before the first byte is written.
//
// Every byte the writer writes lies in a used block (superblock copies and GDTs, bitmaps,
// inode tables, the journal, directory, symlink, xattr and extent-tree blocks, file
// data), so the used blocks are a safe answer; two kinds of used block the writer leaves
// as zeros on a zeroed device are taken out, because they are most of a fresh image's
// metadata: the unused tail of each inode table, and the journal after its superblock
// (an empty journal is one block of header). test/formats/written-ranges.test.ts runs the
// real writer on random trees under a device that records every non-zero byte.
import { type ByteRange, normalizeRanges, subtractRanges } from '../../io/byte-ranges.js';
import { usedInodeTableBytes } from './metadata.js';
import type { Ext4Plan } from './planner.js';

/** Byte ranges of the filesystem (offsets from its start) that writeExt4 may write non-zero. */
export function ext4WrittenRanges(plan: Ext4Plan): ByteRange[] {
  const { geo, layout } = plan;
  const bs = geo.blockSize;
  const used = layout.used.map((r) => ({ start: r.start * bs, end: (r.start + r.count) * bs }));
  const zeros: ByteRange[] = [];
  for (let g = 0; g < geo.groups; g++) {
    const table = layout.groups[g]!.inodeTable * bs;
    zeros.push({ start: table + usedInodeTableBytes(geo, plan.catalog.lastIno, g), end: table + geo.inodeTableBlocks * bs });
  }
  // The journal: its first block is the jbd2 superblock, the rest stays zero.
  let first = true;
  for (const m of layout.journal.mappings) {
    const start = (m.physical + (first ? 1 : 0)) * bs;
    zeros.push({ start, end: (m.physical + m.length) * bs });
    first = false;
  }
  return subtractRanges(normalizeRanges(used), normalizeRanges(zeros));
}
