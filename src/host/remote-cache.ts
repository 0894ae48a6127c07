// A registry as the shared store of a fleet (docs/oci.md): a cooked tree is one ordinary
// OCI image tagged `cake-<store key>`, pushed after a cook and pulled instead of cooking.
// A pull trusts nothing: the manifest comes by digest, every blob is checked against its
// digest and the layer against the config's diff_id (the puller of sources/registry.ts),
// and the tree materialised into the store is hashed again and must be the hash the entry
// names (and the recipe's pin, when there is one). The cache is an accelerator: every
// failure of the registry becomes one warning and a local build, unless `--require-cache`.
import * as fs from 'node:fs';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { materialise } from '../cook/materialise.js';
import { ANNOTATION, BlobDir, MEDIA, cookCreatedBy, cookTag, makeImage } from '../cook/oci-image.js';
import { diskUsage, sizeSummary } from '../cook/size-summary.js';
import { type CookInputs, type StoreInfo, commit, cookPath, newBuildDir, storeName } from '../cook/store.js';
import { canonicalJson } from '../util/canonical-json.js';
import { credentialsFor } from '../sources/docker-config.js';
import { RegistryError } from '../sources/registry-auth.js';
import { pullImage } from '../sources/registry.js';
import { RemoteRepo, parseRepoRef } from '../sources/registry-repo.js';
import { hashTree } from '../tree/hash.js';
import { CakeError, CorruptInputError } from '../util/errors.js';
import { removeTree } from '../util/remove-tree.js';
import { VERSION } from '../version.js';
import { cacheDir } from './cache.js';
import { loadCookedDir } from './cooked-dir.js';
import { gzipCompressor } from './layer-compress.js';
import { removeOnExit } from './lifecycle.js';
import { numberFrom, shown } from '../util/untrusted.js';

export interface RemoteCache {
  repo: RemoteRepo;
  /** Push what is built (false: a read-only runner, `--cache-push=false`). */
  push: boolean;
  /** A registry failure fails the build (`--require-cache`) instead of a warning. */
  require: boolean;
  /** The digest-addressed blob cache pulls go through. */
  blobCache: string;
  /** Turned off for the rest of the run after a failure said once: pulls, pushes, or both (a registry that is down). */
  off: { pull?: boolean; push?: boolean };
}

export interface CacheOptions {
  push?: boolean;
  require?: boolean;
  log?: (line: string) => void;
  fetch?: typeof fetch;
}

/**
 * The cache `REGISTRY/REPO` (a usage error when malformed), with the user's credentials for
 * it from the docker config; an unreadable config is the cache's failure like any other.
 */
export function openCache(spec: string, o: CacheOptions = {}): { cache: RemoteCache; warning?: string } {
  const ref = parseRepoRef(spec);
  let credentials = null;
  let warning: string | undefined;
  try {
    credentials = credentialsFor(ref.registry);
  } catch (e) {
    if (o.require || !(e instanceof CakeError)) throw e;
    warning = `${e.message}; the cache is used without credentials`;
  }
  const repo = new RemoteRepo(ref, { push: o.push !== false, credentials, log: o.log, fetch: o.fetch });
  return { cache: { repo, push: o.push !== false, require: !!o.require, blobCache: cacheDir('blobs'), off: {} }, warning };
}

/**
 * Runs one cache operation (a pull or a push): its failure is a warning (returned, the
 * caller builds locally), or with `require` the error itself. A registry that fails is
 * said once: one that cannot be reached, answers 5xx or refuses a pull is not asked again
 * this run; one that refuses a push only gets no more pushes. What fails a check
 * (tampering, a bug) is refused loudly each time. Bugs are never swallowed.
 */
export async function tolerate<T>(cache: RemoteCache, kind: 'pull' | 'push', what: string, f: () => Promise<T>): Promise<{ value: T | null; warning?: string }> {
  if (cache.off[kind]) return { value: null };
  try {
    return { value: await f() };
  } catch (e) {
    if (!(e instanceof CakeError) || cache.require) throw e;
    if (e instanceof CorruptInputError) return { value: null, warning: `cache ${cache.repo.ref.label}: ${what}: refused what the registry gave (tampering, or a bug), building locally: ${e.message}` };
    // Down, broken (5xx) or refusing reads: nothing more is asked. Refusing only a push (read-only credentials): pulls go on.
    const status = e instanceof RegistryError ? (e.data.status as number | undefined) : undefined;
    const all = kind === 'pull' || status === undefined || status >= 500;
    if (all) cache.off = { pull: true, push: true };
    else cache.off.push = true;
    const rest = all ? `${kind === 'pull' ? 'building locally; ' : ''}the cache is not used again this run` : 'no more pushes this run';
    return { value: null, warning: `cache ${cache.repo.ref.label}: ${what} failed (${rest}): ${e.message}` };
  }
}

const TREE_HASH = /^sha256:[0-9a-f]{64}$/;

function parseInputs(v: unknown): CookInputs {
  try {
    const j = typeof v === 'string' && v.length < 1 << 20 ? (JSON.parse(v) as unknown) : null;
    return j !== null && typeof j === 'object' && !Array.isArray(j) ? (j as CookInputs) : {};
  } catch {
    return {};
  }
}

