// Extent trees (Documentation/filesystems/ext4/ifork.rst). The root lives in i_block
// (4 entries); bigger trees get leaf and index blocks, each with a crc32c tail.
import { defineStruct } from '../../struct/schema.js';

export interface ExtentHeader { eh_magic: number; eh_entries: number; eh_max: number; eh_depth: number; eh_generation: number }
export interface Extent { ee_block: number; ee_len: number; ee_start_hi: number; ee_start_lo: number }
export interface ExtentIdx { ei_block: number; ei_leaf_lo: number; ei_leaf_hi: number; ei_unused: number }

export const EXTENT_HEADER = defineStruct<ExtentHeader>('ext4 extent header', [
  ['eh_magic', 'u16', 0x0],
  ['eh_entries', 'u16', 0x2],
  ['eh_max', 'u16', 0x4],
  ['eh_depth', 'u16', 0x6],
  ['eh_generation', 'u32', 0x8],
]);
export const EXTENT = defineStruct<Extent>('ext4 extent', [
  ['ee_block', 'u32', 0x0],
  ['ee_len', 'u16', 0x4],
  ['ee_start_hi', 'u16', 0x6],
  ['ee_start_lo', 'u32', 0x8],
]);
export const EXTENT_IDX = defineStruct<ExtentIdx>('ext4 extent index', [
  ['ei_block', 'u32', 0x0],
  ['ei_leaf_lo', 'u32', 0x4],
  ['ei_leaf_hi', 'u16', 0x8],
  ['ei_unused', 'u16', 0xa],
]);

export const EXT4_EXT_MAGIC = 0xf30a;
/** Longest initialized extent. */
export const EXT_INIT_MAX_LEN = 32768;
/** Entries in the i_block root: (60 - 12) / 12. */
export const ROOT_EXTENTS = 4;

/** A run of file blocks mapped to disk blocks. */
export interface Mapping {
  logical: number;
  physical: number;
  length: number;
}

/** Entries per tree block: header and checksum tail take 12 + 4 bytes. */
export function entriesPerBlock(blockSize: number): number {
  return Math.floor((blockSize - 12 - 4) / 12);
}

export interface ExtentNode {
  depth: number;
  /** Leaf entries (depth 0) or children (depth > 0). */
  extents?: Mapping[];
  children?: ExtentNode[];
  /** Disk block of this node; undefined for the root in i_block. */
  block?: number;
  firstLogical: number;
}

/**
 * Shapes the tree for a list of mappings: how many non-root blocks each level needs.
 * Pure and allocation-free so the planner can count blocks before placing them.
 */
export function extentTreeBlockCount(mappings: number, blockSize: number): number {
  if (mappings <= ROOT_EXTENTS) return 0;
  const per = entriesPerBlock(blockSize);
  let total = 0;
  let level = Math.ceil(mappings / per);
  total += level;
  while (level > ROOT_EXTENTS) {
    level = Math.ceil(level / per);
    total += level;
  }
  return total;
}

/** Builds the tree; `alloc()` returns the disk block for each non-root node, in write order. */
export function buildExtentTree(mappings: Mapping[], blockSize: number, alloc: () => number): ExtentNode {
  const per = entriesPerBlock(blockSize);
  if (mappings.length <= ROOT_EXTENTS) return { depth: 0, extents: mappings, firstLogical: mappings[0]?.logical ?? 0 };
  let level: ExtentNode[] = [];
  for (let i = 0; i < mappings.length; i += per) {
    const chunk = mappings.slice(i, i + per);
    level.push({ depth: 0, extents: chunk, block: alloc(), firstLogical: chunk[0]!.logical });
  }
  let depth = 1;
  while (level.length > ROOT_EXTENTS) {
    const up: ExtentNode[] = [];
    for (let i = 0; i < level.length; i += per) {
      const chunk = level.slice(i, i + per);
      up.push({ depth, children: chunk, block: alloc(), firstLogical: chunk[0]!.firstLogical });
    }
    level = up;
    depth++;
  }
  return { depth, children: level, firstLogical: 0 };
}

/** Encodes a node into `buf` (60-byte i_block for the root, a block otherwise); the tail is left for the checksum. */
export function encodeExtentNode(node: ExtentNode, buf: Uint8Array, max: number): void {
  const entries = node.depth === 0 ? node.extents! : node.children!;
  EXTENT_HEADER.encode({ eh_magic: EXT4_EXT_MAGIC, eh_entries: entries.length, eh_max: max, eh_depth: node.depth, eh_generation: 0 }, buf, 0);
  let off = 12;
  if (node.depth === 0) {
    for (const m of node.extents!) {
      EXTENT.encode({ ee_block: m.logical, ee_len: m.length, ee_start_hi: Math.floor(m.physical / 2 ** 32), ee_start_lo: m.physical >>> 0 }, buf, off);
      off += 12;
    }
  } else {
    for (const c of node.children!) {
      EXTENT_IDX.encode({ ei_block: c.firstLogical, ei_leaf_lo: c.block! >>> 0, ei_leaf_hi: Math.floor(c.block! / 2 ** 32), ei_unused: 0 }, buf, off);
      off += 12;
    }
  }
}

/** Non-root nodes in allocation (pre-order) order. */
export function* extentTreeBlocks(root: ExtentNode): Generator<ExtentNode> {
  if (!root.children) return;
  const stack = [...root.children].reverse();
  while (stack.length) {
    const n = stack.pop()!;
    yield n;
    if (n.children) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
}
