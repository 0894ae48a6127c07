// Where cake-img keeps downloads and unpacked packages: $XDG_CACHE_HOME/cake-img, else
// ~/.cache/cake-img. An unprivileged user without a home (uid 65534 in CI) sets
// XDG_CACHE_HOME; without either, cake-img says so rather than writing somewhere odd.
// A relative XDG_CACHE_HOME is ignored, as the XDG Base Directory spec says: it would
// mean a different cache in every working directory.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CakeError, quote } from '../util/errors.js';

/** The cache's base directory (before `cake-img/`). */
export function cacheBase(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return xdg;
  const home = os.homedir();
  return home && path.isAbsolute(home) ? path.join(home, '.cache') : '';
}

export function cacheDir(sub = ''): string {
  const base = cacheBase();
  if (!base) throw new CakeError('ECACHE', 'write', 'no cache directory: set XDG_CACHE_HOME (an absolute path) or HOME');
  const dir = path.join(base, 'cake-img', sub);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CakeError('ECACHE', 'write', `cannot create the cache ${quote(dir)} (${(e as NodeJS.ErrnoException).code}): set XDG_CACHE_HOME to a writable directory`);
  }
  return dir;
}

/** The store of cooked trees (cook/store.ts works on whatever directory it is given). */
export function storeDir(): string {
  return cacheDir('store');
}
