// `cake-img store ls|gc|push|pull` as library calls: list the store, remove what a user no
// longer needs (old entries, everything a recipe does not pin, builds of dead processes),
// and move entries to and from a registry by hand (host/remote-cache.ts does the work).
import { type StoreEntry, type StoreInfo, gc, listEntries } from '../cook/store.js';
import { storeDir } from '../host/cache.js';
import { ANNOTATION, cookTag } from '../cook/oci-image.js';
import { openCache, pullCooked, pushCooked } from '../host/remote-cache.js';
import { CakeError, InvalidOptionError } from '../util/errors.js';

export function storeList(): StoreEntry[] {
  return listEntries(storeDir());
}

export interface StoreGcRequest {
  /** Remove entries not used for this long (ms). */
  olderThanMs?: number;
  /** Keys or output hashes never to remove (a recipe's pins: recipe/graph.ts pinnedHashes). */
  keep?: string[];
  /** Remove every entry not kept. */
  all?: boolean;
  dryRun?: boolean;
}

export interface StoreGcResult {
  removed: StoreEntry[];
  /** Bytes freed (or that would be). */
  freed: number;
  /** Build directories of processes that are gone. */
  stale: string[];
}

export function storeGc(req: StoreGcRequest): StoreGcResult {
  return gc(storeDir(), { olderThanMs: req.olderThanMs, keep: new Set(req.keep), all: req.all, dryRun: req.dryRun });
}

// --- the registry as a store, by hand (`store push|pull|ls --remote`) ----------------------

/** The entry a user names: its key, `KEY-NAME` (as `store ls` prints it), or its name (the newest of that name). */
export function findEntry(what: string): StoreEntry {
  const all = listEntries(storeDir());
  const e = all.find((x) => x.info.key === what || `${x.info.key}-${x.info.name}` === what) ?? all.find((x) => x.info.name === what);
  if (!e) throw new InvalidOptionError('store push', `no entry ${JSON.stringify(what)} in the store (cake-img store ls lists them)`);
  return e;
}

export async function storePush(what: string, repo: string, log?: (l: string) => void): Promise<{ entry: StoreEntry; tag: string; warning?: string }> {
  const entry = findEntry(what);
  const { cache } = openCache(repo, { push: true, require: true, log });
  const warning = await pushCooked(cache, storeDir(), entry, log);
  return { entry, tag: cookTag(entry.info.key), warning };
}

/** Pulls `KEY` (or `cake-KEY`) into the store; the entry's name comes from the registry. */
export async function storePull(what: string, repo: string, log?: (l: string) => void): Promise<{ path: string; info: StoreInfo }> {
  const key = what.replace(/^cake-/, '');
  if (!/^[0-9a-f]{32}$/.test(key)) throw new InvalidOptionError('store pull', `${JSON.stringify(what)} is not a store key (32 hex digits, as store ls and store ls --remote print it)`);
  const { cache } = openCache(repo, { push: false, require: true, log });
  const got = await pullCooked(cache, storeDir(), key, null, null, undefined, log);
  if (!got) throw new CakeError('ENOTFOUND', 'source', `${repo}: has no ${cookTag(key)}`);
  return got;
}

export interface RemoteEntry {
  tag: string;
  kind: 'cook' | 'bake';
  key: string;
  name?: string;
  /** The tree hash of a cook, the image sha256 of a bake. */
  sha256?: string;
  digest?: string;
}

/** The cache entries a registry repository holds (its `cake-*` and `bake-*` tags, with what their manifests say). */
export async function storeRemoteList(repo: string): Promise<RemoteEntry[]> {
  const { cache } = openCache(repo, { push: false, require: true });
  const out: RemoteEntry[] = [];
  for (const tag of (await cache.repo.tags()).sort()) {
    const m = /^(cake|bake)-([0-9a-f]+)$/.exec(tag);
    if (!m) continue;
    const e: RemoteEntry = { tag, kind: m[1] === 'cake' ? 'cook' : 'bake', key: m[2]! };
    const man = await cache.repo.getManifest(tag);
    const ann = (man?.json.annotations ?? {}) as Record<string, unknown>;
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v.slice(0, 200) : undefined);
    out.push({ ...e, name: str(ann[ANNOTATION.name]), sha256: str(ann[e.kind === 'cook' ? ANNOTATION.tree : ANNOTATION.imageSha256]), digest: man?.digest });
  }
  return out;
}
