// First planning step, independent of geometry: number the inodes, validate what ext4
// cannot hold, decide each inode's shape (directory layout, xattr placement, how many
// blocks it needs). Geometry and block placement come after (layout.ts).
import { displayName } from '../../tree/names.js';
import type { DataRun, DirNode, FileNode, FsNode, FsTree } from '../../tree/node.js';
import { sortedEntries } from '../../tree/walk.js';
import { UnsupportedError } from '../../util/errors.js';
import { checkIds } from '../../tree/limits.js';
import { FT } from './dirent.js';
import { type DirLayout, type DirRecord, planDirectory } from './dir-layout.js';
import { EXTRA_ISIZE, FIRST_INO, GOOD_OLD_INODE_SIZE, ROOT_INO } from './inode.js';
import { type DiskXattr, toDiskXattrs, xattrSpace } from './xattr.js';

export interface CatalogEntry {
  ino: number;
  node: FsNode;
  /** First name (byte string) and the directory holding it: the path is only built for messages. */
  name: string;
  parent: CatalogEntry | null;
  links: number;
  parentIno: number;
  dir?: DirLayout;
  /** Logical block ranges holding data, for sparse files only (see dataBlocksOf). */
  dataBlocks?: { logical: number; count: number }[];
  /** Blocks this inode needs besides extent-tree blocks: data, directory or symlink blocks. */
  blockCount: number;
  xattrInInode: DiskXattr[];
  xattrInBlock: DiskXattr[];
}

export interface Catalog {
  /** Indexed by inode number; entries 0..10 except 2 and 11 are undefined. */
  entries: (CatalogEntry | undefined)[];
  lastIno: number;
  /** Files with data, in the source's content order. */
  filesInContentOrder: CatalogEntry[];
  lostFoundIno: number;
}

const MAX_LINKS = 65000;
/** Linux device numbers: 12 bits of major, 20 of minor (what ext4's i_block encoding holds). */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;
const NO_XATTRS: DiskXattr[] = [];

