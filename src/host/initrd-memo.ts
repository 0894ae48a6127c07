// Which initramfs archive a request made last time, and the identity of every host file
// and directory its build looked at (busybox candidates, modules.dep, the modules): while
// none of them changed, a rebake takes the cached initrd without rebuilding the archive
// to find its cache key (reading busybox and the modules, cpio, sha256 were most of a
// cached bake's initrd step). Identity is device, inode, size, mtime and ctime, as git's
// index keeps: ctime cannot be set back by a user, so a rewritten file is always seen.
// The memo names the cache entry and that entry's sha256, taken when the entry was made or
// checked to inflate to its archive: a corrupt or replaced entry is not used. The memo is
// trusted as the rest of the user's cache directory is (as the apt memo is). Any fault
// reading or writing it means building.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { readCacheFile, writeCacheFile } from './cache-file.js';

/** What a build produced that a replay must give back as well. */
export interface InitrdMemo {
  /** sha256 of the uncompressed archive (names the cache entry with the level and version). */
  archive: string;
  /** sha256 of the cache entry's bytes (the gzip'd archive). */
  gz: string;
  loadOrder: string[];
  builtin: string[];
  notes: string[];
}

interface Stored extends InitrdMemo {
  /** "path\0identity" for every host path the build looked at, in order of first use. */
  deps: string[];
}

/**
 * A host path's identity now ("-" when it does not exist). A symlink's includes its
 * target's: busybox is read through links (a merged /usr, a --busybox link), and a new
 * file behind an unchanged link must be seen.
 */
export function identityOf(p: string): string {
  const id = (st: fs.BigIntStats) => `${st.dev}:${st.ino}:${st.mode}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  try {
    const st = fs.lstatSync(p, { bigint: true });
    if (!st.isSymbolicLink()) return id(st);
    let target = '-';
    try {
      target = id(fs.statSync(p, { bigint: true }));
    } catch {
      /* a dangling link: its own identity says enough */
    }
    return `${id(st)}>${target}`;
  } catch {
    return '-';
  }
}

/**
 * Records the identity of each host path at its first use (before it is read). Paths are
 * kept as text, so a name that is not ASCII (a byte string the reader would pass as bytes)
 * makes the record incomplete, and no memo is written from it.
 */
export class DepRecorder {
  private readonly seen = new Map<string, string>();
  complete = true;

  touch(p: string): void {
    if (!/^[\x00-\x7f]*$/.test(p)) this.complete = false;
    if (!this.seen.has(p)) this.seen.set(p, identityOf(p));
  }

  get deps(): string[] {
    return [...this.seen].map(([p, id]) => `${p}\0${id}`);
  }
}

/**
 * A SourceFs (or any object whose methods take a path first) that records the host path
 * of each path it is asked about, under `root`.
 */
export function recordingFs<T extends object>(inner: T, root: string, rec: DepRecorder): T {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (typeof args[0] === 'string') rec.touch(args[0] === '' ? root : path.join(root, args[0]));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** The memo file for a request key. */
function memoFile(dir: string, key: string): string {
  return path.join(dir, `${key}.memo.json`);
}

/** The request's key: everything besides host files that the archive depends on. */
export function memoKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(`cake-img initrd memo v1\0${JSON.stringify(parts)}`).digest('hex');
}

/** The memo of `key` if every path it depends on is as it was; else null. */
export function readMemo(dir: string, key: string): InitrdMemo | null {
  const raw = readCacheFile(memoFile(dir, key));
  if (!raw) return null;
  let m: Stored;
  try {
    m = JSON.parse(Buffer.from(raw).toString('utf8')) as Stored;
    if (![m.archive, m.gz].every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)) || !Array.isArray(m.deps)) return null;
    if (![m.loadOrder, m.builtin, m.notes].every((a) => Array.isArray(a) && a.every((s) => typeof s === 'string'))) return null;
  } catch {
    return null;
  }
  for (const d of m.deps) {
    if (typeof d !== 'string') return null;
    const cut = d.indexOf('\0');
    if (cut < 0 || identityOf(d.slice(0, cut)) !== d.slice(cut + 1)) return null;
  }
  return { archive: m.archive, gz: m.gz, loadOrder: m.loadOrder, builtin: m.builtin, notes: m.notes };
}

/** Keeps the memo (not from an incomplete record); a cache that cannot be written is a warning (or null). */
export function writeMemo(dir: string, key: string, memo: InitrdMemo, rec: DepRecorder): string | null {
  if (!rec.complete) return null;
  const stored: Stored = { ...memo, deps: rec.deps };
  return writeCacheFile(memoFile(dir, key), new TextEncoder().encode(JSON.stringify(stored)));
}
