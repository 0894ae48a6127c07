// `cake-img cook`: a source tree → (prepare on the host) → the bootstrap script under
// proot → PATH in /etc/profile → --contents copied in → (cleanup on the host) → rescan →
// a store entry, checked against --sha256 like a Nix fixed-output derivation. The order
// is the original recipe's installPhase. Same inputs never cook twice. What -o writes is
// in cook-output.ts.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { type SpecialEntry, copyContents, placeSpecials } from '../cook/contents.js';
import { loadCookedDir } from '../host/cooked-dir.js';
import { explainMiss } from '../cook/explain.js';
import { resolveInRoot } from '../cook/in-root.js';
import { materialise, writeTable } from '../cook/materialise.js';
import { ROOTFS_NAME } from '../sources/meta-table.js';
import type { LoadedTree } from '../sources/directory.js';
import { storeDir } from '../host/cache.js';
import { probeProot, prootTool, runScript } from '../host/proot.js';
import { diskUsage, sizeSummary } from '../cook/size-summary.js';
import { hashHostDir, sourceIdentity } from '../host/source-id.js';
import { sha256File } from '../util/sha256-file.js';
import { type CookInputs, type StoreInfo, commit, listEntries, lookup, newBuildDir, storeName } from '../cook/store.js';
import { removeTree } from '../util/remove-tree.js';
import { loadSource } from '../host/load-source.js';
import { hashTree } from '../tree/hash.js';
import { CakeError, InvalidOptionError, quote } from '../util/errors.js';
import { removeOnExit, spawnTracked } from '../host/lifecycle.js';
import { faultPoint } from '../host/fault.js';
import { unreadable } from '../host/load-source.js';
import type { DirNode, Timestamp } from '../tree/node.js';
import { clampTimes, forEachNode } from '../tree/transforms.js';
import { VERSION } from '../version.js';
import { checkCookOutput, writeOut } from './cook-output.js';
import { type LayerCompression, parseImageTag } from '../cook/oci-image.js';
import { type RemoteCache, hasCooked, pullCooked, pushCooked, tolerate } from '../host/remote-cache.js';

export interface CookRequest {
  src: string;
  /** Store name (default: from the source's file name). */
  name?: string;
  /** Bootstrap script text, run inside the tree under proot. */
  script?: string;
  /** Host shell commands run in the build directory before / after the script. */
  prepare?: string;
  cleanup?: string;
  /** Host paths copied into the tree at their absolute paths. */
  contents?: string[];
  /** Directories put in front of PATH in /etc/profile. */
  path?: string[];
  /** Expected output hash (sha256:HEX or HEX). */
  sha256?: string;
  rebuild?: boolean;
  explain?: boolean;
  keepFailed?: boolean;
  /** Also write the result here: a directory, a .tar / .tar.gz, or an OCI image (.oci, .oci.tar, .docker.tar). */
  out?: string;
  /** OCI outputs: `NAME[:TAG]` (default the cook's name and `latest`) and the layer's compression (default gzip). */
  tag?: string;
  layerCompression?: LayerCompression;
  platform?: string;
  lenient?: boolean;
  /** SOURCE_DATE_EPOCH: every time in the cooked tree is clamped to it (default: the newest time among the inputs). */
  sourceDateEpoch?: number;
  /** A registry as a shared store (host/remote-cache.ts): pulled before cooking, pushed after. */
  cache?: RemoteCache;
  /** Progress lines (script output, steps). */
  log?: (line: string) => void;
  /** Which step is running, with file and byte counts where there are any. */
  onProgress?: (phase: string, files?: number, bytes?: number) => void;
}

export interface CookResult {
  name: string;
  storePath: string;
  hash: string;
  cached: boolean;
  /** Taken from the registry cache instead of cooked. */
  pulled?: boolean;
  /** Disk usage of the cooked tree (4 KiB blocks). */
  size: number;
  out?: string;
  summary: string[];
  /** Why it was (re)built, or that it was cached (with --explain). */
  explanation?: string;
  warnings: string[];
}

export function normalizeHash(h: string, option = '--sha256'): string {
  const m = /^(?:sha256:)?([0-9a-fA-F]{64})$/.exec(h.trim());
  if (!m) throw new InvalidOptionError(option, `expected sha256:<64 hex digits>, not ${JSON.stringify(h)}`);
  return `sha256:${m[1]!.toLowerCase()}`;
}

function defaultName(src: string): string {
  if (src.startsWith('deb:')) return src.slice(4);
  const at = src.indexOf('@sha256:');
  const base = nodePath.basename(at >= 0 ? src.slice(0, at) : src.replace(/\/+$/, ''));
  return storeName(base.replace(/\.(tar|tgz|deb)(\.(gz|xz|zst|bz2))?$/, '').replace(/:.*$/, ''));
}

