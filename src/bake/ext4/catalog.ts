// First planning step, independent of geometry: number the inodes, validate what ext4
// cannot hold, decide each inode's shape (directory layout, xattr placement, how many
// blocks it needs). Geometry and block placement come after (layout.ts).
import { displayName } from '../../tree/names.js';
import type { DataRun, DirNode, FileNode, FsNode, FsTree } from '../../tree/node.js';
import { NodeNumbers } from '../../tree/node-numbers.js';
import { sortedEntries } from '../../tree/walk.js';
import { UnsupportedError } from '../../util/errors.js';
import { checkIds } from '../../tree/limits.js';
import { FT } from './dirent.js';
import { type DirLayout, DirRecords, planDirectory } from './dir-layout.js';
import { EXTRA_ISIZE, FIRST_INO, GOOD_OLD_INODE_SIZE, ROOT_INO } from './inode.js';
import { type DiskXattr, toDiskXattrs, xattrSpace } from './xattr.js';

/** A range of a file's logical blocks. */
export interface BlockRange {
  logical: number;
  count: number;
}

/**
 * Every inode's plan, by inode number, as columns rather than an object per inode (a
 * million-file tree would otherwise hold a million records): the typed arrays are the
 * common fields, the maps what only some inodes have. Inodes 2 and 11..lastIno are used.
 */
export interface Catalog {
  /** The tree's node of each inode (no copy of the tree: the same objects). */
  nodes: (FsNode | undefined)[];
  /** The directory holding each inode's first name (its name is in that directory's records): paths are only built for messages. */
  parents: Uint32Array;
  /** At most 65,000 (more is refused), so 16 bits. */
  links: Uint16Array;
  /** Blocks each inode needs besides extent-tree blocks: data, directory or symlink blocks. */
  blockCounts: Float64Array;
  /** Directories' block layouts. */
  dirs: Map<number, DirLayout>;
  /** Logical block ranges holding data, for sparse files only (see dataBlocksOf). */
  dataBlocks: Map<number, BlockRange[]>;
  /** Inodes with xattrs: what goes in the inode body and what in an xattr block. */
  xattrInInode: Map<number, DiskXattr[]>;
  xattrInBlock: Map<number, DiskXattr[]>;
  lastIno: number;
  /** Inode numbers of files with data, in the source's content order. */
  filesInContentOrder: Uint32Array;
  lostFoundIno: number;
}

const MAX_LINKS = 65000;
/** Linux device numbers: 12 bits of major, 20 of minor (what ext4's i_block encoding holds). */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;
export const NO_XATTRS: DiskXattr[] = [];

/** The inode's path as shown to people ('/etc/passwd'). */
export function entryPath(cat: Catalog, ino: number): string {
  const parts: string[] = [];
  for (let x = ino; x !== ROOT_INO && x !== 0; x = cat.parents[x]!) parts.push(displayName(nameIn(cat, cat.parents[x]!, x)));
  return '/' + parts.reverse().join('/');
}

/** The first name, in byte order, of inode `ino` in directory `dir` (a scan: for messages only). */
function nameIn(cat: Catalog, dir: number, ino: number): string {
  const recs = cat.dirs.get(dir)?.records;
  let first: string | undefined;
  if (recs) for (let i = 0; i < recs.length; i++) if (recs.inos[i] === ino && (first === undefined || recs.names[i]! < first)) first = recs.names[i]!;
  return first ?? '?';
}

/** The inode number of `node` (a scan: for the few callers that start from a node). */
export function inoOf(cat: Catalog, node: FsNode): number {
  const ino = cat.nodes.indexOf(node);
  if (ino < 0) throw new Error('node is not in the catalog (planner bug)');
  return ino;
}

/** The bytes of the files with data (their sizes), for progress totals. */
export function fileBytes(cat: Catalog): number {
  let n = 0;
  for (const ino of cat.filesInContentOrder) n += (cat.nodes[ino] as FileNode).size;
  return n;
}

export function ftOf(node: FsNode): number {
  switch (node.kind) {
    case 'file': return FT.file;
    case 'dir': return FT.dir;
    case 'symlink': return FT.symlink;
    case 'chardev': return FT.chardev;
    case 'blockdev': return FT.blockdev;
    case 'fifo': return FT.fifo;
    case 'socket': return FT.socket;
  }
}

