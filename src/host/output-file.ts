// The one way cake-img writes an output file: checked first, written to a temporary file
// of its own in the same directory, renamed over the target only when complete.
// - The temp has an unpredictable name and is created with O_CREAT|O_EXCL|O_NOFOLLOW, so a
//   link planted in the directory is never followed, and the writer gets its descriptor
//   (never a path to reopen).
// - The target may be a regular file (replaced whole, never written through) or absent.
//   A directory, a symbolic link, a device, `-`, an empty name or a name ending in `/` is
//   refused before any work; so is a target that is one of the command's own inputs.
// - A failure or a signal removes the temp (lifecycle.ts): a failed run leaves no partial
//   output and an existing output untouched.
// - An existing target with much data has its pages dropped from the cache first and is
//   replaced by exchanging the names (replace-file.ts): the new file's pages come from the
//   old one's, and ext4 does not flush the new file inside rename(2).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CakeError, InvalidOptionError, OutputError, quote } from '../util/errors.js';
import { faultPoint } from './fault.js';
import { isStopping, removeOnExit, yieldToSignals } from './lifecycle.js';
import { EXCHANGE_MIN_BYTES, dropCachedPages, replaceByExchange } from './replace-file.js';

const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants; // Node adds O_CLOEXEC itself

export interface OutputOptions {
  /** The option or argument that named the output, for usage errors (`-o`, `IMG`). */
  option: string;
  /** Host paths the command reads: the output must not be one of them. */
  inputs?: string[];
  /** Permission bits of a new file (before the umask). */
  mode?: number;
  /** The work reads the existing target (mkfs --offset copies it): its cache is kept. */
  readsTarget?: boolean;
}

export interface TempOutput {
  /** Descriptor of the temporary file, open for reading and writing. */
  fd: number;
  /** Its path (for messages and for tools that need a name). */
  path: string;
}

/** What lstat says is at `p`, or null when nothing is. */
function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw new OutputError(quote(p), 'a component of the path is not a directory');
    if (code === 'EACCES') throw new OutputError(quote(p), 'permission denied (cannot look in its directory)');
    throw new OutputError(quote(p), `cannot check it: ${code ?? String(e)}`);
  }
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a fifo';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Refuses outputs that cannot be a file of ours; returns the absolute target path. */
export function checkOutputPath(target: string, opts: OutputOptions): string {
  const { option } = opts;
  if (target === '') throw new InvalidOptionError(option, 'the output name is empty');
  if (target === '-') throw new InvalidOptionError(option, 'cannot write to standard output (images are written sparse and renamed into place); name a file');
  if (target.endsWith('/')) throw new InvalidOptionError(option, `${quote(target)} ends in "/": name the file to write, not a directory`);
  const abs = path.resolve(target);
  const dir = path.dirname(abs);
  const dst = lstatOrNull(dir);
  if (!dst) throw new OutputError(quote(target), `the directory ${quote(dir)} does not exist; create it first`);
  if (!dst.isDirectory()) {
    // A symlink to a directory is a fine place to write into.
    let real: fs.Stats | null = null;
    try {
      real = fs.statSync(dir);
    } catch {
      real = null;
    }
    if (!real?.isDirectory()) throw new OutputError(quote(target), `${quote(dir)} is not a directory`);
  }
  const st = lstatOrNull(abs);
  if (st && !st.isFile()) {
    const what = kindOf(st);
    const advice = st.isSymbolicLink() ? ' (cake-img never writes through a link: remove it or name its target)' : st.isDirectory() ? ' (name a file inside it)' : ' (cake-img writes regular files; copy the image to a device with dd)';
    throw new OutputError(quote(target), `is ${what}${advice}`);
  }
  if (st) {
    for (const input of opts.inputs ?? []) {
      let ist: fs.Stats;
      try {
        ist = fs.statSync(input);
      } catch {
        continue;
      }
      if (ist.dev === st.dev && ist.ino === st.ino) throw new InvalidOptionError(option, `${quote(target)} is also the input ${quote(input)}; write the output elsewhere`);
    }
  }
  return abs;
}