function sha256Text(s: string): string {
  return `sha256:${createHash('sha256').update(s).digest('hex')}`;
}

/** Every input that can change the output; the store key hashes this. */
async function cookInputs(req: CookRequest, name: string): Promise<CookInputs> {
  const contents: { path: string; hash: string }[] = [];
  for (const c of req.contents ?? []) {
    const abs = checkContentsPath(c);
    contents.push({ path: abs, hash: await hashContents(abs) });
  }
  return {
    ...(req.sourceDateEpoch !== undefined ? { sourceDateEpoch: req.sourceDateEpoch } : {}),
    cakeImg: VERSION,
    name,
    source: await sourceIdentity(req.src, { platform: req.platform }),
    lenient: !!req.lenient,
    prepare: req.prepare ? sha256Text(req.prepare) : null,
    script: req.script ? sha256Text(req.script) : null,
    path: req.path ?? [],
    contents,
    cleanup: req.cleanup ? sha256Text(req.cleanup) : null,
  };
}

export function inputsKey(inputs: CookInputs): string {
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 32);
}

/**
 * A --contents path: it must exist (read through a symlink only at the path itself, like
 * rsync --copy-dirlinks), and be no file of /proc or /sys, whose sizes lie.
 */
function checkContentsPath(c: string): string {
  const abs = nodePath.resolve(c);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    throw unreadable(abs, e, 'the --contents path');
  }
  const real = fs.realpathSync(abs);
  if (/^\/(proc|sys)(\/|$)/.test(real) || /^\/(proc|sys)(\/|$)/.test(abs)) {
    throw new InvalidOptionError('--contents', `${quote(c)} is in /${real.split('/')[1]}, whose files report sizes they do not have; copy what you need to a file first`);
  }
  void st;
  return abs;
}

/** The identity of a --contents path for the store key: a tree hash (special files as nodes, never read). */
async function hashContents(abs: string): Promise<string> {
  const st = fs.statSync(abs);
  if (st.isDirectory()) return hashHostDir(abs);
  if (!st.isFile()) return `node:${st.mode.toString(8)}:${st.rdev}`;
  try {
    return sha256File(abs);
  } catch (e) {
    throw unreadable(abs, e, 'the --contents path');
  }
}

/** Runs a host shell command in the build directory (prepare, cleanup). */
async function hostShell(what: string, cmd: string, cwd: string, log?: (l: string) => void): Promise<void> {
  const tail: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawnTracked('/bin/sh', ['-euc', cmd], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROOTFS: nodePath.join(cwd, ROOTFS_NAME) } });
    const take = (d: Buffer): void => {
      for (const l of d.toString('utf8').split('\n')) {
        if (!l) continue;
        log?.(l);
        tail.push(l);
        if (tail.length > 20) tail.shift();
      }
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    child.on('error', (e) => reject(new CakeError('ETOOL', 'tool', `the ${what} command could not start: ${e.message}`)));
    child.on('close', (c) => resolve(c));
  });
  if (code !== 0) throw new CakeError('ESCRIPT', 'tool', `the ${what} command failed (exit ${code ?? 'signal'}): ${tail.slice(-3).join(' | ') || 'no output'}`, { exitCode: code, tail });
}

/**
 * A --path entry goes into a shell line of /etc/profile (`PATH=DIR:$PATH`), so only
 * characters the shell takes literally there: no separator, space, quote, `$`, `~`,
 * operator or control character (which would run something else at every login).
 */
export function checkPathEntry(d: string): void {
  if (!/^(?:[A-Za-z0-9._/+@%,=-]|[^\x00-\x9f\u2028\u2029])+$/.test(d)) {
    throw new InvalidOptionError('--path', `${JSON.stringify(d)} cannot go in PATH (use letters, digits and . _ / + @ % , = -)`);
  }
}

/** Appends `PATH=A:B:$PATH` to /etc/profile inside the root (creating it if missing). */
function appendPath(rootfs: string, dirs: string[]): void {
  for (const d of dirs) checkPathEntry(d);
  const profile = resolveInRoot(rootfs, '/etc/profile', { createDirs: true, followLast: true });
  let before = '';
  try {
    before = fs.readFileSync(profile, 'latin1');
  } catch {
    /* new file */
  }
  const sep = before === '' || before.endsWith('\n') ? '' : '\n';
  fs.appendFileSync(profile, `${sep}PATH=${dirs.join(':')}:$PATH\n`);
}

