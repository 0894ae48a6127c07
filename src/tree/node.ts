// The intermediate representation every source produces and every emitter consumes.
// One FsNode per inode: a hard link is the same node object under two names.
//
// Names are *byte strings*: JS strings whose every char code is one byte (0..255),
// i.e. the bytes decoded as latin1. Linux names are arbitrary bytes, not UTF-8, and
// this keeps them exact while still usable as Map keys. See names.ts for conversions.

export type NodeKind = 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';

/** Seconds since the epoch (may be negative) and nanoseconds 0..999,999,999. */
export interface Timestamp {
  sec: number;
  nsec: number;
}

export interface Xattr {
  /** Full name with namespace prefix, e.g. `user.foo`, `security.capability`. */
  name: string;
  value: Uint8Array;
}

/**
 * Where a file's bytes come from. Opaque to everyone but the ContentSource that made it.
 * `order` is the position in the source's natural read order (archive order for a tar):
 * emitters request contents in ascending `order`, so streaming sources never seek back.
 */
export interface ContentRef {
  readonly order: number;
  readonly handle: unknown;
}

/** A range of a sparse file that holds data (everything else is a hole). Byte offsets. */
export interface DataRun {
  offset: number;
  length: number;
}

/**
 * What every inode carries besides its kind and contents: the one metadata record, shared
 * by the nodes, the tar reader's entries and the cooked directory's table.
 */
export interface NodeMeta {
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  perm: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  atime: Timestamp;
  ctime: Timestamp;
  /** Sorted by name; see sortXattrs. */
  xattrs: Xattr[];
}

/** Only the record's fields of `x` (which may carry more), for a new node. */
export function nodeMeta(x: NodeMeta): NodeMeta {
  return { perm: x.perm, uid: x.uid, gid: x.gid, mtime: x.mtime, atime: x.atime, ctime: x.ctime, xattrs: x.xattrs };
}

interface NodeBase extends NodeMeta {
  /**
   * Inode attributes (chattr). Only `immutable` for now: the boot loader marks
   * /boot/ldlinux.sys so nothing moves the blocks its boot sector points at.
   */
  attributes?: { immutable?: boolean };
}

export interface FileNode extends NodeBase {
  kind: 'file';
  size: number;
  content: ContentRef | null;
  /** Data ranges when the source has holes; undefined means the whole file is data. */
  dataRuns?: DataRun[];
}

export interface DirNode extends NodeBase {
  kind: 'dir';
  /** name (byte string) → node. Never contains '.' or '..'. */
  entries: Map<string, FsNode>;
}

export interface SymlinkNode extends NodeBase {
  kind: 'symlink';
  /** Target as a byte string. */
  target: string;
}

export interface DeviceNode extends NodeBase {
  kind: 'chardev' | 'blockdev';
  major: number;
  minor: number;
}

export interface SpecialNode extends NodeBase {
  kind: 'fifo' | 'socket';
}

export type FsNode = FileNode | DirNode | SymlinkNode | DeviceNode | SpecialNode;

/** A tree: a root directory. */
export interface FsTree {
  root: DirNode;
}

export const ZERO_TIME: Timestamp = Object.freeze({ sec: 0, nsec: 0 }) as Timestamp;

export function newDir(perm = 0o755, uid = 0, gid = 0, time: Timestamp = ZERO_TIME): DirNode {
  return { kind: 'dir', perm, uid, gid, mtime: time, atime: time, ctime: time, xattrs: [], entries: new Map() };
}

/** The byte count of a file's data (sum of data runs for a sparse file). */
export function dataLength(node: FileNode): number {
  if (!node.dataRuns) return node.size;
  let n = 0;
  for (const r of node.dataRuns) n += r.length;
  return n;
}

/** Sorts xattrs by name in place; emitters rely on a stable order for reproducible output. */
export function sortXattrs(x: Xattr[]): Xattr[] {
  return x.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** POSIX file type bits for a node kind. */
export function kindTypeBits(kind: NodeKind): number {
  switch (kind) {
    case 'file': return 0o100000;
    case 'dir': return 0o040000;
    case 'symlink': return 0o120000;
    case 'chardev': return 0o020000;
    case 'blockdev': return 0o060000;
    case 'fifo': return 0o010000;
    case 'socket': return 0o140000;
  }
}

export function kindFromMode(mode: number): NodeKind | null {
  switch (mode & 0o170000) {
    case 0o100000: return 'file';
    case 0o040000: return 'dir';
    case 0o120000: return 'symlink';
    case 0o020000: return 'chardev';
    case 0o060000: return 'blockdev';
    case 0o010000: return 'fifo';
    case 0o140000: return 'socket';
    default: return null;
  }
}
