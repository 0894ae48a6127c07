// The content-addressed store of cooked trees: `$XDG_CACHE_HOME/cake-img/store/<key>-<name>`,
// where the key is a hash over every input of the cook (see cook-key.ts). An entry is a
// cooked directory (`rootfs/`, `cake-meta.jsonl`) plus `cake-info.json` (name, inputs,
// output hash, when it was made). Entries are built in `store/.build/` and renamed into
// place whole, so a crashed or failed cook never leaves a half entry, and two cooks of
// the same thing at once both end with one good entry.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { CakeError } from '../util/errors.js';
import { removeTree } from '../util/remove-tree.js';

export const INFO_NAME = 'cake-info.json';
const BUILD = '.build';

export interface CookInputs {
  [key: string]: unknown;
}

/**
 * The PATH entries a cook recorded (an image's Env takes them). The inputs of an entry
 * pulled from a registry are untrusted JSON: only string entries count (joining another
 * value would call its own toString).
 */
export function cookPath(inputs: CookInputs): string[] {
  return Array.isArray(inputs.path) ? inputs.path.filter((p): p is string => typeof p === 'string') : [];
}

export interface StoreInfo {
  name: string;
  key: string;
  /** sha256:… of the output tree (tree/hash.ts). */
  hash: string;
  inputs: CookInputs;
  /** ISO time the entry was made. */
  created: string;
  /** Disk usage of the rootfs in bytes (4 KiB blocks). */
  size: number;
  /** The size summary printed when it was cooked. */
  summary?: string[];
  /** The time every later time was clamped to (SOURCE_DATE_EPOCH, else the newest input time). */
  epoch?: number;
}

export interface StoreEntry {
  path: string;
  info: StoreInfo;
  /** Last time a cook or a build used it (ms since the epoch). */
  lastUsed: number;
}

/** Names in the store: what a user would type, nothing that could be a path. */
export function storeName(name: string): string {
  const n = name.replace(/[^A-Za-z0-9._+-]+/g, '-').replace(/^[-.]+/, '').slice(0, 100);
  return n || 'rootfs';
}

export function entryPath(store: string, key: string, name: string): string {
  return nodePath.join(store, `${key}-${storeName(name)}`);
}

export function readInfo(dir: string): StoreInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(nodePath.join(dir, INFO_NAME), 'utf8')) as StoreInfo;
    return typeof info.hash === 'string' && typeof info.key === 'string' ? info : null;
  } catch {
    return null;
  }
}

/** The entry for `key`, if present and complete; marks it used. */
export function lookup(store: string, key: string, name: string): StoreEntry | null {
  const path = entryPath(store, key, name);
  const info = readInfo(path);
  if (!info || info.key !== key) return null;
  const now = new Date();
  try {
    fs.utimesSync(nodePath.join(path, INFO_NAME), now, fs.statSync(nodePath.join(path, INFO_NAME)).mtime);
  } catch {
    /* read-only store: fine */
  }
  return { path, info, lastUsed: now.getTime() };
}

/** This process as "PID.STARTTIME" (the start time tells a live process from a later one that got its number). */
function processTag(pid = process.pid): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Field 22 (starttime); the command name (field 2) may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${pid}.${fields[19]}`;
  } catch {
    return null;
  }
}

const OWN_TAG = processTag() ?? `${process.pid}.0`;

/**
 * A fresh build directory inside the store (same filesystem, so the final rename is
 * atomic), named after the cook and the process making it, so `gc` can tell a build in
 * progress from one a killed process left behind.
 */
export function newBuildDir(store: string, name: string): string {
  const dir = nodePath.join(store, BUILD);
  fs.mkdirSync(dir, { recursive: true });
  return fs.mkdtempSync(nodePath.join(dir, `${storeName(name)}@${OWN_TAG}-`));
}

/** Whether the process that made build directory `name` is gone (unknown owners count as gone after a day). */
function buildIsStale(name: string, mtimeMs: number, now: number): boolean {
  const m = /@(\d+)\.(\d+)-[^/]*$/.exec(name);
  if (!m) return now - mtimeMs > 24 * 3600 * 1000;
  const pid = Number(m[1]);
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  const tag = processTag(pid);
  return tag !== null && tag !== `${m[1]}.${m[2]}`;
}

/** Moves a finished build directory into place (writing its info); returns the entry path. */
export function commit(store: string, build: string, info: StoreInfo): string {
  fs.writeFileSync(nodePath.join(build, INFO_NAME), `${JSON.stringify(info, null, 2)}\n`);
  const path = entryPath(store, info.key, info.name);
  try {
    fs.renameSync(build, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && readInfo(path)?.key === info.key) {
      removeTree(build); // another cook of the same inputs finished first: keep theirs
      return path;
    }
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      // A broken leftover (no info): replace it.
      const stale = `${build}.stale`;
      fs.renameSync(path, stale);
      fs.renameSync(build, path);
      removeTree(stale);
      return path;
    }
    throw new CakeError('EWRITE', 'write', `${path}: cannot store the cooked tree: ${code ?? String(e)}`);
  }
  return path;
}


/** Every complete entry, newest first. */
export function listEntries(store: string): StoreEntry[] {
  const out: StoreEntry[] = [];
  for (const name of fs.existsSync(store) ? fs.readdirSync(store) : []) {
    if (name.startsWith('.')) continue;
    const path = nodePath.join(store, name);
    const info = readInfo(path);
    if (!info) continue;
    const lastUsed = fs.statSync(nodePath.join(path, INFO_NAME)).atimeMs;
    out.push({ path, info, lastUsed: Math.max(lastUsed, Date.parse(info.created) || 0) });
  }
  return out.sort((a, b) => b.info.created.localeCompare(a.info.created));
}

export interface GcOptions {
  /** Remove entries not used for this long (ms). */
  olderThanMs?: number;
  /** Keys or output hashes to keep whatever their age (the pins of a recipe). */
  keep?: Set<string>;
  /** Remove everything not kept (when no age is given). */
  all?: boolean;
  dryRun?: boolean;
  now?: number;
}

/** Removes entries by age or reference, plus build directories left by cooks whose process is gone. */
export function gc(store: string, opts: GcOptions): { removed: StoreEntry[]; freed: number; stale: string[] } {
  const now = opts.now ?? Date.now();
  const keep = opts.keep ?? new Set<string>();
  const removed: StoreEntry[] = [];
  let freed = 0;
  for (const e of listEntries(store)) {
    if (keep.has(e.info.key) || keep.has(e.info.hash)) continue;
    const old = opts.olderThanMs !== undefined && now - e.lastUsed > opts.olderThanMs;
    const unreferenced = opts.olderThanMs === undefined && (opts.all || keep.size > 0);
    if (!old && !unreferenced) continue;
    removed.push(e);
    freed += e.info.size;
    if (!opts.dryRun) removeTree(e.path);
  }
  const build = nodePath.join(store, BUILD);
  const stale: string[] = [];
  if (fs.existsSync(build)) {
    for (const n of fs.readdirSync(build)) {
      const p = nodePath.join(build, n);
      let mtimeMs: number;
      try {
        mtimeMs = fs.lstatSync(p).mtimeMs;
      } catch {
        continue;
      }
      if (!buildIsStale(n, mtimeMs, now)) continue;
      stale.push(p);
      if (!opts.dryRun) removeTree(p);
    }
  }
  return { removed, freed, stale };
}
