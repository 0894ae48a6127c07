// `cake-img store ls|gc` as library calls: list the store, and remove what a user no
// longer needs (old entries, everything a recipe does not pin, builds of dead processes).
import { type StoreEntry, gc, listEntries } from '../cook/store.js';
import { storeDir } from '../host/cache.js';

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