/** Cooks in a fresh build directory of the store and commits it there whole. */
async function build(req: CookRequest, name: string, key: string, inputs: CookInputs, store: string): Promise<{ path: string; info: StoreInfo; warnings: string[] }> {
  const dir = newBuildDir(store, name);
  const forget = removeOnExit(dir); // a signal or a crash must not leave it in the store
  let ok = false;
  try {
    const made = await makeTree(req, dir);
    req.onProgress?.('scanning and hashing');
    const { final, hash } = await rescan(dir, made.specials, made.epoch);
    if (req.sha256 && normalizeHash(req.sha256) !== hash) {
      throw new CakeError('EHASH', 'tool', `hash mismatch in cooked ${name}: expected ${normalizeHash(req.sha256)}, got ${hash}; nothing stored`, { expected: normalizeHash(req.sha256), actual: hash });
    }
    writeTable(final.tree, dir);
    const summary = sizeSummary(final.tree);
    const info: StoreInfo = { name, key, hash, inputs, created: new Date().toISOString(), size: diskUsage(final.tree), summary, epoch: made.epoch.sec };
    const path = commit(store, dir, info);
    forget();
    ok = true;
    return { path, info, warnings: [...made.warnings, ...final.warnings] };
  } finally {
    if (!ok) discardBuild(req, dir, forget);
  }
}

/** A failed cook's build directory goes, unless --keep-failed keeps it (and says where). */
function discardBuild(req: CookRequest, dir: string, forget: () => void): void {
  if (req.keepFailed && fs.existsSync(dir)) {
    forget();
    req.log?.(`kept the failed build in ${dir}`);
  } else {
    removeTree(dir);
    forget();
  }
}

/**
 * The cook's steps in `dir`, in the original recipe's order. Returns the time every time
 * is clamped to (SOURCE_DATE_EPOCH, else the newest among the inputs), the special files
 * --contents brought, and the source's warnings.
 */
async function makeTree(req: CookRequest, dir: string): Promise<{ epoch: Timestamp; specials: SpecialEntry[]; warnings: string[] }> {
  const log = req.log;
  const rootfs = nodePath.join(dir, ROOTFS_NAME);
  // Before any work: a missing proot or a ptrace ban should cost nothing.
  const proot = req.script ? await prootTool(log) : null;
  if (proot) probeProot(proot);
  const phase = req.onProgress ?? (() => {});
  const unpacked = await unpack(req, dir, phase);
  if (req.prepare) await hostStep('prepare', req.prepare, dir, phase, log);
  if (req.script) {
    log?.('running the script under proot');
    phase('running the script');
    await runScript(rootfs, req.script, proot!, { onLine: (l) => (faultPoint('script'), log?.(l)), spawn: spawnTracked });
  }
  if (req.path?.length) appendPath(rootfs, req.path);
  const added = addContents(req, rootfs, unpacked.epoch, phase);
  if (req.cleanup) await hostStep('cleanup', req.cleanup, dir, phase, log);
  return { epoch: added.epoch, specials: added.specials, warnings: unpacked.warnings };
}

/** The source unpacked into `dir/rootfs`; the epoch is SOURCE_DATE_EPOCH, else the source's newest mtime. */
async function unpack(req: CookRequest, dir: string, phase: (phase: string, files?: number, bytes?: number) => void): Promise<{ epoch: Timestamp; warnings: string[] }> {
  req.log?.(`unpacking ${req.src}`);
  phase('reading the source');
  const loaded = await loadSource(req.src, { platform: req.platform, lenient: req.lenient });
  try {
    const epoch = req.sourceDateEpoch === undefined ? newestMtime(loaded.tree.root) : { sec: req.sourceDateEpoch, nsec: 0 };
    faultPoint('loaded');
    await materialise(loaded, dir, (files, bytes) => phase('unpacking', files, bytes));
    return { epoch, warnings: loaded.warnings };
  } finally {
    await loaded.content.close();
  }
}

/** A host shell step (prepare, cleanup), said in the log and the progress. */
async function hostStep(what: string, cmd: string, dir: string, phase: (phase: string) => void, log?: (l: string) => void): Promise<void> {
  log?.(`running ${what}`);
  phase(what);
  await hostShell(what, cmd, dir, log);
}

