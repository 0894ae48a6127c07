// `--contents PATH`: a host path copied into the root at the same absolute path, like the
// original recipe's `rsync --relative --copy-dirlinks --archive --chown=0:0 PATH/ rootfs`:
// directories recursively, modes and mtimes kept, symlinks copied as symlinks except
// those pointing at directories (followed, --copy-dirlinks), owner root (the rescan makes
// every new entry root's). Where the root already has a symlink on the way (a merged-/usr
// /lib → usr/lib), the copy goes where the symlink points *inside the root* (see in-root.ts);
// nothing is ever written outside the root.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { CakeError, InvalidOptionError } from '../util/errors.js';
import { resolveInRoot } from './in-root.js';

export interface CopyStats {
  files: number;
  bytes: number;
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

function copyEntry(src: Buffer, dest: Buffer, seen: Set<string>, stats: CopyStats): void {
  let st = fs.lstatSync(src);
  if (st.isSymbolicLink()) {
    let target: fs.Stats | null = null;
    try {
      target = fs.statSync(src);
    } catch {
      target = null; // dangling: copied as a symlink
    }
    if (target?.isDirectory()) st = target;
    else {
      clearFor(dest, false);
      fs.symlinkSync(fs.readlinkSync(src, { encoding: 'buffer' }), dest);
      return;
    }
  }
  if (st.isDirectory()) {
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) err(src, 'directory loop through symlinks in --contents');
    seen.add(key);
    if (!clearFor(dest, true)) fs.mkdirSync(dest, { mode: 0o700 });
    const names = fs.readdirSync(src, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const name of names) {
      const slash = Buffer.from('/');
      copyEntry(Buffer.concat([src, slash, name]), Buffer.concat([dest, slash, name]), seen, stats);
    }
    seen.delete(key);
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
  err(src, 'device nodes, fifos and sockets cannot be copied in by an unprivileged user; create them in the script (mknod under proot is not possible either) or add them to the source image');
}

/** Copies host path `src` (absolute, or relative to the working directory) into `rootfs` at its absolute path. */
export function copyContents(src: string, rootfs: string): CopyStats {
  const abs = nodePath.resolve(src);
  if (!fs.existsSync(abs)) throw new InvalidOptionError('--contents', `${src}: no such file or directory`);
  const stats = { files: 0, bytes: 0 };
  if (abs === '/') throw new InvalidOptionError('--contents', 'copying the whole host root is not supported');
  try {
    const parent = resolveInRoot(rootfs, nodePath.dirname(abs), { createDirs: true, followLast: true });
    if (!fs.existsSync(parent)) fs.mkdirSync(parent, { mode: 0o755 }); // resolved: no symlink there
    const dest = Buffer.concat([parent, Buffer.from(`/${nodePath.basename(abs)}`)]);
    copyEntry(Buffer.from(abs), dest, new Set(), stats);
  } catch (e) {
    if (e instanceof CakeError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new CakeError('EWRITE', 'write', `--contents ${src}: ${err.code ?? ''} ${err.path ?? err.message}`.trim());
  }
  return stats;
}