/** Logical block ranges with data: whole file, or the union of the runs' blocks. */
export function dataBlockRanges(node: FileNode, bs: number): BlockRange[] {
  const runs: DataRun[] = node.dataRuns ?? (node.size > 0 ? [{ offset: 0, length: node.size }] : []);
  const out: BlockRange[] = [];
  for (const r of runs) {
    if (r.length <= 0) continue;
    const first = Math.floor(r.offset / bs);
    const end = Math.ceil((r.offset + r.length) / bs);
    const last = out[out.length - 1];
    if (last && last.logical + last.count >= first) last.count = Math.max(last.count, end - last.logical);
    else out.push({ logical: first, count: end - first });
  }
  return out;
}

/** A file's data ranges: stored for sparse files, one range from 0 for dense ones. */
export function dataBlocksOf(cat: Catalog, ino: number): BlockRange[] {
  const count = cat.blockCounts[ino]!;
  return cat.dataBlocks.get(ino) ?? (count ? [{ logical: 0, count }] : []);
}

export function buildCatalog(tree: FsTree, bs: number, inodeSize: number, seed: Uint32Array, dirIndex: boolean): Catalog {
  const numbering = new Numbering(countEntries(tree.root), bs, inodeSize, seed, dirIndex);
  numbering.walk(tree.root);
  const cat = numbering.finish();
  let files = new Uint32Array(cat.lastIno + 1);
  let count = 0;
  for (let ino = ROOT_INO; ino <= cat.lastIno; ino++) {
    if (cat.nodes[ino]?.kind === 'file' && cat.blockCounts[ino]! > 0) files[count++] = ino;
  }
  files = files.slice(0, count);
  const order = (ino: number) => (cat.nodes[ino] as FileNode).content?.order ?? 0;
  // A stable sort (V8's typed-array sort is a merge sort): files without a content order keep inode order.
  cat.filesInContentOrder = files.sort((a, b) => order(a) - order(b));
  return cat;
}

/**
 * Names in the tree (each directory once): at least the number of inodes besides the root
 * and lost+found, so the columns are made once at their size instead of grown.
 */
function countEntries(root: DirNode): number {
  let n = 0;
  const seen = new Set<DirNode>(); // directories only (a directory hard link is refused later)
  const stack: DirNode[] = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    if (seen.has(dir)) continue;
    seen.add(dir);
    n += dir.entries.size;
    for (const child of dir.entries.values()) if (child.kind === 'dir') stack.push(child);
  }
  return n;
}

/**
 * Inode numbers for a tree, handed out in pre-order so a directory precedes its children
 * (good locality), and each inode's shape as it is numbered. Checks what ext4 cannot hold:
 * names, directory hard links, link counts, device numbers, owners, xattrs.
 */
class Numbering {
  private readonly nodes: (FsNode | undefined)[];
  private parents: Uint32Array;
  private links: Uint16Array;
  private blockCounts: Float64Array;
  private readonly dirs = new Map<number, DirLayout>();
  private readonly dataBlocks = new Map<number, BlockRange[]>();
  private readonly xattrInInode = new Map<number, DiskXattr[]>();
  private readonly xattrInBlock = new Map<number, DiskXattr[]>();
  private readonly inoOf: NodeNumbers;
  private next = FIRST_INO + 1;
  private readonly inodeXattrRoom: number;

  /** `entries`: the names in the tree, a bound on the inodes numbered from 12. */
  constructor(entries: number, private readonly bs: number, inodeSize: number, private readonly seed: Uint32Array, private readonly dirIndex: boolean) {
    this.inodeXattrRoom = inodeSize - GOOD_OLD_INODE_SIZE - EXTRA_ISIZE - 4; // 4: the in-inode magic
    const n = FIRST_INO + 1 + entries;
    this.nodes = new Array<FsNode | undefined>(n).fill(undefined);
    this.inoOf = new NodeNumbers((ino) => this.nodes[ino], entries);
    this.parents = new Uint32Array(n);
    this.links = new Uint16Array(n);
    this.blockCounts = new Float64Array(n);
  }

  private get view(): Catalog {
    return {
      nodes: this.nodes, parents: this.parents, links: this.links, blockCounts: this.blockCounts, dirs: this.dirs,
      dataBlocks: this.dataBlocks, xattrInInode: this.xattrInInode, xattrInBlock: this.xattrInBlock, lastIno: this.next - 1,
      filesInContentOrder: new Uint32Array(0), lostFoundIno: FIRST_INO,
    };
  }

