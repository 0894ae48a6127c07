// planExt4: tree + options → a complete, pure description of the image. No I/O, no clock,
// no randomness: the same tree and options always give the same plan.
import type { FsTree } from '../../tree/node.js';
import { DoesNotFitError, InvalidOptionError, formatBytes } from '../../util/errors.js';
import { type Catalog, buildCatalog } from './catalog.js';
import { seedWords } from './dirhash.js';
import { type Geometry, computeGeometry, groupBlocks } from './geometry.js';
import { FIRST_INO } from './inode.js';
import { defaultJournalBlocks } from './journal.js';
import { type Layout, groupUsedBlocks, layoutBlocks, layoutHighWater } from './layout.js';
import type { Ext4Options } from './options.js';

export interface GroupStats {
  freeBlocks: number;
  freeInodes: number;
  usedDirs: number;
  itableUnused: number;
}

export interface Ext4Plan {
  options: Ext4Options;
  geo: Geometry;
  catalog: Catalog;
  layout: Layout;
  journalBlocks: number;
  stats: GroupStats[];
  freeBlocks: number;
  freeInodes: number;
  /** Bytes the tree needs at minimum (for reports). */
  minimumBytes: number;
}

const MIB = 1 << 20;

function validate(o: Ext4Options): void {
  if (![1024, 2048, 4096].includes(o.blockSize)) throw new InvalidOptionError('--block-size', `must be 1024, 2048 or 4096, not ${o.blockSize}`);
  if (![256, 512, 1024].includes(o.inodeSize) || o.inodeSize > o.blockSize) throw new InvalidOptionError('--inode-size', `must be 256, 512 or 1024 (and at most the block size), not ${o.inodeSize}`);
  if (o.uuid.length !== 16 || o.hashSeed.length !== 16) throw new InvalidOptionError('--uuid', 'UUID and hash seed must be 16 bytes');
  if (new TextEncoder().encode(o.label).length > 16) throw new InvalidOptionError('--label', `label ${JSON.stringify(o.label)} is longer than 16 bytes`);
  if (o.journalBlocks !== undefined && o.journalBlocks !== 0 && (o.journalBlocks < MIN_JOURNAL || o.journalBlocks > MAX_JOURNAL)) {
    throw new InvalidOptionError('--journal-blocks', `a journal has ${MIN_JOURNAL} to ${MAX_JOURNAL} blocks (as mke2fs allows), not ${o.journalBlocks}`);
  }
  if (o.size !== 'auto') {
    const max = maxBytes(o);
    if (o.size > max) {
      const why = o.features.bit64 ? '' : ` (ext4 without 64bit holds 2^32 − 1 blocks of ${o.blockSize} bytes)`;
      throw new InvalidOptionError('--size', `${formatBytes(o.size)} is more than cake-img writes: at most ${formatBytes(max)}${why}`);
    }
  }
}

/** A journal's size in blocks, as mke2fs -J size allows. */
export const MIN_JOURNAL = 1024;
export const MAX_JOURNAL = 10_240_000;
/** The largest filesystem written: 16 TiB, the largest file a host ext4 with 4 KiB blocks can hold (planning stays small too). */
export const MAX_FS_BYTES = 2 ** 44;

/** The largest size the options can make. */
export function maxBytes(o: Pick<Ext4Options, 'blockSize' | 'features'>): number {
  const formatMax = o.features.bit64 ? MAX_FS_BYTES : (2 ** 32 - 1) * o.blockSize;
  return Math.min(MAX_FS_BYTES, formatMax);
}

function journalFor(o: Ext4Options, blocks: number): number {
  if (!o.features.hasJournal) return 0;
  return o.journalBlocks ?? defaultJournalBlocks(blocks);
}

/** The geometry for `blocks` and the journal it gets; null when the options cannot make one. */
function geometryFor(o: Ext4Options, blocks: number, minInodes: number): { geo: Geometry; journal: number } | null {
  const geo = computeGeometry({
    blocksCount: blocks, blockSize: o.blockSize, inodeSize: o.inodeSize, minInodes, inodeRatio: o.inodeRatio,
    descSize: o.features.bit64 ? 64 : 32, logGroupsPerFlex: 4,
  });
  if (!geo) return null;
  if (!o.features.bit64 && geo.blocksCount > 0xffffffff) return null;
  return { geo, journal: journalFor(o, geo.blocksCount) };
}

function tryLayout(o: Ext4Options, cat: Catalog, blocks: number, minInodes: number): { geo: Geometry; layout: Layout; journal: number } | null {
  const g = geometryFor(o, blocks, minInodes);
  const layout = g && layoutBlocks(g.geo, cat, g.journal);
  return g && layout ? { geo: g.geo, layout, journal: g.journal } : null;
}

