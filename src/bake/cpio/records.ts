// Plans an archive: the tree → the sequence of newc records, pure. Parents come before
// children, siblings in byte order of their names; inode numbers count up from 1 in that
// order; a hard-linked file's data travels with its last name (GNU cpio's convention,
// which the kernel's unpacker also accepts: earlier names are linked, the last fills it).
import { type ContentRef, type DataRun, type FsNode, type FsTree, kindTypeBits } from '../../tree/node.js';
import { walkTree } from '../../tree/walk.js';
import { displayName } from '../../tree/names.js';
import { UnsupportedError } from '../../util/errors.js';
import { checkIds } from '../../tree/limits.js';

export interface CpioRecord {
  /** Relative path, a byte string ("bin/sh"). */
  name: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  rdevMajor: number;
  rdevMinor: number;
  size: number;
  /** What fills the record's data: file content (holes as zeros), or a symlink target. */
  data: { kind: 'none' } | { kind: 'bytes'; bytes: string } | { kind: 'content'; ref: ContentRef; runs: DataRun[] | undefined };
}

const MAX_SIZE = 0xffffffff;
/** newc stores times as unsigned 32-bit seconds: 1970 to 2106-02-07. */
export const CPIO_MAX_TIME = 0xffffffff;
export const CPIO_TIME_RANGE = { min: 0, max: CPIO_MAX_TIME, describe: '1970-01-01 to 2106-02-07' };

function clampTime(sec: number): number {
  return Math.min(Math.max(sec, 0), CPIO_MAX_TIME);
}

/** A name the kernel's unpacker would take somewhere else than into the archive's tree. */
function badComponent(name: string): boolean {
  return name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0');
}

export function* cpioRecords(tree: FsTree): Generator<CpioRecord> {
  const names = new Map<FsNode, number>();
  for (const { node, path } of walkTree(tree.root)) if (path.length) names.set(node, (names.get(node) ?? 0) + 1);
  const inoOf = new Map<FsNode, number>();
  const emitted = new Map<FsNode, number>();
  for (const { node: n, path } of walkTree(tree.root)) {
    if (path.length === 0) continue; // the root itself is the kernel's rootfs
    const name = path.join('/');
    if (path.some(badComponent)) throw new UnsupportedError(`/${displayName(name)}`, 'invalid name in the tree (empty, ".", "..", or with "/" or NUL)');
    checkIds(n, () => `/${displayName(name)}`, 'cpio newc');
    if ((n.kind === 'chardev' || n.kind === 'blockdev') && (n.major > 0xffffffff || n.minor > 0xffffffff || n.major < 0 || n.minor < 0)) {
      throw new UnsupportedError(`/${displayName(name)}`, `device number ${n.major}:${n.minor} does not fit cpio newc`);
    }
    let ino = inoOf.get(n);
    if (ino === undefined) inoOf.set(n, (ino = inoOf.size + 1));
    const seen = (emitted.get(n) ?? 0) + 1;
    emitted.set(n, seen);
    const nlink = n.kind === 'dir' ? 2 + [...n.entries.values()].filter((c) => c.kind === 'dir').length : names.get(n)!;
    const last = seen === names.get(n);
    let data: CpioRecord['data'] = { kind: 'none' };
    let size = 0;
    if (n.kind === 'file' && last && n.size > 0) {
      if (n.size > MAX_SIZE) throw new UnsupportedError(`/${displayName(name)}`, `is ${n.size} bytes; cpio newc holds at most 4 GiB - 1 per file`);
      size = n.size;
      data = n.content ? { kind: 'content', ref: n.content, runs: n.dataRuns } : { kind: 'none' };
    } else if (n.kind === 'symlink') {
      size = n.target.length;
      data = { kind: 'bytes', bytes: n.target };
    }
    yield {
      name, ino, mode: kindTypeBits(n.kind) | n.perm, uid: n.uid, gid: n.gid, nlink, mtime: clampTime(n.mtime.sec),
      rdevMajor: n.kind === 'chardev' || n.kind === 'blockdev' ? n.major : 0,
      rdevMinor: n.kind === 'chardev' || n.kind === 'blockdev' ? n.minor : 0,
      size, data,
    };
  }
}
