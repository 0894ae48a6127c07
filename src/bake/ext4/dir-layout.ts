// Plans and encodes directory blocks: one linear block when the entries fit, else an
// htree (hashed, dir_index) with a root, optionally one level of index nodes, and leaves
// packed in hash order. Every block carries its checksum tail (metadata_csum).
import { crc32c } from '../../struct/crc32c.js';
import { UnsupportedError } from '../../util/errors.js';
import {
  DIR_TAIL, DIR_TAIL_FT, DIR_TAIL_SIZE, DIRENT, DX_COUNTLIMIT, DX_ENTRY, DX_HASH_HALF_MD4, DX_ROOT_INFO, DX_TAIL, FT, direntSize,
} from './dirent.js';
import { halfMd4Hash } from './dirhash.js';

/**
 * A directory's entries as columns (a record object per entry would be most of a big
 * tree's plan): name (byte string), inode, file type, and the htree hash when indexed.
 */
export class DirRecords {
  readonly names: string[];
  readonly inos: Uint32Array;
  readonly fts: Uint8Array;
  hashes: Uint32Array | null = null;

  constructor(readonly length: number) {
    this.names = new Array<string>(length);
    this.inos = new Uint32Array(length);
    this.fts = new Uint8Array(length);
  }

  set(i: number, name: string, ino: number, ft: number): void {
    this.names[i] = name;
    this.inos[i] = ino;
    this.fts[i] = ft;
  }

  /** The records in the order of `perm` (indexes into these), hashes included. */
  permuted(perm: ArrayLike<number>): DirRecords {
    const out = new DirRecords(this.length);
    for (let i = 0; i < perm.length; i++) out.set(i, this.names[perm[i]!]!, this.inos[perm[i]!]!, this.fts[perm[i]!]!);
    if (this.hashes) {
      const h = new Uint32Array(this.length);
      for (let i = 0; i < perm.length; i++) h[i] = this.hashes[perm[i]!]!;
      out.hashes = h;
    }
    return out;
  }

  hash(i: number): number {
    return this.hashes ? this.hashes[i]! : 0;
  }
}

export interface DirLayout {
  indexed: boolean;
  /** Entries in on-disk order: hash order for an htree, name order otherwise. */
  records: DirRecords;
  /** records index where each leaf block starts; one element per leaf. */
  leafStarts: number[];
  /** Logical block of the first leaf. */
  firstLeaf: number;
  /** Index node blocks (logical blocks 1..nodes) for a two-level htree. */
  nodes: number;
  /** Leaves per index node when nodes > 0. */
  perNode: number;
  blocks: number;
}

const DOTS = 24; // "." and ".." entries, 12 bytes each

export function rootLimit(bs: number): number {
  return (bs - 32) / 8 - 1; // minus one entry for the dx_tail
}
export function nodeLimit(bs: number): number {
  return (bs - 8) / 8 - 1;
}

/** Packs records into leaves of `bs - 12` usable bytes; the first leaf may start with `firstUsed` taken. */
function packLeaves(records: DirRecords, bs: number, firstUsed: number): number[] {
  const starts = [0];
  let used = firstUsed;
  const cap = bs - DIR_TAIL_SIZE;
  for (let i = 0; i < records.length; i++) {
    const sz = direntSize(records.names[i]!.length);
    if (used + sz > cap) {
      starts.push(i);
      used = 0;
    }
    used += sz;
  }
  return starts;
}

/** `minBlocks` pads a linear directory with empty blocks (lost+found gets 16 KiB like mke2fs's). */
export function planDirectory(
  records: DirRecords, bs: number, seed: Uint32Array, allowIndex: boolean, where: () => string, minBlocks = 1,
): DirLayout {
  const names = records.names;
  const order = Array.from({ length: records.length }, (_, i) => i);
  const byName = records.permuted(order.sort((a, b) => cmp(names[a]!, names[b]!)));
  let leafStarts = packLeaves(byName, bs, DOTS);
  if (leafStarts.length === 1 || !allowIndex) {
    const blocks = Math.max(leafStarts.length, minBlocks);
    return { indexed: false, records: byName, leafStarts, firstLeaf: 0, nodes: 0, perNode: 0, blocks };
  }
  const hashes = new Uint32Array(records.length);
  for (let i = 0; i < records.length; i++) hashes[i] = halfMd4Hash(names[i]!, seed).hash;
  records.hashes = hashes;
  const byHash = records.permuted(order.sort((a, b) => hashes[a]! - hashes[b]! || cmp(names[a]!, names[b]!)));
  leafStarts = packLeaves(byHash, bs, 0);
  const leaves = leafStarts.length;
  const rl = rootLimit(bs);
  let nodes = 0;
  let perNode = 0;
  if (leaves > rl) {
    const nl = nodeLimit(bs);
    nodes = Math.ceil(leaves / nl);
    if (nodes > rl) throw new UnsupportedError(where(), `directory with ${records.length} entries needs a 3-level htree (large_dir), which is not enabled`);
    perNode = Math.ceil(leaves / nodes);
  }
  return { indexed: true, records: byHash, leafStarts, firstLeaf: 1 + nodes, nodes, perNode, blocks: 1 + nodes + leaves };
}

