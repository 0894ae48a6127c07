// `--contents PATH`: a host path copied into the root at the same absolute path, like the
// original recipe's `rsync --relative --copy-dirlinks --archive --chown=0:0 PATH/ rootfs`,
// with one deliberate difference: only the named path itself is followed when it is a
// symlink (that is what PATH/ asks for); symlinks found *inside* it are copied as symlinks,
// never followed on the host — a `x -> /etc` in the directory must not copy the host's
// /etc (or /etc/shadow, for a root user) into the image. Directories recursively, modes and
// mtimes kept, owner root (the rescan makes every new entry root's). Device nodes, fifos
// and sockets are copied as nodes, never read: an unprivileged user cannot make them, so
// they are placeholders that the metadata table turns into the real thing (placeSpecials).
// Where the root already has a symlink on the way (a merged-/usr /lib → usr/lib), the copy
// goes where the symlink points *inside the root* (see in-root.ts); nothing is ever
// written outside the root.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { CakeError, InvalidOptionError } from '../util/errors.js';
import { resolveInRoot } from './in-root.js';
import type { FsNode, FsTree, Timestamp } from '../tree/node.js';

/** A device node, fifo or socket copied in: a placeholder on the host, the real thing in the tree. */
export interface SpecialEntry {
  /** Path inside the root, a byte string ("dev/null"). */
  path: string;
  kind: 'chardev' | 'blockdev' | 'fifo' | 'socket';
  perm: number;
  major: number;
  minor: number;
  mtime: Timestamp;
}

export interface CopyStats {
  files: number;
  bytes: number;
  /** The newest mtime among what was copied (to the millisecond: the copies' times are set from Dates). */
  newest: Timestamp;
  specials: SpecialEntry[];
}

function err(path: string | Buffer, msg: string): never {
  throw new CakeError('EWRITE', 'write', `${typeof path === 'string' ? path : path.toString('latin1')}: ${msg}`);
}

/** Removes whatever non-directory is at `dest` (never following it). */
function clearFor(dest: Buffer, wantDir: boolean): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dest);
  } catch {
    return false;
  }
  if (st.isDirectory()) {
    if (wantDir) return true;
    err(dest, 'a directory is in the way of a non-directory from --contents (rsync would refuse too)');
  }
  fs.unlinkSync(dest);
  return false;
}

/** glibc's gnu_dev_major/minor encoding of st_rdev. */
function devNumbers(rdev: number): { major: number; minor: number } {
  return { major: ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff), minor: (rdev & 0xff) | ((rdev >>> 12) & ~0xff) };
}

interface CopyContext {
  /** The root as bytes, to turn destinations into tree paths. */
  root: Buffer;
  seen: Set<string>;
  stats: CopyStats;
}