/** Copies each --contents path in; without SOURCE_DATE_EPOCH, a newer time among them moves the epoch. */
function addContents(req: CookRequest, rootfs: string, epoch: Timestamp, phase: (phase: string) => void): { epoch: Timestamp; specials: SpecialEntry[] } {
  const specials: SpecialEntry[] = [];
  if (req.contents?.length) phase('adding contents');
  for (const c of req.contents ?? []) {
    const st = copyContents(c, rootfs);
    specials.push(...st.specials);
    const later = st.newest.sec > epoch.sec || (st.newest.sec === epoch.sec && st.newest.nsec > epoch.nsec);
    if (req.sourceDateEpoch === undefined && later) epoch = st.newest;
    req.log?.(`added ${c} (${st.files} files)`);
  }
  return { epoch, specials };
}

/** The cooked directory read back as a tree (the table merged with what the steps did), special files placed, times clamped, and its hash. */
async function rescan(dir: string, specials: SpecialEntry[], epoch: Timestamp): Promise<{ final: LoadedTree; hash: string }> {
  const final = await loadCookedDir(dir);
  placeSpecials(final.tree, specials);
  // Reproducible times: whatever the script made carries the wall clock; every time is
  // clamped to SOURCE_DATE_EPOCH, else to the newest time among the inputs.
  clampTimes(final.tree.root, epoch);
  try {
    return { final, hash: await hashTree(final.tree, final.content, () => createHash('sha256')) };
  } finally {
    await final.content.close();
  }
}

/** The newest mtime in a tree, to the nanosecond ({0, 0} for an empty or all-1970 tree). */
function newestMtime(root: DirNode): Timestamp {
  let newest: Timestamp = { sec: 0, nsec: 0 };
  forEachNode(root, (n) => {
    if (n.mtime.sec > newest.sec || (n.mtime.sec === newest.sec && n.mtime.nsec > newest.nsec)) newest = n.mtime;
  });
  return newest;
}

export async function cook(req: CookRequest): Promise<CookResult> {
  if (!req.src) throw new InvalidOptionError('--src', 'a source is required');
  if (req.sha256) normalizeHash(req.sha256);
  for (const d of req.path ?? []) checkPathEntry(d);
  for (const c of req.contents ?? []) checkContentsPath(c);
  if (req.out !== undefined) checkCookOutput(req.out);
  if (req.tag !== undefined) parseImageTag(req.tag);
  const name = storeName(req.name ?? defaultName(req.src));
  const store = storeDir();
  const inputs = await cookInputs(req, name);
  const key = inputsKey(inputs);
  const pinned = req.sha256 ? normalizeHash(req.sha256) : undefined;
  let explanation: string | undefined;
  let hit = req.rebuild ? null : lookup(store, key, name);
  if (hit && pinned && hit.info.hash !== pinned) {
    explanation = `${name}: the stored output's hash ${hit.info.hash} is not the pinned ${pinned}; cooking again`;
    hit = null;
  }
  const warnings: string[] = [];
  const note = (w: string | undefined): void => void (w && warnings.push(w));
  if (hit) {
    if (req.explain) explanation = `${name}: cached in ${hit.path} (same inputs)`;
    // A result the registry lacks (made before the cache was used) is pushed now.
    const c = req.cache;
    if (c?.push) note((await tolerate(c, 'push', `pushing ${name}`, async () => ((await hasCooked(c, key)) ? undefined : pushCooked(c, store, hit!, req.log)))).warning);
    if (req.out) await writeOut(hit.path, req.out, req);
    const summary = hit.info.summary ?? [];
    return { name, storePath: hit.path, hash: hit.info.hash, cached: true, size: hit.info.size, out: req.out, summary, explanation, warnings };
  }
  if (req.cache && !req.rebuild) {
    const c = req.cache;
    const got = await tolerate(c, 'pull', `pulling ${name}`, () => pullCooked(c, store, key, name, inputs, pinned, req.log));
    note(got.warning);
    if (got.value) {
      if (req.explain) explanation = `${name}: pulled from ${c.repo.ref.label} (same inputs)`;
      if (req.out) await writeOut(got.value.path, req.out, req);
      const { info } = got.value;
      return { name, storePath: got.value.path, hash: info.hash, cached: false, pulled: true, size: info.size, out: req.out, summary: info.summary ?? [], explanation, warnings };
    }
  }
  if (req.explain && !explanation) explanation = req.rebuild ? `${name}: --rebuild` : explainMiss(name, inputs, listEntries(store));
  const built = await build(req, name, key, inputs, store);
  const c = req.cache;
  if (c?.push) note((await tolerate(c, 'push', `pushing ${name}`, () => pushCooked(c, store, built, req.log))).warning);
  if (req.out) await writeOut(built.path, req.out, req);
  const summary = built.info.summary ?? [];
  return { name, storePath: built.path, hash: built.info.hash, cached: false, size: built.info.size, out: req.out, summary, explanation, warnings: [...built.warnings, ...warnings] };
}