  /** The path of a numbered directory, or of `name` in one. */
  private pathOf(ino: number, name?: string): string {
    const dir = entryPath(this.view, ino);
    return name === undefined ? dir : `${dir === '/' ? '' : dir}/${displayName(name)}`;
  }

  /** The catalog, its columns cut to the inodes numbered (hard links leave some unused). */
  finish(): Catalog {
    const n = this.next;
    if (n < this.links.length) {
      this.nodes.length = n;
      this.parents = this.parents.slice(0, n);
      this.links = this.links.slice(0, n);
      this.blockCounts = this.blockCounts.slice(0, n);
    }
    return this.view;
  }

  /** Numbers every inode under `root`; /lost+found (inode 11) is made when the tree has none. */
  walk(root: DirNode): void {
    this.add(root, ROOT_INO, '', 0);
    const lostFound = root.entries.get('lost+found');
    if (lostFound && lostFound.kind !== 'dir') throw new UnsupportedError('/lost+found', 'exists but is not a directory');
    const lfNode: DirNode = (lostFound as DirNode | undefined) ?? {
      kind: 'dir', perm: 0o700, uid: 0, gid: 0, mtime: root.mtime, atime: root.mtime, ctime: root.mtime, xattrs: [], entries: new Map(),
    };
    const stack: DirNode[] = [root];
    while (stack.length) {
      const dir = stack.pop()!;
      const kids = sortedEntries(dir);
      if (dir === root && !lostFound) kids.unshift(['lost+found', lfNode]);
      const subdirs = this.numberChildren(dir, kids, lfNode);
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
    }
  }

  /** Numbers the children of `dir` not seen before and plans its blocks; returns its subdirectories. */
  private numberChildren(dir: DirNode, kids: [string, FsNode][], lfNode: DirNode): DirNode[] {
    const self = this.inoOf.get(dir)!;
    const records = new DirRecords(kids.length);
    const subdirs: DirNode[] = [];
    for (let k = 0; k < kids.length; k++) {
      const [name, child] = kids[k]!;
      const childPath = () => this.pathOf(self, name);
      if (name.length > 255) throw new UnsupportedError(childPath(), `name is ${name.length} bytes; ext4 allows 255`);
      if (name.length === 0 || name.includes('/') || name.includes('\0') || name === '.' || name === '..') {
        throw new UnsupportedError(childPath(), `invalid name ${JSON.stringify(displayName(name))}`);
      }
      let ino = this.inoOf.get(child);
      if (ino === undefined) {
        ino = child === lfNode ? FIRST_INO : this.next++;
        this.add(child, ino, name, self);
        if (child.kind === 'dir') subdirs.push(child);
      } else if (child.kind === 'dir') {
        throw new UnsupportedError(childPath(), 'a directory may have only one name (directory hard link)');
      }
      const links = ++this.links[ino]!;
      if (links > MAX_LINKS && child.kind !== 'dir') throw new UnsupportedError(childPath(), `more than ${MAX_LINKS} hard links`);
      records.set(k, name, ino, ftOf(child));
    }
    this.shapeDirectory(self, records, subdirs.length);
    return subdirs;
  }

  private add(node: FsNode, ino: number, name: string, parent: number): void {
    this.nodes[ino] = node;
    this.parents[ino] = parent;
    this.inoOf.set(node, ino);
    // Its name is not in its directory's records yet (they are made after all its entries).
    const where = () => (parent ? this.pathOf(parent, name) : '/');
    checkIds(node, where, 'ext4');
    if ((node.kind === 'chardev' || node.kind === 'blockdev') && !(node.major >= 0 && node.major <= MAX_MAJOR && node.minor >= 0 && node.minor <= MAX_MINOR)) {
      throw new UnsupportedError(where(), `device number ${node.major}:${node.minor} is beyond Linux's (major up to ${MAX_MAJOR}, minor up to ${MAX_MINOR})`);
    }
    if (node.xattrs.length) this.placeXattrs(ino, node, where);
    if (node.kind === 'symlink') this.shapeSymlink(ino, node.target.length, where);
    else if (node.kind === 'file') this.shapeFile(ino, node);
  }

