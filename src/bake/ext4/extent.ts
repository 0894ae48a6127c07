// Extent trees (Documentation/filesystems/ext4/ifork.rst). The root lives in i_block
// (4 entries); bigger trees get leaf and index blocks, each with a crc32c tail.
import { crc32c } from '../../struct/crc32c.js';
import { type StructValue, defineStruct } from '../../struct/schema.js';


export const EXTENT_HEADER = defineStruct('ext4 extent header', [
  ['eh_magic', 'u16', 0x0],
  ['eh_entries', 'u16', 0x2],
  ['eh_max', 'u16', 0x4],
  ['eh_depth', 'u16', 0x6],
  ['eh_generation', 'u32', 0x8],
]);
export type ExtentHeader = StructValue<typeof EXTENT_HEADER>;
export const EXTENT = defineStruct('ext4 extent', [
  ['ee_block', 'u32', 0x0],
  ['ee_len', 'u16', 0x4],
  ['ee_start_hi', 'u16', 0x6],
  ['ee_start_lo', 'u32', 0x8],
], { split: { ee_start: ['ee_start_lo', 'ee_start_hi'] } });
export type Extent = StructValue<typeof EXTENT>;
export const EXTENT_IDX = defineStruct('ext4 extent index', [
  ['ei_block', 'u32', 0x0],
  ['ei_leaf_lo', 'u32', 0x4],
  ['ei_leaf_hi', 'u16', 0x8],
  ['ei_unused', 'u16', 0xa],
], { split: { ei_leaf: ['ei_leaf_lo', 'ei_leaf_hi'] } });
export type ExtentIdx = StructValue<typeof EXTENT_IDX>;

/** The crc32c after the last possible entry of a tree block (not in the i_block root). */
export const EXTENT_TAIL = defineStruct('ext4 extent tail', [['et_checksum', 'u32', 0x0]]);

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

/** Entries per tree block: the header and the checksum tail take the rest. */
export function entriesPerBlock(blockSize: number): number {
  return Math.floor((blockSize - EXTENT_HEADER.size - EXTENT_TAIL.size) / EXTENT.size);
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
  let off = EXTENT_HEADER.size;
  if (node.depth === 0) {
    for (const m of node.extents!) {
      EXTENT.encode({ ee_block: m.logical, ee_len: m.length, ee_start: m.physical }, buf, off);
      off += EXTENT.size;
    }
  } else {
    for (const c of node.children!) {
      EXTENT_IDX.encode({ ei_block: c.firstLogical, ei_leaf: c.block!, ei_unused: 0 }, buf, off);
      off += EXTENT_IDX.size;
    }
  }
}

/** A non-root tree block: the node, and the crc32c of everything before the tail in the tail. */
export function encodeExtentBlock(node: ExtentNode, blockSize: number, csumSeed: number): Uint8Array {
  const buf = new Uint8Array(blockSize);
  const max = entriesPerBlock(blockSize);
  encodeExtentNode(node, buf, max);
  const tail = EXTENT_HEADER.size + max * EXTENT.size;
  EXTENT_TAIL.set(buf, tail, 'et_checksum', crc32c(csumSeed, buf, 0, tail));
  return buf;
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