function copyEntry(src: Buffer, dest: Buffer, ctx: CopyContext, st: fs.Stats): void {
  const { stats } = ctx;
  const m: Timestamp = { sec: Math.floor(st.mtimeMs / 1000), nsec: Math.round((st.mtimeMs - Math.floor(st.mtimeMs / 1000) * 1000) * 1e6) };
  if (m.sec > stats.newest.sec || (m.sec === stats.newest.sec && m.nsec > stats.newest.nsec)) stats.newest = m;
  if (st.isSymbolicLink()) {
    // Inside a --contents tree a symlink is data: copied as a link, never followed.
    clearFor(dest, false);
    fs.symlinkSync(fs.readlinkSync(src, { encoding: 'buffer' }), dest);
    return;
  }
  if (st.isDirectory()) {
    const key = `${st.dev}:${st.ino}`;
    if (ctx.seen.has(key)) err(src, 'directory loop in --contents');
    ctx.seen.add(key);
    if (!clearFor(dest, true)) fs.mkdirSync(dest, { mode: 0o700 });
    const names = fs.readdirSync(src, { encoding: 'buffer' }).sort(Buffer.compare);
    const slash = Buffer.from('/');
    for (const name of names) {
      const child = Buffer.concat([src, slash, name]);
      copyEntry(child, Buffer.concat([dest, slash, name]), ctx, fs.lstatSync(child));
    }
    ctx.seen.delete(key);
    fs.chmodSync(dest, st.mode & 0o7777);
    fs.utimesSync(dest, st.atime, st.mtime);
    return;
  }
  if (st.isFile()) {
    clearFor(dest, false);
    fs.copyFileSync(src, dest, fs.constants.COPYFILE_EXCL); // O_EXCL: never through a symlink
    fs.chmodSync(dest, st.mode & 0o7777);
    fs.utimesSync(dest, st.atime, st.mtime);
    stats.files++;
    stats.bytes += st.size;
    return;
  }
  // A device node, fifo or socket: never opened (reading /dev/zero would not end).
  const kind = st.isCharacterDevice() ? 'chardev' : st.isBlockDevice() ? 'blockdev' : st.isFIFO() ? 'fifo' : 'socket';
  clearFor(dest, false);
  fs.closeSync(fs.openSync(dest, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600));
  const { major, minor } = kind === 'chardev' || kind === 'blockdev' ? devNumbers(st.rdev) : { major: 0, minor: 0 };
  const ns = st.mtimeMs * 1e6;
  stats.specials.push({
    path: dest.subarray(ctx.root.length + 1).toString('latin1'), kind, perm: st.mode & 0o7777, major, minor,
    mtime: { sec: Math.floor(st.mtimeMs / 1000), nsec: Math.max(0, Math.round(ns % 1e9)) },
  });
}

/** Copies host path `src` (absolute, or relative to the working directory) into `rootfs` at its absolute path. */
export function copyContents(src: string, rootfs: string): CopyStats {
  const abs = nodePath.resolve(src);
  const stats: CopyStats = { files: 0, bytes: 0, newest: { sec: 0, nsec: 0 }, specials: [] };
  if (abs === '/') throw new InvalidOptionError('--contents', 'copying the whole host root is not supported');
  let top: fs.Stats;
  try {
    top = fs.statSync(abs); // the named path itself is followed (rsync's PATH/)
  } catch (e) {
    throw new InvalidOptionError('--contents', `${src}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as NodeJS.ErrnoException).code}`);
  }
  try {
    const parent = resolveInRoot(rootfs, nodePath.dirname(abs), { createDirs: true, followLast: true });
    if (!fs.existsSync(parent)) fs.mkdirSync(parent, { mode: 0o755 }); // resolved: no symlink there
    const dest = Buffer.concat([parent, Buffer.from(`/${nodePath.basename(abs)}`)]);
    copyEntry(Buffer.from(abs), dest, { root: Buffer.from(rootfs, 'utf8'), seen: new Set(), stats }, top);
  } catch (e) {
    if (e instanceof CakeError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new CakeError('EWRITE', 'write', `--contents ${src}: ${err.code ?? ''} ${err.path ?? err.message}`.trim());
  }
  return stats;
}

/**
 * After the rescan: each special file copied in becomes the node it is, where its
 * placeholder (an empty file) still stands; owned by root like everything --contents adds.
 */
export function placeSpecials(tree: FsTree, specials: SpecialEntry[]): void {
  for (const sp of specials) {
    const parts = sp.path.split('/');
    let dir: FsNode | undefined = tree.root;
    for (const p of parts.slice(0, -1)) dir = dir?.kind === 'dir' ? dir.entries.get(p) : undefined;
    if (dir?.kind !== 'dir') continue;
    const name = parts[parts.length - 1]!;
    const cur = dir.entries.get(name);
    if (!cur || cur.kind !== 'file' || cur.size !== 0) continue; // a later step replaced it
    const base = { perm: sp.perm, uid: 0, gid: 0, mtime: sp.mtime, atime: sp.mtime, ctime: sp.mtime, xattrs: [] };
    dir.entries.set(name, sp.kind === 'chardev' || sp.kind === 'blockdev' ? { kind: sp.kind, ...base, major: sp.major, minor: sp.minor } : { kind: sp.kind, ...base });
  }
}
