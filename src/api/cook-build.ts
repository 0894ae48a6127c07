// The steps of a cook that runs (api/cook.ts decides whether one must): in a fresh build
// directory of the store, the source unpacked, prepare on the host, the bootstrap script
// under proot, PATH in /etc/profile, --contents copied in, cleanup on the host, the rescan
// and its hash, then the directory committed to the store whole. The order is the
// original recipe's installPhase. Loaded only when something is cooked.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { type SpecialEntry, copyContents, placeSpecials } from '../cook/contents.js';
import { loadCookedDir } from '../host/cooked-dir.js';
import { resolveInRoot } from '../cook/in-root.js';
import { materialise, writeTable } from '../cook/materialise.js';
import { ROOTFS_NAME } from '../sources/meta-table.js';
import type { LoadedTree } from '../sources/directory.js';
import { probeProot, prootTool, runScript } from '../host/proot.js';
import { diskUsage, sizeSummary } from '../cook/size-summary.js';
import { type CookInputs, type StoreInfo, commit, newBuildDir } from '../cook/store.js';
import { removeTree } from '../util/remove-tree.js';
import { loadSource } from '../host/load-source.js';
import { hashTree } from '../tree/hash.js';
import { CakeError } from '../util/errors.js';
import { removeOnExit, spawnTracked } from '../host/lifecycle.js';
import { faultPoint } from '../host/fault.js';
import type { DirNode, Timestamp } from '../tree/node.js';
import { clampTimes, forEachNode } from '../tree/transforms.js';
import { checkPathEntry, normalizeHash } from '../cook/cook-options.js';
import type { CookRequest } from './cook-request.js';

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
export async function build(req: CookRequest, name: string, key: string, inputs: CookInputs, store: string): Promise<{ path: string; info: StoreInfo; warnings: string[] }> {
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