/** The entry's path as shown to people ('/etc/passwd'). */
export function entryPath(e: CatalogEntry): string {
  const parts: string[] = [];
  for (let x: CatalogEntry | null = e; x && x.parent; x = x.parent) parts.push(displayName(x.name));
  return '/' + parts.reverse().join('/');
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
export function dataBlockRanges(node: FileNode, bs: number): { logical: number; count: number }[] {
  const runs: DataRun[] = node.dataRuns ?? (node.size > 0 ? [{ offset: 0, length: node.size }] : []);
  const out: { logical: number; count: number }[] = [];
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
export function dataBlocksOf(e: CatalogEntry): { logical: number; count: number }[] {
  return e.dataBlocks ?? (e.blockCount ? [{ logical: 0, count: e.blockCount }] : []);
}

export function buildCatalog(tree: FsTree, bs: number, inodeSize: number, seed: Uint32Array, dirIndex: boolean): Catalog {
  const numbering = new Numbering(bs, inodeSize);
  numbering.walk(tree.root);
  const { entries, dirRecords } = numbering;
  const filesInContentOrder: CatalogEntry[] = [];
  for (const e of entries) {
    if (!e) continue;
    const n = e.node;
    if (n.kind === 'dir') shapeDirectory(e, dirRecords.get(n)!, bs, seed, dirIndex);
    else if (n.kind === 'symlink') shapeSymlink(e, n.target.length, bs);
    else if (n.kind === 'file') {
      shapeFile(e, n, bs);
      if (e.blockCount > 0) filesInContentOrder.push(e);
    }
  }
  filesInContentOrder.sort((a, b) => ((a.node as FileNode).content?.order ?? 0) - ((b.node as FileNode).content?.order ?? 0));
  return { entries, lastIno: numbering.lastIno, filesInContentOrder, lostFoundIno: FIRST_INO };
}

/**
 * Inode numbers for a tree, handed out in pre-order so a directory precedes its children
 * (good locality), with each directory's records. Checks what ext4 cannot hold: names,
 * directory hard links, link counts, device numbers, owners, xattrs.
 */
class Numbering {
  readonly entries: (CatalogEntry | undefined)[] = [];
  readonly dirRecords = new Map<DirNode, DirRecord[]>();
  private readonly inoOf = new Map<FsNode, number>();
  private next = FIRST_INO + 1;
  private readonly inodeXattrRoom: number;

  constructor(private readonly bs: number, inodeSize: number) {
    this.inodeXattrRoom = inodeSize - GOOD_OLD_INODE_SIZE - EXTRA_ISIZE - 4; // 4: the in-inode magic
  }

  get lastIno(): number {
    return this.next - 1;
  }

  /** Numbers every inode under `root`; /lost+found (inode 11) is made when the tree has none. */
  walk(root: DirNode): void {
    this.add(root, ROOT_INO, '', null);
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

  /** Numbers the children of `dir` not seen before and records its entries; returns its subdirectories. */
  private numberChildren(dir: DirNode, kids: [string, FsNode][], lfNode: DirNode): DirNode[] {
    const self = this.entries[this.inoOf.get(dir)!]!;
    const records: DirRecord[] = [];
    const subdirs: DirNode[] = [];
    for (const [name, child] of kids) {
      const childPath = () => `${entryPath(self)}/${displayName(name)}`.replace(/^\/\//, '/');
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
      const ce = this.entries[ino]!;
      ce.links++;
      if (ce.links > MAX_LINKS && child.kind !== 'dir') throw new UnsupportedError(childPath(), `more than ${MAX_LINKS} hard links`);
      records.push({ name, ino, ft: ftOf(child), hash: 0 });
    }
    this.dirRecords.set(dir, records);
    return subdirs;
  }

  private add(node: FsNode, ino: number, name: string, parent: CatalogEntry | null): CatalogEntry {
    const e: CatalogEntry = {
      ino, node, name, parent, links: 0, parentIno: parent?.ino ?? ROOT_INO, blockCount: 0, xattrInInode: NO_XATTRS, xattrInBlock: NO_XATTRS,
    };
    checkIds(node, () => entryPath(e), 'ext4');
    if ((node.kind === 'chardev' || node.kind === 'blockdev') && !(node.major >= 0 && node.major <= MAX_MAJOR && node.minor >= 0 && node.minor <= MAX_MINOR)) {
      throw new UnsupportedError(entryPath(e), `device number ${node.major}:${node.minor} is beyond Linux's (major up to ${MAX_MAJOR}, minor up to ${MAX_MINOR})`);
    }
    if (node.xattrs.length) placeXattrs(e, this.inodeXattrRoom, this.bs);
    this.entries[ino] = e;
    this.inoOf.set(node, ino);
    return e;
  }
}

/** A directory's block layout and link count (2 + subdirectories; 1 when too many to count, as dir_nlink allows). */
function shapeDirectory(e: CatalogEntry, recs: DirRecord[], bs: number, seed: Uint32Array, dirIndex: boolean): void {
  const subdirs = recs.filter((r) => r.ft === FT.dir).length;
  e.links = 2 + subdirs > 65000 ? 1 : 2 + subdirs;
  // lost+found gets 16 KiB of blocks, as mke2fs makes it: room for e2fsck to reconnect files without allocating.
  e.dir = planDirectory(recs, bs, seed, dirIndex, () => entryPath(e), e.ino === FIRST_INO ? Math.max(1, Math.ceil(16384 / bs)) : 1);
  e.blockCount = e.dir.blocks;
}

/** A symlink's target: in the inode below 60 bytes (a fast symlink), else in one block. */
function shapeSymlink(e: CatalogEntry, len: number, bs: number): void {
  if (len === 0) throw new UnsupportedError(entryPath(e), 'symlink with an empty target');
  if (len >= bs) throw new UnsupportedError(entryPath(e), `symlink target is ${len} bytes; at most ${bs - 1} fit in a ${bs}-byte block`);
  e.blockCount = len < 60 ? 0 : 1;
}

/** A file's data blocks: the blocks its runs touch when sparse, else one range from 0. */
function shapeFile(e: CatalogEntry, n: FileNode, bs: number): void {
  if (n.dataRuns) {
    e.dataBlocks = dataBlockRanges(n, bs);
    e.blockCount = e.dataBlocks.reduce((s, r) => s + r.count, 0);
  } else {
    e.blockCount = Math.ceil(n.size / bs); // dense: one range, made when needed
  }
}

/**
 * Splits xattrs between the inode body and one xattr block. Like the kernel, each goes in
 * the inode when it fits there and in the block otherwise (not "everything after the first
 * that does not fit"); when that overflows the block, the inode is packed as full as it
 * can be (an exact knapsack over its few hundred bytes), so whatever a Linux ext4 with this
 * inode size can hold without ea_inode, this holds.
 */
function placeXattrs(e: CatalogEntry, inodeRoom: number, bs: number): void {
  const x = toDiskXattrs(e.node.xattrs, entryPath(e));
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
    throw new UnsupportedError(entryPath(e), `extended attributes take ${total} bytes; an ext4 inode of this size holds ${inodeRoom - 4} and one ${bs}-byte xattr block ${blockRoom - 4} (ea_inode is not supported)`);
  }
  e.xattrInInode = inInode.length ? inInode : NO_XATTRS;
  e.xattrInBlock = inBlock.length ? inBlock : NO_XATTRS;
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
