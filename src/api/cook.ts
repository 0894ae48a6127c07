// `cake-img cook`: a source tree → (prepare on the host) → the bootstrap script under
// proot → PATH in /etc/profile → --contents copied in → (cleanup on the host) → rescan →
// a store entry, checked against --sha256 like a Nix fixed-output derivation. The order
// is the original recipe's installPhase. Same inputs never cook twice.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { createGzip } from 'node:zlib';
import { type SpecialEntry, copyContents, placeSpecials } from '../cook/contents.js';
import { isCookedDir, loadCookedDir } from '../host/cooked-dir.js';
import { explainMiss } from '../cook/explain.js';
import { resolveInRoot } from '../cook/in-root.js';
import { materialise, writeTable } from '../cook/materialise.js';
import { ROOTFS_NAME } from '../sources/meta-table.js';
import { storeDir } from '../host/cache.js';
import { probeProot, prootTool, runScript } from '../host/proot.js';
import { diskUsage, sizeSummary } from '../cook/size-summary.js';
import { hashHostDir, sourceIdentity } from '../host/source-id.js';
import { sha256File } from '../util/sha256-file.js';
import { type CookInputs, INFO_NAME, type StoreInfo, commit, listEntries, lookup, newBuildDir, storeName } from '../cook/store.js';
import { removeTree } from '../util/remove-tree.js';
import { writeTar } from '../cook/tar-writer.js';
import { loadSource } from '../host/load-source.js';
import { hashTree } from '../tree/hash.js';
import { CakeError, InvalidOptionError, OutputError, quote } from '../util/errors.js';
import { removeOnExit, spawnTracked } from '../host/lifecycle.js';
import { faultPoint } from '../host/fault.js';
import { checkOutputPath, writeFault, writeOutput } from '../host/output-file.js';
import { NodeFileSink } from '../host/node-file-sink.js';
import { unreadable } from '../host/load-source.js';
import type { DirNode, Timestamp } from '../tree/node.js';
import { clampTimes, forEachNode } from '../tree/transforms.js';
import { VERSION } from '../version.js';

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
  /** Also write the result here: a directory, or a .tar / .tar.gz. */
  out?: string;
  platform?: string;
  lenient?: boolean;
  /** SOURCE_DATE_EPOCH: every time in the cooked tree is clamped to it (default: the newest time among the inputs). */
  sourceDateEpoch?: number;
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

