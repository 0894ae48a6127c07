// Whole-file reads through a SourceFs (small files: module indexes, .ko files, busybox),
// confined to the SourceFs's root: a path is split into components and every one is
// checked with lstat, so neither `..` nor a symlink on the way (or at the end) can
// reach a file outside — a modules directory is input, and what it names must not pull
// host files into an initrd.
import type { SourceFs } from '../../io/source-fs.js';
import { CorruptInputError } from '../../util/errors.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** Why `path` cannot name a file inside the root, or null: relative, no empty/`.`/`..` parts, no NUL. */
const PLAIN = /^(?!\.\.?(?:\/|$))(?:[^/\0]+\/(?!\.\.?(?:\/|$)))*[^/\0]+$/;

export function pathProblem(path: string): string | null {
  if (PLAIN.test(path)) return null; // the common case, in one pass: relative, no empty, ".", ".." part, no NUL
  if (path === '') return 'is empty';
  if (path.startsWith('/')) return 'is absolute';
  if (path.includes('\0')) return 'contains a NUL byte';
  for (const part of path.split('/')) {
    if (part === '..') return 'contains ".."';
    if (part === '' || part === '.') return 'has an empty or "." component';
  }
  return null;
}

/** Checks that `path` is a regular file reached through real directories only; returns its size. */
export async function checkRegularFile(fs: SourceFs, path: string, label: string): Promise<number> {
  const why = pathProblem(path);
  if (why) throw new CorruptInputError(`${label}/${path}`, `the path ${why}; only files inside the directory can be used`);
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const st = await fs.lstat(parts.slice(0, i).join('/'));
    if ((st.mode & S_IFMT) !== S_IFDIR) {
      throw new CorruptInputError(`${label}/${path}`, `${parts.slice(0, i).join('/')} is not a directory (a symlink is not followed: it could lead out of ${label})`);
    }
  }
  const st = await fs.lstat(path);
  if ((st.mode & S_IFMT) !== S_IFREG) throw new CorruptInputError(`${label}/${path}`, 'is not a regular file (a symlink is not followed: it could lead outside)');
  return st.size;
}

/** The bytes of a regular file inside the root (see checkRegularFile). */
export async function readWhole(fs: SourceFs, path: string, label = '.'): Promise<Uint8Array> {
  const size = await checkRegularFile(fs, path, label);
  const buf = new Uint8Array(size);
  let done = 0;
  while (done < size) {
    const n = await fs.read(path, buf, done, size - done, done);
    if (n <= 0) break;
    done += n;
  }
  (fs as { closeFile?: () => void }).closeFile?.();
  return done === size ? buf : buf.subarray(0, done);
}

export async function readText(fs: SourceFs, path: string, label = '.'): Promise<string> {
  return new TextDecoder().decode(await readWhole(fs, path, label));
}

export async function exists(fs: SourceFs, path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch {
    return false;
  }
}
