// Second planning step: given a geometry, place every block. Fixed metadata (superblock
// copies, GDTs, each flex group's bitmaps and inode tables) is reserved first; then the
// journal, directory/symlink/xattr blocks, file data in the source's content order, and
// last the extent-tree blocks of inodes with more than four extents (the journal's after
// the others'). layoutHighWater counts the same blocks in bulk, for sizing.
import { type Run, BlockAllocator } from './allocator.js';
import { type Catalog, dataBlocksOf } from './catalog.js';
import { EXT_INIT_MAX_LEN, type ExtentNode, type Mapping, ROOT_EXTENTS, buildExtentTree, extentTreeBlockCount } from './extent.js';
import { type InodeLayout, InodeExtents } from './inode-extents.js';
import { type Geometry, groupBlocks, groupHasSuper, groupStart } from './geometry.js';

export interface GroupMeta {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
}

export type { InodeLayout } from './inode-extents.js';

export interface Layout {
  groups: GroupMeta[];
  journal: InodeLayout;
  /** Per inode number. */
  inodes: InodeExtents;
  /** All used blocks (reserved and allocated), sorted and merged. */
  used: Run[];
  /** First block past all used blocks. */
  highWater: number;
}

/** Turns allocated runs for consecutive logical blocks into extents of at most 32768 blocks. */
export function runsToMappings(runs: Run[], logicalStart: number, out: Mapping[] = []): Mapping[] {
  let logical = logicalStart;
  for (const r of runs) {
    let done = 0;
    while (done < r.count) {
      const last = out[out.length - 1];
      const physical = r.start + done;
      if (last && last.logical + last.length === logical && last.physical + last.length === physical && last.length < EXT_INIT_MAX_LEN) {
        const n = Math.min(EXT_INIT_MAX_LEN - last.length, r.count - done);
        last.length += n;
        done += n;
        logical += n;
        continue;
      }
      const n = Math.min(EXT_INIT_MAX_LEN, r.count - done);
      out.push({ logical, physical, length: n });
      done += n;
      logical += n;
    }
  }
  return out;
}

function mergeRuns(a: readonly Run[], b: readonly Run[]): Run[] {
  const all = [...a, ...b].sort((x, y) => x.start - y.start);
  const out: Run[] = [];
  for (const r of all) {
    const last = out[out.length - 1];
    if (last && last.start + last.count >= r.start) last.count = Math.max(last.count, r.start + r.count - last.start);
    else out.push({ ...r });
  }
  return out;
}

const dryCache = new WeakMap<Catalog, { bs: number; small: number; data: number; tree: number }>();

/** Block totals of a catalog, computed once: small metadata, file data, extent trees. */
function dryTotals(cat: Catalog, bs: number): { small: number; data: number; tree: number } {
  const hit = dryCache.get(cat);
  if (hit && hit.bs === bs) return hit;
  let small = 0;
  let data = 0;
  let tree = 0;
  small += cat.xattrInBlock.size;
  for (let ino = 1; ino <= cat.lastIno; ino++) {
    const kind = cat.nodes[ino]?.kind;
    if (kind === 'dir' || kind === 'symlink') {
      const count = cat.blockCounts[ino]!;
      small += count;
      tree += extentTreeBlockCount(Math.ceil(count / EXT_INIT_MAX_LEN), bs);
    }
  }
  for (const ino of cat.filesInContentOrder) {
    let extents = 0;
    for (const r of dataBlocksOf(cat, ino)) extents += Math.ceil(r.count / EXT_INIT_MAX_LEN);
    data += cat.blockCounts[ino]!;
    tree += extentTreeBlockCount(extents, bs);
  }
  const totals = { bs, small, data, tree };
  dryCache.set(cat, totals);
  return totals;
}

/** Extents a run list becomes (a run longer than the extent limit takes several). */
function extentCount(runs: Run[]): number {
  let n = 0;
  for (const r of runs) n += Math.ceil(r.count / EXT_INIT_MAX_LEN);
  return n;
}

/**
 * The fixed metadata reserved in `alloc`: superblock copies with their GDTs, then each
 * flex group's bitmaps and inode tables. `null` when they do not fit.
 */
function reserveFixedMetadata(geo: Geometry, alloc: BlockAllocator): GroupMeta[] | null {
  const groups: GroupMeta[] = [];
  const flex = 2 ** geo.logGroupsPerFlex;
  for (let g = 0; g < geo.groups; g++) if (groupHasSuper(g)) alloc.reserve(groupStart(geo, g), 1 + geo.gdtBlocks);
  // Superblock copies sorted, to step the metadata cursor over them.
  const supers: Run[] = [];
  for (let g = 0; g < geo.groups; g++) if (groupHasSuper(g)) supers.push({ start: groupStart(geo, g), count: 1 + geo.gdtBlocks });
  const place = (at: number, len: number): number => {
    for (const s of supers) if (at < s.start + s.count && at + len > s.start) at = s.start + s.count;
    return at;
  };
  for (let f = 0; f * flex < geo.groups; f++) {
    const g0 = f * flex;
    const n = Math.min(flex, geo.groups - g0);
    // Bitmaps of the flex group together, then its inode tables, like mke2fs.
    let at = groupStart(geo, g0);
    const bb: number[] = [];
    const ib: number[] = [];
    const it: number[] = [];
    for (let i = 0; i < n; i++) (at = place(at, 1)), bb.push(at), alloc.reserve(at, 1), at++;
    for (let i = 0; i < n; i++) (at = place(at, 1)), ib.push(at), alloc.reserve(at, 1), at++;
    for (let i = 0; i < n; i++) (at = place(at, geo.inodeTableBlocks)), it.push(at), alloc.reserve(at, geo.inodeTableBlocks), (at += geo.inodeTableBlocks);
    if (at > geo.blocksCount) return null;
    for (let i = 0; i < n; i++) groups.push({ blockBitmap: bb[i]!, inodeBitmap: ib[i]!, inodeTable: it[i]! });
  }
  return groups;
}

