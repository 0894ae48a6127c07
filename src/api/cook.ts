// `cake-img cook`: a source tree → (prepare on the host) → the bootstrap script under
// proot → PATH in /etc/profile → --contents copied in → (cleanup on the host) → rescan →
// a store entry, checked against --sha256 like a Nix fixed-output derivation. The order
// is the original recipe's installPhase. Same inputs never cook twice. What -o writes is
// in cook-output.ts.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { storeDir } from '../host/cache.js';
import { hashHostDir, sourceIdentity } from '../host/source-id.js';
import { sha256File } from '../util/sha256-file.js';
import { type CookInputs, listEntries, lookup, storeName } from '../cook/store.js';
import { InvalidOptionError, quote } from '../util/errors.js';
import { unreadable } from '../host/load-source.js';
import { VERSION } from '../version.js';
import { checkPathEntry, normalizeHash } from '../cook/cook-options.js';
import { parseImageTag } from '../sources/image-names.js';

export { checkPathEntry, normalizeHash };
export type { CookRequest, CookResult } from './cook-request.js';
import type { CookRequest, CookResult } from './cook-request.js';



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

export async function cook(req: CookRequest): Promise<CookResult> {
  if (!req.src) throw new InvalidOptionError('--src', 'a source is required');
  if (req.sha256) normalizeHash(req.sha256);
  for (const d of req.path ?? []) checkPathEntry(d);
  for (const c of req.contents ?? []) checkContentsPath(c);
  if (req.out !== undefined) (await import('./cook-output.js')).checkCookOutput(req.out);
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
  // The registry cache's code loads only when there is a cache.
  const remote = req.cache ? await import('../host/remote-cache.js') : undefined;
  const note = (w: string | undefined): void => void (w && warnings.push(w));
  if (hit) {
    if (req.explain) explanation = `${name}: cached in ${hit.path} (same inputs)`;
    // A result the registry lacks (made before the cache was used) is pushed now.
    const c = req.cache;
    if (c?.push && remote) note((await remote.tolerate(c, 'push', `pushing ${name}`, async () => ((await remote.hasCooked(c, key)) ? undefined : remote.pushCooked(c, store, hit!, req.log)))).warning);
    if (req.out) await (await import('./cook-output.js')).writeOut(hit.path, req.out, req);
    const summary = hit.info.summary ?? [];
    return { name, storePath: hit.path, hash: hit.info.hash, cached: true, size: hit.info.size, out: req.out, summary, explanation, warnings };
  }
  if (req.cache && remote && !req.rebuild) {
    const c = req.cache;
    const got = await remote.tolerate(c, 'pull', `pulling ${name}`, () => remote.pullCooked(c, store, key, name, inputs, pinned, req.log));
    note(got.warning);
    if (got.value) {
      if (req.explain) explanation = `${name}: pulled from ${c.repo.ref.label} (same inputs)`;
      if (req.out) await (await import('./cook-output.js')).writeOut(got.value.path, req.out, req);
      const { info } = got.value;
      return { name, storePath: got.value.path, hash: info.hash, cached: false, pulled: true, size: info.size, out: req.out, summary: info.summary ?? [], explanation, warnings };
    }
  }
  if (req.explain && !explanation) explanation = req.rebuild ? `${name}: --rebuild` : (await import('../cook/explain.js')).explainMiss(name, inputs, listEntries(store));
  // The build steps load only when there is something to cook.
  const { build } = await import('./cook-build.js');
  const built = await build(req, name, key, inputs, store);
  const c = req.cache;
  if (c?.push && remote) note((await remote.tolerate(c, 'push', `pushing ${name}`, () => remote.pushCooked(c, store, built, req.log))).warning);
  if (req.out) await (await import('./cook-output.js')).writeOut(built.path, req.out, req);
  const summary = built.info.summary ?? [];
  return { name, storePath: built.path, hash: built.info.hash, cached: false, size: built.info.size, out: req.out, summary, explanation, warnings: [...built.warnings, ...warnings] };
}