/** A one-line error for a failed write of `target` (no room, no permission, I/O error). */
export function writeFault(target: string, e: unknown, doing = 'write'): CakeError {
  if (e instanceof CakeError) return e;
  const err = e as NodeJS.ErrnoException;
  const where = quote(target);
  switch (err.code) {
    case 'ENOSPC':
      return new OutputError(where, `no space left on the filesystem while writing it (ENOSPC); free some space or write elsewhere`, { errno: err.code });
    case 'EDQUOT':
      return new OutputError(where, 'disk quota exceeded while writing it (EDQUOT)', { errno: err.code });
    case 'EFBIG':
      return new OutputError(where, 'the file would be larger than this filesystem allows (EFBIG)', { errno: err.code });
    case 'EACCES':
    case 'EPERM':
      return new OutputError(where, `permission denied: cannot ${doing} here (${err.code})`, { errno: err.code });
    case 'EROFS':
      return new OutputError(where, 'the filesystem is read-only (EROFS)', { errno: err.code });
    case 'EIO':
      return new OutputError(where, 'input/output error while writing it (EIO)', { errno: err.code });
    default:
      if (err.code) return new OutputError(where, `cannot ${doing} it: ${err.code}`, { errno: err.code });
      throw e; // not a host error: a bug, let it surface
  }
}

/** Creates a fresh temporary file beside `abs`; never follows or reuses anything already there. */
export function createTemp(abs: string, mode = 0o644): TempOutput & { forget: () => void } {
  const dir = path.dirname(abs);
  for (let attempt = 0; ; attempt++) {
    const tmp = path.join(dir, `.${path.basename(abs)}.cake-${randomBytes(6).toString('hex')}`);
    try {
      const fd = fs.openSync(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
      const forget = removeOnExit(tmp);
      return { fd, path: tmp, forget };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 8) continue;
      throw writeFault(abs, e, 'create files in its directory');
    }
  }
}

/**
 * Puts the finished temp in place of the existing file `abs` by exchanging the two names
 * (replace-file.ts: no ext4 flush); false when that is not available. The temp is not
 * registered for removal meanwhile: once swapped its name holds the old output (or, in a
 * race, a directory), which a cleanup must never delete; a kill in that instant leaves it
 * as a hidden file beside the output.
 */
function exchanged(tmp: ReturnType<typeof createTemp>, abs: string, target: string): boolean {
  tmp.forget();
  const done = replaceByExchange(tmp.path, abs);
  if (done === 'directory') throw new OutputError(quote(target), 'became a directory while the output was being written; not replaced');
  if (!done) tmp.forget = removeOnExit(tmp.path);
  return done;
}

/**
 * Runs `work` on a temporary file and renames it to `target` when it succeeds; on any
 * failure the temp is removed and `target` is as it was.
 */
export async function writeOutput<T>(target: string, opts: OutputOptions, work: (out: TempOutput) => Promise<T>): Promise<T> {
  const abs = checkOutputPath(target, opts);
  const old = opts.readsTarget ? null : lstatOrNull(abs);
  if (old?.isFile() && old.blocks * 512 >= EXCHANGE_MIN_BYTES) dropCachedPages(abs);
  const tmp = createTemp(abs, opts.mode);
  let closed = false;
  try {
    const result = await work({ fd: tmp.fd, path: tmp.path });
    const written = fs.fstatSync(tmp.fd).blocks * 512;
    fs.closeSync(tmp.fd);
    closed = true;
    faultPoint('rename');
    // One turn of the event loop first: a signal that arrived while the output was being
    // written is handled now (the temp removed, the target kept) rather than after the rename.
    await yieldToSignals();
    if (isStopping()) throw new OutputError(quote(target), 'stopped before it was complete; not replaced');
    // What the rename replaces: still a regular file or nothing (not a link or a
    // directory put there while we worked).
    const now = lstatOrNull(abs);
    if (now && !now.isFile()) throw new OutputError(quote(target), `became ${kindOf(now)} while the output was being written; not replaced`);
    try {
      if (!(now && written >= EXCHANGE_MIN_BYTES && exchanged(tmp, abs, target))) fs.renameSync(tmp.path, abs);
    } catch (e) {
      throw writeFault(target, e, 'rename the finished output into place');
    }
    tmp.forget();
    return result;
  } catch (e) {
    if (!closed) fs.closeSync(tmp.fd);
    fs.rmSync(tmp.path, { force: true });
    tmp.forget();
    throw writeFault(target, e);
  }
}