/**
 * Pulls `cake-<key>` into the store as the entry of `name`, or null when the registry has
 * no such tag. `pinned` is the recipe's sha256: an entry for another tree is refused.
 */
export async function pullCooked(cache: RemoteCache, store: string, key: string, name: string | null, inputs: CookInputs | null, pinned?: string, log?: (l: string) => void): Promise<{ path: string; info: StoreInfo } | null> {
  const tag = cookTag(key);
  const m = await cache.repo.getManifest(tag);
  if (!m) return null;
  const where = `${cache.repo.ref.label}: ${tag}`;
  const ann = (m.json.annotations ?? {}) as Record<string, unknown>;
  if (ann[ANNOTATION.key] !== key) throw new CorruptInputError(where, `the entry is for the key ${shown(ann[ANNOTATION.key])}, not the one it is tagged with`);
  const tree = ann[ANNOTATION.tree];
  if (typeof tree !== 'string' || !TREE_HASH.test(tree)) throw new CorruptInputError(where, 'the entry names no tree hash');
  if (pinned && tree !== pinned) throw new CorruptInputError(where, `the entry's tree is ${tree}, the recipe pins ${pinned}`);
  const epoch = numberFrom(ann[ANNOTATION.epoch]);
  // `store pull` knows only the key: the name and inputs come from the entry (untrusted: the name is made safe, the inputs only shown).
  name ??= storeName(typeof ann[ANNOTATION.name] === 'string' ? (ann[ANNOTATION.name] as string) : 'pulled');
  inputs ??= parseInputs(ann[ANNOTATION.inputs]);
  log?.(`pulling ${tag} from ${cache.repo.ref.label}`);
  const loaded = await pullImage(cache.repo.pinned(m.digest), { blobCache: cache.blobCache, credentials: cache.repo.credentials, onTemp: removeOnExit, log });
  const dir = newBuildDir(store, name);
  const forget = removeOnExit(dir);
  let ok = false;
  try {
    try {
      await materialise(loaded, dir);
    } finally {
      await loaded.content.close();
    }
    const back = await loadCookedDir(dir);
    let hash: string;
    try {
      hash = await hashTree(back.tree, back.content, () => createHash('sha256'));
    } finally {
      await back.content.close();
    }
    if (hash !== tree) throw new CorruptInputError(where, `the pulled tree's hash is ${hash}, the entry says ${tree}`);
    const info: StoreInfo = {
      name, key, hash, inputs, created: new Date().toISOString(), size: diskUsage(back.tree), summary: sizeSummary(back.tree),
      ...(Number.isSafeInteger(epoch) ? { epoch } : {}),
    };
    const path = commit(store, dir, info);
    ok = true;
    return { path, info };
  } finally {
    if (!ok) removeTree(dir);
    forget();
  }
}

/**
 * Pushes a store entry as `cake-<key>` (blobs first, then the manifest), then reads the
 * tag back: another digest there means another runner pushed a different tree for the
 * same key (a cook that is not reproducible), which is said as a warning.
 */
export async function pushCooked(cache: RemoteCache, store: string, entry: { path: string; info: StoreInfo }, log?: (l: string) => void): Promise<string | undefined> {
  const { info } = entry;
  const tag = cookTag(info.key);
  const work = newBuildDir(store, `push-${info.name}`);
  const forget = removeOnExit(work);
  try {
    const loaded = await loadCookedDir(entry.path);
    const blobs = new BlobDir(work);
    let image;
    try {
      image = await makeImage(loaded.tree, loaded.content, blobs, {
        epoch: info.epoch, path: cookPath(info.inputs), createdBy: cookCreatedBy(info.name),
        compression: 'gzip', compress: gzipCompressor(),
        annotations: {
          [ANNOTATION.key]: info.key, [ANNOTATION.tree]: info.hash, [ANNOTATION.name]: info.name, [ANNOTATION.version]: VERSION,
          [ANNOTATION.inputs]: canonicalJson(info.inputs),
          ...(info.epoch !== undefined ? { [ANNOTATION.epoch]: String(info.epoch) } : {}),
        },
      });
    } finally {
      await loaded.content.close();
    }
    log?.(`pushing ${tag} to ${cache.repo.ref.label}`);
    await Promise.all([image.layer, image.config].map((d) => cache.repo.pushBlob(d.digest, () => createReadStream(blobs.path(d.digest), { highWaterMark: 1 << 20 }))));
    await cache.repo.putManifest(tag, fs.readFileSync(blobs.path(image.manifest.digest)), MEDIA.manifest);
    const back = await cache.repo.getManifest(tag);
    if (back && back.digest !== image.manifest.digest) {
      return `cache ${cache.repo.ref.label}: ${tag} now holds ${back.digest}, not the ${image.manifest.digest} pushed: another runner pushed a different tree for the same inputs (the cook of ${info.name} is not reproducible)`;
    }
    return undefined;
  } finally {
    removeTree(work);
    forget();
  }
}

/** Whether the registry has `cake-<key>` (a local hit is pushed when it has not). */
export async function hasCooked(cache: RemoteCache, key: string): Promise<boolean> {
  const res = await cache.repo.session.request('HEAD', `${cache.repo.base}/manifests/${cookTag(key)}`, { headers: { accept: MEDIA.manifest }, ok: (s) => s === 200 || s === 404 });
  await res.body?.cancel().catch(() => {});
  return res.status === 200;
}