async function build(req: CookRequest, name: string, key: string, inputs: CookInputs, store: string): Promise<{ path: string; info: StoreInfo; warnings: string[] }> {
  const log = req.log;
  const dir = newBuildDir(store, name);
  const forget = removeOnExit(dir); // a signal or a crash must not leave it in the store
  const rootfs = nodePath.join(dir, ROOTFS_NAME);
  let ok = false;
  let epoch: Timestamp | undefined = req.sourceDateEpoch === undefined ? undefined : { sec: req.sourceDateEpoch, nsec: 0 };
  const specials: SpecialEntry[] = [];
  try {
    // Before any work: a missing proot or a ptrace ban should cost nothing.
    const proot = req.script ? await prootTool(log) : null;
    if (proot) probeProot(proot);
    const phase = req.onProgress ?? (() => {});
    log?.(`unpacking ${req.src}`);
    phase('reading the source');
    const loaded = await loadSource(req.src, { platform: req.platform, lenient: req.lenient });
    try {
      epoch ??= newestMtime(loaded.tree.root);
      faultPoint('loaded');
      await materialise(loaded, dir, (files, bytes) => phase('unpacking', files, bytes));
    } finally {
      await loaded.content.close();
    }
    if (req.prepare) {
      log?.('running prepare');
      phase('prepare');
      await hostShell('prepare', req.prepare, dir, log);
    }
    if (req.script) {
      log?.('running the script under proot');
      phase('running the script');
      await runScript(rootfs, req.script, proot!, { onLine: (l) => (faultPoint('script'), log?.(l)), spawn: spawnTracked });
    }
    if (req.path?.length) appendPath(rootfs, req.path);
    if (req.contents?.length) phase('adding contents');
    for (const c of req.contents ?? []) {
      const st = copyContents(c, rootfs);
      specials.push(...st.specials);
      const later = st.newest.sec > epoch!.sec || (st.newest.sec === epoch!.sec && st.newest.nsec > epoch!.nsec);
      if (req.sourceDateEpoch === undefined && later) epoch = st.newest;
      log?.(`added ${c} (${st.files} files)`);
    }
    if (req.cleanup) {
      log?.('running cleanup');
      phase('cleanup');
      await hostShell('cleanup', req.cleanup, dir, log);
    }
    phase('scanning and hashing');
    const final = await loadCookedDir(dir);
    placeSpecials(final.tree, specials);
    // Reproducible times: whatever the script made carries the wall clock; every time is
    // clamped to SOURCE_DATE_EPOCH, else to the newest time among the inputs.
    clampTimes(final.tree.root, epoch!);
    let hash: string;
    try {
      hash = await hashTree(final.tree, final.content, () => createHash('sha256'));
    } finally {
      await final.content.close();
    }
    if (req.sha256 && normalizeHash(req.sha256) !== hash) {
      throw new CakeError('EHASH', 'tool', `hash mismatch in cooked ${name}: expected ${normalizeHash(req.sha256)}, got ${hash}; nothing stored`, { expected: normalizeHash(req.sha256), actual: hash });
    }
    writeTable(final.tree, dir);
    const summary = sizeSummary(final.tree);
    const info: StoreInfo = { name, key, hash, inputs, created: new Date().toISOString(), size: diskUsage(final.tree), summary, epoch: epoch!.sec };
    const path = commit(store, dir, info);
    forget();
    ok = true;
    return { path, info, warnings: [...loaded.warnings, ...final.warnings] };
  } finally {
    if (!ok) {
      if (req.keepFailed && fs.existsSync(dir)) {
        forget();
        log?.(`kept the failed build in ${dir}`);
      } else {
        removeTree(dir);
        forget();
      }
    }
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

/** Writes a store entry to `out`: a directory (a cooked directory) or a .tar / .tar.gz. */
async function writeOut(entry: string, out: string): Promise<void> {
  const isTar = /\.(tar|tar\.gz|tgz)$/.test(out);
  if (!isTar && /\.(tar\.(xz|zst|bz2)|txz)$/.test(out)) throw new InvalidOptionError('-o', `${quote(out)}: cook writes .tar and .tar.gz; use a directory or one of those`);
  const loaded = await loadCookedDir(entry);
  try {
    if (isTar) {
      await writeOutput(out, { option: '-o' }, async (file) => {
        const sink = new NodeFileSink(file.fd);
        if (/\.(tar\.gz|tgz)$/.test(out)) await gzipTo(sink, (s) => writeTar(loaded.tree, loaded.content, s));
        else await writeTar(loaded.tree, loaded.content, sink.write);
        sink.close();
      });
    } else {
      await writeOutDir(entry, loaded, out);
    }
  } finally {
    await loaded.content.close();
  }
}

/** `-o DIR`: a fresh cooked directory renamed into place (replacing only an empty or cooked directory). */
async function writeOutDir(entry: string, loaded: Awaited<ReturnType<typeof loadCookedDir>>, out: string): Promise<void> {
  if (out === '' || out === '-') throw new InvalidOptionError('-o', out === '' ? 'the output name is empty' : 'cannot write a tree to standard output; name a directory or a .tar');
  const abs = nodePath.resolve(out);
  const parent = nodePath.dirname(abs);
  let pst: fs.Stats;
  try {
    pst = fs.statSync(parent);
  } catch {
    throw new OutputError(quote(out), `the directory ${quote(parent)} does not exist; create it first`);
  }
  if (!pst.isDirectory()) throw new OutputError(quote(out), `${quote(parent)} is not a directory`);
  const existing = (() => {
    try {
      return fs.lstatSync(abs);
    } catch {
      return null;
    }
  })();
  if (existing && !existing.isDirectory()) {
    throw new OutputError(quote(out), `exists and is ${existing.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; refusing to replace it (name a new directory, or a .tar)`);
  }
  if (existing && fs.readdirSync(abs).length !== 0 && !isCookedDir(abs)) {
    throw new OutputError(quote(out), 'exists and is not a cooked directory; refusing to replace it');
  }
  let tmp: string;
  try {
    tmp = fs.mkdtempSync(nodePath.join(parent, `.${nodePath.basename(abs)}.cake-`));
  } catch (e) {
    throw writeFault(out, e, 'create a directory beside it');
  }
  const forget = removeOnExit(tmp);
  try {
    const dir = nodePath.join(tmp, 'out');
    fs.mkdirSync(dir);
    await materialise(loaded, dir);
    fs.copyFileSync(nodePath.join(entry, INFO_NAME), nodePath.join(dir, INFO_NAME));
    if (existing) fs.renameSync(abs, nodePath.join(tmp, 'old'));
    fs.renameSync(dir, abs);
  } catch (e) {
    throw writeFault(out, e);
  } finally {
    removeTree(tmp);
    forget();
  }
}

/** gzip (level 6, Node's zlib: a cook's tar.gz is a convenience, not a reproducible artefact like the initramfs) into `sink`. */
async function gzipTo(sink: NodeFileSink, produce: (sink: (chunk: Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  const gz = createGzip({ level: 6 });
  const done = new Promise<void>((resolve, reject) => {
    gz.on('data', (d: Buffer) => sink.write(d));
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  await produce(async (chunk) => {
    if (!gz.write(Buffer.from(chunk))) await new Promise((r) => gz.once('drain', r));
  });
  gz.end();
  await done;
}

/** Refuses an output that cannot be written, before any work. */
function checkCookOutput(out: string): void {
  if (/\.(tar|tar\.gz|tgz)$/.test(out)) checkOutputPath(out, { option: '-o' });
  else if (out === '' || out === '-') throw new InvalidOptionError('-o', out === '' ? 'the output name is empty' : 'cannot write a tree to standard output; name a directory or a .tar');
}

export async function cook(req: CookRequest): Promise<CookResult> {
  if (!req.src) throw new InvalidOptionError('--src', 'a source is required');
  if (req.sha256) normalizeHash(req.sha256);
  for (const d of req.path ?? []) checkPathEntry(d);
  for (const c of req.contents ?? []) checkContentsPath(c);
  if (req.out !== undefined) checkCookOutput(req.out);
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
  if (hit) {
    if (req.explain) explanation = `${name}: cached in ${hit.path} (same inputs)`;
    if (req.out) await writeOut(hit.path, req.out);
    const summary = hit.info.summary ?? [];
    return { name, storePath: hit.path, hash: hit.info.hash, cached: true, size: hit.info.size, out: req.out, summary, explanation, warnings: [] };
  }
  if (req.explain && !explanation) explanation = req.rebuild ? `${name}: --rebuild` : explainMiss(name, inputs, listEntries(store));
  const built = await build(req, name, key, inputs, store);
  if (req.out) await writeOut(built.path, req.out);
  const summary = built.info.summary ?? [];
  return { name, storePath: built.path, hash: built.info.hash, cached: false, size: built.info.size, out: req.out, summary, explanation, warnings: built.warnings };
}