/** Byte strings compare like their bytes. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function writeDirent(buf: Uint8Array, off: number, ino: number, recLen: number, name: string, ft: number): void {
  DIRENT.encode({ inode: ino, rec_len: recLen, name_len: name.length, file_type: ft }, buf, off);
  for (let i = 0; i < name.length; i++) buf[off + 8 + i] = name.charCodeAt(i);
}

const DOT = '.';
const DOTDOT = '..';

function finishLeaf(buf: Uint8Array, bs: number, csumSeed: number): void {
  const t = bs - DIR_TAIL_SIZE;
  DIR_TAIL.encode({ det_reserved_zero1: 0, det_rec_len: DIR_TAIL_SIZE, det_reserved_zero2: 0, det_reserved_ft: DIR_TAIL_FT, det_checksum: crc32c(csumSeed, buf, 0, t) }, buf, t);
}

/** Leaf (or linear) block `leaf`; linear block 0 starts with "." and "..". */
function encodeLeaf(l: DirLayout, leaf: number, self: number, parent: number, bs: number, csumSeed: number, into?: Uint8Array): Uint8Array {
  const buf = into ? into.fill(0) : new Uint8Array(bs);
  const cap = bs - DIR_TAIL_SIZE;
  let off = 0;
  const from = leaf < l.leafStarts.length ? l.leafStarts[leaf]! : 0;
  const to = leaf < l.leafStarts.length ? (l.leafStarts[leaf + 1] ?? l.records.length) : 0;
  let lastOff = -1;
  if (!l.indexed && leaf === 0) {
    writeDirent(buf, 0, self, 12, DOT, FT.dir);
    writeDirent(buf, 12, parent, 12, DOTDOT, FT.dir);
    lastOff = 12;
    off = DOTS;
  }
  for (let i = from; i < to; i++) {
    const name = l.records.names[i]!;
    const sz = direntSize(name.length);
    writeDirent(buf, off, l.records.inos[i]!, sz, name, l.records.fts[i]!);
    lastOff = off;
    off += sz;
  }
  if (lastOff < 0) DIRENT.encode({ inode: 0, rec_len: cap, name_len: 0, file_type: 0 }, buf, 0);
  else buf[lastOff + 4] = (cap - lastOff) & 0xff, buf[lastOff + 5] = (cap - lastOff) >> 8; // last entry runs to the tail
  finishLeaf(buf, bs, csumSeed);
  return buf;
}

function leafHash(l: DirLayout, leaf: number): number {
  const i = l.leafStarts[leaf]!;
  const h = l.records.hash(i);
  // A hash run split across leaves: the continuation bit tells lookups to read on.
  return i > 0 && l.records.hash(i - 1) === h ? h | 1 : h;
}

/** dx entries (count/limit header, then hash → block) at `at`, then the dx_tail checksum. */
function encodeDxEntries(buf: Uint8Array, at: number, limit: number, entries: { hash: number; block: number }[], bs: number, csumSeed: number): void {
  DX_COUNTLIMIT.encode({ limit, count: entries.length, block: entries[0]!.block }, buf, at);
  for (let i = 1; i < entries.length; i++) DX_ENTRY.encode(entries[i]!, buf, at + i * 8);
  const tailAt = at + limit * 8;
  let c = crc32c(csumSeed, buf, 0, at + entries.length * 8);
  c = crc32c(c, buf, tailAt, tailAt + 8); // dt_reserved and the still-zero dt_checksum
  DX_TAIL.encode({ dt_reserved: 0, dt_checksum: c }, buf, tailAt);
}

function childEntries(l: DirLayout, node: number): { hash: number; block: number }[] {
  const out = [];
  const first = node * l.perNode;
  const last = Math.min(first + l.perNode, l.leafStarts.length);
  for (let leaf = first; leaf < last; leaf++) out.push({ hash: leafHash(l, leaf), block: l.firstLeaf + leaf });
  return out;
}

/**
 * Encodes logical block `b` of a directory. `csumSeed` is the inode's checksum seed. A
 * leaf is encoded into `into` (a block-sized buffer the caller reuses) when given: a new
 * block for each of a tree's thousands of leaves was fresh memory and garbage.
 */
export function encodeDirBlock(l: DirLayout, b: number, self: number, parent: number, bs: number, csumSeed: number, into?: Uint8Array): Uint8Array {
  if (!l.indexed) return encodeLeaf(l, b, self, parent, bs, csumSeed, into);
  if (b >= l.firstLeaf) return encodeLeaf(l, b - l.firstLeaf, self, parent, bs, csumSeed, into);
  const buf = new Uint8Array(bs);
  if (b === 0) {
    writeDirent(buf, 0, self, 12, DOT, FT.dir);
    writeDirent(buf, 12, parent, bs - 12, DOTDOT, FT.dir);
    DX_ROOT_INFO.encode({ reserved_zero: 0, hash_version: DX_HASH_HALF_MD4, info_length: 8, indirect_levels: l.nodes ? 1 : 0, unused_flags: 0 }, buf, 24);
    const entries = l.nodes
      ? Array.from({ length: l.nodes }, (_, n) => ({ hash: childEntries(l, n)[0]!.hash, block: 1 + n }))
      : l.leafStarts.map((_, leaf) => ({ hash: leafHash(l, leaf), block: l.firstLeaf + leaf }));
    encodeDxEntries(buf, 32, rootLimit(bs), entries, bs, csumSeed);
    return buf;
  }
  // Index node: a fake empty dirent spanning the block, then entries.
  DIRENT.encode({ inode: 0, rec_len: bs, name_len: 0, file_type: 0 }, buf, 0);
  encodeDxEntries(buf, 8, nodeLimit(bs), childEntries(l, b - 1), bs, csumSeed);
  return buf;
}