/** The last block a layout of `blocks` would use, counted cheaply (layoutHighWater); null when it does not fit. */
function highWaterAt(o: Ext4Options, cat: Catalog, blocks: number, minInodes: number): number | null {
  const g = geometryFor(o, blocks, minInodes);
  return g && layoutHighWater(g.geo, cat, g.journal);
}

/**
 * Blocks the tree needs: grow a trial size until the layout fits, then take its high-water
 * mark (the last used block), which is what that geometry really needs.
 */
function minimumBlocks(o: Ext4Options, cat: Catalog, minInodes: number): number {
  let data = 0;
  for (let ino = 1; ino <= cat.lastIno; ino++) if (cat.nodes[ino]) data += cat.blockCounts[ino]!;
  data += cat.xattrInBlock.size;
  const inodeBlocks = Math.ceil(((minInodes + FIRST_INO) * o.inodeSize) / o.blockSize);
  let blocks = Math.max(64, Math.ceil((data + inodeBlocks) * 1.02) + 64);
  for (let i = 0; i < 500; i++) {
    const highWater = highWaterAt(o, cat, blocks, minInodes);
    if (highWater !== null) {
      // The high-water mark at a roomier size; make sure that size itself works.
      let need = highWater;
      while (need < blocks && highWaterAt(o, cat, need, minInodes) === null) need = Math.min(blocks, Math.ceil(need * 1.01) + 16);
      return need;
    }
    blocks = Math.ceil(blocks * 1.05) + 64;
  }
  throw new Error('could not size the filesystem (planner bug)');
}

export function planExt4(tree: FsTree, o: Ext4Options): Ext4Plan {
  validate(o);
  const cat = buildCatalog(tree, o.blockSize, o.inodeSize, seedWords(o.hashSeed), o.features.dirIndex);
  const minInodes = cat.lastIno - FIRST_INO + 1;
  let blocks: number;
  let minimumBytes = 0;
  if (o.size === 'auto') {
    minimumBytes = minimumBlocks({ ...o, inodeRatio: Infinity }, cat, minInodes) * o.blockSize;
    // A margin for what the system writes at run time: 10% plus 8 MiB, whole MiB, and at
    // least 8 MiB so that there is room for a journal.
    const bytes = Math.max(8 * MIB, Math.ceil((minimumBytes * 1.1 + 8 * MIB) / MIB) * MIB);
    blocks = bytes / o.blockSize;
  } else {
    blocks = Math.floor(o.size / o.blockSize);
  }
  // Leave inodes for files the system creates at run time; with a fixed size that is
  // too tight for them, settle for what the tree needs.
  const inodeGoal = Math.ceil(minInodes * 1.1) + 256;
  // Feasibility by the cheap dry run first: a failed full layout of 100,000 inodes is
  // garbage that shows up in peak memory.
  const goal = o.size === 'auto' || highWaterAt(o, cat, blocks, inodeGoal) !== null ? inodeGoal : minInodes;
  const r = tryLayout(o, cat, blocks, goal) ?? (goal !== minInodes ? tryLayout(o, cat, blocks, minInodes) : null);
  if (!r) throw new DoesNotFitError('the tree', minimumBlocks(o, cat, minInodes) * o.blockSize, o.size === 'auto' ? blocks * o.blockSize : o.size);
  if (!minimumBytes) minimumBytes = r.layout.highWater * o.blockSize;
  const { geo, layout } = r;

  // Per-group statistics for the descriptors and the superblock.
  const stats: GroupStats[] = [];
  const ipg = geo.inodesPerGroup;
  for (let g = 0; g < geo.groups; g++) {
    stats.push({ freeBlocks: groupBlocks(geo, g) - groupUsedBlocks(geo, layout.used, g), freeInodes: ipg, usedDirs: 0, itableUnused: ipg });
  }
  const markInode = (ino: number, dir: boolean) => {
    const g = Math.floor((ino - 1) / ipg);
    const s = stats[g]!;
    s.freeInodes--;
    if (dir) s.usedDirs++;
    s.itableUnused = Math.min(s.itableUnused, ipg - (ino - 1 - g * ipg) - 1);
  };
  for (let ino = 1; ino < FIRST_INO; ino++) markInode(ino, ino === 2);
  for (let ino = FIRST_INO; ino <= cat.lastIno; ino++) {
    const node = cat.nodes[ino];
    if (node) markInode(ino, node.kind === 'dir');
  }
  let freeBlocks = 0;
  let freeInodes = 0;
  for (const s of stats) {
    freeBlocks += s.freeBlocks;
    freeInodes += s.freeInodes;
  }
  return { options: o, geo, catalog: cat, layout, journalBlocks: r.journal, stats, freeBlocks, freeInodes, minimumBytes };
}