/** What a layout and a count both start from: the fixed metadata reserved, then the journal allocated. */
function startLayout(geo: Geometry, journalBlocks: number): { alloc: BlockAllocator; groups: GroupMeta[]; journalRuns: Run[] } | null {
  const alloc = new BlockAllocator(geo.firstDataBlock, geo.blocksCount);
  const groups = reserveFixedMetadata(geo, alloc);
  if (!groups) return null;
  return { alloc, groups, journalRuns: journalBlocks > 0 ? alloc.alloc(journalBlocks) : [] };
}

/** Places everything; `null` when it does not fit. */
export function layoutBlocks(geo: Geometry, cat: Catalog, journalBlocks: number): Layout | null {
  const start = startLayout(geo, journalBlocks);
  if (!start) return null;
  const { alloc, groups, journalRuns } = start;
  const journal = runsToMappings(journalRuns, 0);
  const inodes = placeInodeBlocks(cat, alloc);
  placeExtentTrees(cat, inodes, alloc, geo.blockSize);
  const journalTree = journal.length <= ROOT_EXTENTS ? null : allocExtentTree(journal, geo.blockSize, alloc);
  const highWater = alloc.highWater();
  if (highWater > geo.blocksCount) return null;
  return {
    groups, journal: { mappings: journal, tree: journalTree?.tree ?? null, treeBlocks: journalTree?.blocks ?? [], xattrBlock: 0 },
    inodes, used: mergeRuns(alloc.reservedRuns(), alloc.allocated), highWater,
  };
}

/**
 * The high-water mark `layoutBlocks` would reach, for sizing; `null` when it does not fit.
 * The same blocks in bulk, O(groups) rather than O(inodes), keeping no per-inode mappings
 * or trees. Extent-tree blocks are over-counted (every crossing of reserved metadata may
 * cost a file one more extent), so a size found this way always holds the real layout.
 */
export function layoutHighWater(geo: Geometry, cat: Catalog, journalBlocks: number): number | null {
  const start = startLayout(geo, journalBlocks);
  if (!start) return null;
  const { alloc, journalRuns } = start;
  const t = dryTotals(cat, geo.blockSize);
  alloc.alloc(t.small);
  alloc.alloc(t.data);
  alloc.alloc(t.tree + extentTreeBlockCount(extentCount(journalRuns), geo.blockSize) + alloc.reservedRuns().length);
  const highWater = alloc.highWater();
  return highWater > geo.blocksCount ? null : highWater;
}

/**
 * Directory, symlink and xattr blocks first, in inode order: they are small and read
 * together. Then file data in content order, so the writer reads each source front to back.
 */
function placeInodeBlocks(cat: Catalog, alloc: BlockAllocator): InodeExtents {
  const inodes = new InodeExtents(cat.lastIno + 1);
  for (let ino = 1; ino <= cat.lastIno; ino++) {
    const node = cat.nodes[ino];
    if (!node) continue;
    if (cat.xattrInBlock.has(ino)) inodes.setXattrBlock(ino, alloc.allocOne());
    const count = cat.blockCounts[ino]!;
    if ((node.kind === 'dir' || node.kind === 'symlink') && count) inodes.set(ino, runsToMappings(alloc.alloc(count), 0));
  }
  for (const ino of cat.filesInContentOrder) {
    const mappings: Mapping[] = [];
    for (const r of dataBlocksOf(cat, ino)) runsToMappings(alloc.alloc(r.count), r.logical, mappings);
    inodes.set(ino, mappings);
  }
  return inodes;
}

/** Extent trees too big for i_block, after all data. Four extents or fewer live in i_block (encoded straight from the mappings). */
function placeExtentTrees(cat: Catalog, inodes: InodeExtents, alloc: BlockAllocator, bs: number): void {
  for (let ino = 1; ino <= cat.lastIno; ino++) {
    if (inodes.extentCount(ino) <= ROOT_EXTENTS) continue;
    const t = allocExtentTree(inodes.mappings(ino), bs, alloc);
    inodes.setTree(ino, t.tree, t.blocks);
  }
}

/** The extent tree of `mappings`, its blocks allocated as it is built. */
function allocExtentTree(mappings: Mapping[], bs: number, alloc: BlockAllocator): { tree: ExtentNode; blocks: number[] } {
  const blocks: number[] = [];
  const tree = buildExtentTree(mappings, bs, () => {
    const b = alloc.allocOne();
    blocks.push(b);
    return b;
  });
  return { tree, blocks };
}

/** Counts used blocks in [start, start+count) from the sorted `used` runs. */
export function usedInRange(used: readonly Run[], start: number, count: number, hint = { i: 0 }): number {
  let n = 0;
  const end = start + count;
  let i = hint.i;
  while (i > 0 && used[i - 1]!.start + used[i - 1]!.count > start) i--;
  while (i < used.length && used[i]!.start + used[i]!.count <= start) i++;
  hint.i = i;
  for (let j = i; j < used.length && used[j]!.start < end; j++) {
    const r = used[j]!;
    n += Math.min(end, r.start + r.count) - Math.max(start, r.start);
  }
  return n;
}

export function groupUsedBlocks(geo: Geometry, used: readonly Run[], g: number): number {
  return usedInRange(used, groupStart(geo, g), groupBlocks(geo, g));
}