  /** A directory's block layout and link count (2 + subdirectories; 1 when too many to count, as dir_nlink allows). */
  private shapeDirectory(ino: number, recs: DirRecords, subdirs: number): void {
    this.links[ino] = 2 + subdirs > 65000 ? 1 : 2 + subdirs;
    // lost+found gets 16 KiB of blocks, as mke2fs makes it: room for e2fsck to reconnect files without allocating.
    const minBlocks = ino === FIRST_INO ? Math.max(1, Math.ceil(16384 / this.bs)) : 1;
    const dir = planDirectory(recs, this.bs, this.seed, this.dirIndex, () => this.pathOf(ino), minBlocks);
    this.dirs.set(ino, dir);
    this.blockCounts[ino] = dir.blocks;
  }

  /** A symlink's target: in the inode below 60 bytes (a fast symlink), else in one block. */
  private shapeSymlink(ino: number, len: number, where: () => string): void {
    if (len === 0) throw new UnsupportedError(where(), 'symlink with an empty target');
    if (len >= this.bs) throw new UnsupportedError(where(), `symlink target is ${len} bytes; at most ${this.bs - 1} fit in a ${this.bs}-byte block`);
    this.blockCounts[ino] = len < 60 ? 0 : 1;
  }

  /** A file's data blocks: the blocks its runs touch when sparse, else one range from 0. */
  private shapeFile(ino: number, n: FileNode): void {
    if (n.dataRuns) {
      const ranges = dataBlockRanges(n, this.bs);
      this.dataBlocks.set(ino, ranges);
      this.blockCounts[ino] = ranges.reduce((s, r) => s + r.count, 0);
    } else {
      this.blockCounts[ino] = Math.ceil(n.size / this.bs); // dense: one range, made when needed
    }
  }

  private placeXattrs(ino: number, node: FsNode, where: () => string): void {
    const { inInode, inBlock } = placeXattrs(node, where, this.inodeXattrRoom, this.bs);
    if (inInode.length) this.xattrInInode.set(ino, inInode);
    if (inBlock.length) this.xattrInBlock.set(ino, inBlock);
  }
}

/**
 * Splits xattrs between the inode body and one xattr block. Like the kernel, each goes in
 * the inode when it fits there and in the block otherwise (not "everything after the first
 * that does not fit"); when that overflows the block, the inode is packed as full as it
 * can be (an exact knapsack over its few hundred bytes), so whatever a Linux ext4 with this
 * inode size can hold without ea_inode, this holds.
 */
function placeXattrs(node: FsNode, where: () => string, inodeRoom: number, bs: number): { inInode: DiskXattr[]; inBlock: DiskXattr[] } {
  const x = toDiskXattrs(node.xattrs, where());
  const blockRoom = bs - 32; // the block header
  const cost = (a: DiskXattr): number => xattrSpace([a]) - 4; // entry + value; the 4-byte terminator is counted once
  let inInode: DiskXattr[] = [];
  let used = 4;
  for (const a of x) {
    if (used + cost(a) <= inodeRoom) {
      inInode.push(a);
      used += cost(a);
    }
  }
  let inBlock = x.filter((a) => !inInode.includes(a));
  if (inBlock.length && xattrSpace(inBlock) > blockRoom) {
    inInode = packInode(x, inodeRoom - 4, cost);
    inBlock = x.filter((a) => !inInode.includes(a));
  }
  if (inBlock.length && xattrSpace(inBlock) > blockRoom) {
    const total = xattrSpace(x) - 4;
    throw new UnsupportedError(where(), `extended attributes take ${total} bytes; an ext4 inode of this size holds ${inodeRoom - 4} and one ${bs}-byte xattr block ${blockRoom - 4} (ea_inode is not supported)`);
  }
  return { inInode, inBlock };
}

/** The subset of `items` with the largest total cost within `room` bytes (costs are multiples of 4). */
function packInode(items: DiskXattr[], room: number, cost: (a: DiskXattr) => number): DiskXattr[] {
  const units = Math.max(0, Math.floor(room / 4));
  // best[c]: the item indexes of the fullest subset found of total cost exactly c units.
  const best: (number[] | null)[] = Array.from({ length: units + 1 }, (_, c) => (c === 0 ? [] : null));
  items.forEach((a, i) => {
    const w = cost(a) / 4;
    for (let c = units; c >= w; c--) if (best[c] === null && best[c - w] !== null) best[c] = [...best[c - w]!, i];
  });
  for (let c = units; c >= 0; c--) if (best[c]) return best[c]!.map((i) => items[i]!);
  return [];
}
