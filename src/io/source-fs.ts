// A read-only view of a host-like filesystem, for the directory source. Paths are byte
// strings relative to the filesystem's root ('' is the root). Methods may answer
// synchronously (the Node backend does: it is much faster for tree walks) or with a promise.
import type { DataRun, Timestamp, Xattr } from '../tree/node.js';

export interface SourceStat {
  /** st_mode: type and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Allocated 512-byte blocks, when the backend knows them (a hint for hole detection). */
  blocks?: number;
  /** Identity for hard-link detection: equal for two names of one inode (may be empty when nlink is 1). */
  inodeKey: string;
  nlink: number;
  rdevMajor: number;
  rdevMinor: number;
  mtime: Timestamp;
  atime: Timestamp;
  ctime: Timestamp;
  /** Host backends: the inode number and birth time (0n where the filesystem has none). */
  ino?: bigint;
  btimeNs?: bigint;
}

type MaybePromise<T> = T | Promise<T>;

export interface SourceFs {
  lstat(path: string): MaybePromise<SourceStat>;
  /** Entry names (byte strings), without '.' and '..'. */
  readdir(path: string): MaybePromise<string[]>;
  /** Symlink target as a byte string. */
  readlink(path: string): MaybePromise<string>;
  /** Extended attributes of the entry itself (never following a symlink). */
  xattrs?(path: string): MaybePromise<Xattr[]>;
  /** Data ranges of a file that may have holes; undefined when it has none. */
  dataRuns?(path: string, stat: SourceStat): MaybePromise<DataRun[] | undefined>;
  /**
   * Batch form of dataRuns, for backends where each query is expensive (the Node one
   * asks a helper process). When present, a walk collects files and asks once.
   */
  dataRunsMany?(files: readonly { path: string; stat: SourceStat }[]): MaybePromise<(DataRun[] | undefined)[]>;
  /** Cheap pre-check for dataRunsMany: false when the stat alone proves there are no holes. */
  mayHaveHoles?(stat: SourceStat): boolean;
  /**
   * Hint: these files will be read in this order. A backend may warm its cache ahead of
   * the reader; it gets told as each file is finished (`done(index)`).
   */
  readAhead?(files: readonly { path: string; size: number }[]): { done(index: number): void; stop(): void } | null;
  /**
   * Hint, as a walk starts: the whole tree and its file data will be read. A backend may
   * start fetching it (a cold host tree) while the walk runs.
   */
  warm?(): void;
  /** Hint: the walk that began with `warm` is over (whether it finished or failed). */
  walked?(): void;
  /** The entry's path on the host, for copiers that bypass `read` (host backends only). */
  hostPathOf?(path: string): Uint8Array;
  /** Reads `length` bytes at `position` into `buf` at `offset`; returns bytes read. */
  read(path: string, buf: Uint8Array, offset: number, length: number, position: number): MaybePromise<number>;
}

export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
