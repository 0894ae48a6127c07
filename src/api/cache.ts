// Where cake-img keeps downloads and unpacked packages: $XDG_CACHE_HOME/cake-img, else
// ~/.cache/cake-img. An unprivileged user without a home (uid 65534 in CI) sets
// XDG_CACHE_HOME; without either, cake-img says so rather than writing somewhere odd.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidOptionError } from '../util/errors.js';

export function cacheDir(sub = ''): string {
  const base = process.env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : '');
  if (!base) throw new InvalidOptionError('XDG_CACHE_HOME', 'no cache directory: set XDG_CACHE_HOME or HOME');
  const dir = path.join(base, 'cake-img', sub);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InvalidOptionError('XDG_CACHE_HOME', `cannot create the cache ${dir} (${(e as NodeJS.ErrnoException).code}): set XDG_CACHE_HOME to a writable directory`);
  }
  return dir;
}
