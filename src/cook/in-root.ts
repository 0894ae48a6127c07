// Resolving a path the way the cooked system would see it, on the host, without ever
// leaving the root: every component is lstat'ed, and a symlink (which the bootstrap
// script may have planted, pointing anywhere) is followed *inside* the root — an
// absolute target restarts at the root, `..` stops at the root — like a chroot would.
// What comes back is a host path made only of real directories under the root.
import * as fs from 'node:fs';
import { CakeError } from '../util/errors.js';

const MAX_LINKS = 40; // as Linux's MAXSYMLINKS

export interface ResolveOptions {
  /** Create missing directories on the way (mode 0755). */
  createDirs?: boolean;
  /** Follow a symlink in the last component too. */
  followLast?: boolean;
}

function host(root: string, parts: string[]): Buffer {
  return Buffer.concat([Buffer.from(root, 'utf8'), ...parts.map((p) => Buffer.from(`/${p}`, 'latin1'))]);
}

function split(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * The host path of `path` (a byte string, absolute or relative to the root) inside `root`.
 * The last component may not exist; intermediate ones must be (or be created as) directories.
 */
export function resolveInRoot(root: string, path: string, opts: ResolveOptions = {}): Buffer {
  const done: string[] = [];
  const todo = split(path).reverse(); // a stack: next component last
  let links = 0;
  while (todo.length) {
    const comp = todo.pop()!;
    if (comp === '..') {
      done.pop();
      continue;
    }
    const last = todo.length === 0;
    const here = host(root, [...done, comp]);
    let st: fs.Stats | null = null;
    try {
      st = fs.lstatSync(here);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CakeError('EWRITE', 'write', `${here.toString('latin1')}: ${(e as NodeJS.ErrnoException).code}`);
    }
    if (st?.isSymbolicLink() && (!last || opts.followLast)) {
      if (++links > MAX_LINKS) throw new CakeError('EWRITE', 'write', `/${[...done, comp].join('/')}: too many levels of symbolic links inside the root`);
      const target = fs.readlinkSync(here, { encoding: 'buffer' }).toString('latin1');
      if (target.startsWith('/')) done.length = 0;
      todo.push(...split(target).reverse());
      continue;
    }
    if (!last) {
      if (!st) {
        if (!opts.createDirs) throw new CakeError('EWRITE', 'write', `/${[...done, comp].join('/')}: no such directory in the root`);
        fs.mkdirSync(here, { mode: 0o755 });
      } else if (!st.isDirectory()) {
        throw new CakeError('EWRITE', 'write', `/${[...done, comp].join('/')}: not a directory in the root`);
      }
    }
    done.push(comp);
  }
  return host(root, done);
}
