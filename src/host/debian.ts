// Debian packages fetched rootless: `apt-get download` (any user with the machine's apt
// lists) into the cache, unpacked with `dpkg-deb -x` into a temporary directory and
// renamed into place, so a half-unpacked tree is never used and two runs can race. Host
// tools (host-tools.ts) are fetched the same way.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CakeError, ToolError } from '../util/errors.js';
import { sha256File } from '../util/sha256-file.js';
import { ToolExit, runTool } from './run-tool.js';
import { removeOnExit } from './lifecycle.js';
import { aptAnswer } from './apt-memo.js';

const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
const DONE = '.done';

async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  try {
    return (await runTool(cmd, args, { cwd, env: { ...process.env, PATH }, maxBuffer: 1 << 24 })).stdout;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CakeError('ENOTOOL', 'tool', `${cmd} not found: fetching Debian packages needs a Debian-family host with apt`);
    if (e instanceof ToolExit) throw new ToolError(e.command, e.status, e.stderr || e.message);
    throw e;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Whether `root` holds a whole unpacked tree (its `.done` marker). */
export function isUnpacked(root: string): boolean {
  return isFile(path.join(root, DONE));
}

/**
 * `apt-get download PACKAGES` into a fresh directory under `parent`; `use` gets the .deb
 * files, and the directory goes when it is done. The one download routine: packages,
 * kernels and host tools all come this way.
 */
export async function withDownloaded<T>(packages: string[], parent: string, use: (debs: string[]) => Promise<T>): Promise<T> {
  fs.mkdirSync(parent, { recursive: true });
  const dl = fs.mkdtempSync(path.join(parent, '.download-'));
  const forgetDownload = removeOnExit(dl);
  try {
    await run('apt-get', ['download', ...packages], dl);
    const debs = fs.readdirSync(dl).filter((f) => f.endsWith('.deb'));
    if (!debs.length) throw new CakeError('ENOPKG', 'tool', `apt-get download ${packages.join(' ')} gave no package`);
    return await use(debs.map((f) => path.join(dl, f)));
  } finally {
    fs.rmSync(dl, { recursive: true, force: true });
    forgetDownload();
  }
}

/**
 * Unpacks `debs` into `root` once; `.done` inside (holding `done`) marks a whole tree.
 * Complete trees are only ever renamed into place and never deleted, so concurrent runs
 * (two test workers, two builds) each either use a finished tree or put theirs there.
 */
export async function unpackDebs(debs: string[], root: string, done: string, prepare?: (tree: string) => Promise<void> | void): Promise<string> {
  if (isUnpacked(root)) return root;
  fs.mkdirSync(path.dirname(root), { recursive: true });
  const work = fs.mkdtempSync(path.join(path.dirname(root), `.${path.basename(root)}-`));
  const forgetWork = removeOnExit(work);
  try {
    const tree = path.join(work, 'root');
    for (const deb of debs) await run('dpkg-deb', ['-x', deb, tree]);
    await prepare?.(tree);
    fs.writeFileSync(path.join(tree, DONE), `${done}\n`);
    // A leftover without .done is from an interrupted run of an older layout: move it aside.
    if (fs.existsSync(root) && !isUnpacked(root)) fs.renameSync(root, path.join(work, 'stale'));
    try {
      fs.renameSync(tree, root);
    } catch (e) {
      if (!isUnpacked(root)) throw e; // another run finished first: use theirs
    }
    return root;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    forgetWork();
  }
}

/** Unpacks one .deb into `root` once (see unpackDebs); `.done` names the package file. */
export function unpackDeb(deb: string, root: string, prepare?: (tree: string) => Promise<void> | void): Promise<string> {
  return unpackDebs([deb], root, path.basename(deb), prepare);
}

/** `apt-get download NAME` and unpack into `cache/NAME`; returns the unpacked root. */
export async function debianPackage(name: string, cache: string, prepare?: (tree: string) => Promise<void> | void): Promise<string> {
  const root = path.join(cache, name);
  if (isUnpacked(root)) return root;
  return withDownloaded([name], cache, ([deb]) => unpackDeb(deb!, root, prepare));
}

/** The package a meta package (linux-image-amd64) depends on, at its candidate version. */
export async function resolveDependency(meta: string, prefix: string): Promise<string> {
  return aptAnswer(`depends ${meta} ${prefix}`, async () => {
    const out = await run('apt-cache', ['depends', '--no-recommends', '--no-suggests', meta]);
    const m = new RegExp(`Depends: (${prefix}\\S+)`).exec(out);
    if (!m) throw new CakeError('ENOPKG', 'tool', `apt-cache depends ${meta}: no ${prefix}* package (run apt-get update?)`);
    return m[1]!;
  });
}

/** The version line `.done` recorded for an unpacked tree. */
export function unpackedFrom(root: string): string {
  return fs.readFileSync(path.join(root, DONE), 'utf8').trim();
}

export interface DebRef {
  /** The file name apt gives it (name_version_arch.deb). */
  file: string;
  /** sha256 hex from the apt lists. */
  sha256: string;
}

/** What `apt-get download NAME` would fetch, from the apt lists alone (no download). */
export async function debRef(name: string): Promise<DebRef> {
  if (!/^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?$/.test(name)) throw new CakeError('EINVALIDOPTION', 'options', `deb:${name}: not a Debian package name`);
  return aptAnswer(`uris ${name}`, async () => {
    const out = await run('apt-get', ['download', '--print-uris', name]);
    const m = /^'[^']+' (\S+\.deb) \d+ SHA256:([0-9a-f]{64})$/m.exec(out);
    if (!m) throw new CakeError('ENOPKG', 'tool', `apt-get download --print-uris ${name}: no package with a SHA256 (run apt-get update?)`);
    return { file: m[1]!, sha256: m[2]! };
  });
}

/** The .deb file for package NAME in `cache` (downloaded rootless once, checked against the apt lists' SHA256). */
export async function downloadDeb(name: string, cache: string): Promise<{ path: string; ref: DebRef }> {
  const ref = await debRef(name);
  const dest = path.join(cache, ref.file);
  if (isFile(dest) && sha256File(dest) === `sha256:${ref.sha256}`) return { path: dest, ref };
  return withDownloaded([name], cache, async ([got]) => {
    const actual = sha256File(got!);
    if (actual !== `sha256:${ref.sha256}`) throw new CakeError('ECORRUPT', 'source', `deb:${name}: downloaded ${path.basename(got!)} has ${actual}, the apt lists say sha256:${ref.sha256}`);
    fs.renameSync(got!, dest);
    return { path: dest, ref };
  });
}
