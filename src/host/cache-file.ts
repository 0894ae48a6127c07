// Files in cake-img's cache (the gzip'd initrds, say) are an optimisation: a cache that
// cannot be written (full, read-only) must not fail the command that uses it. Entries are
// written like outputs (an exclusive temp, then a rename, so a reader sees a whole file or
// none) and read without following links; a failure is a warning, never an error, and
// leaves no temp behind.
import * as fs from 'node:fs';
import { quote } from '../util/errors.js';
import { createTemp } from './output-file.js';

/** Stores `bytes` as `file`; returns a warning instead of throwing when the cache cannot take it. */
export function writeCacheFile(file: string, bytes: Uint8Array): string | null {
  let tmp: ReturnType<typeof createTemp> | null = null;
  try {
    fs.mkdirSync(file.slice(0, file.lastIndexOf('/')), { recursive: true });
    tmp = createTemp(file);
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(tmp.fd, bytes, done, bytes.length - done);
    fs.closeSync(tmp.fd);
    fs.renameSync(tmp.path, file);
    tmp.forget();
    return null;
  } catch (e) {
    if (tmp) {
      try {
        fs.closeSync(tmp.fd);
      } catch {
        /* closed already */
      }
      fs.rmSync(tmp.path, { force: true });
      tmp.forget();
    }
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return `cache ${quote(file)} not written (${why}); carrying on without it`;
  }
}

/** A cache entry's bytes, or null when there is none (a link or anything but a regular file counts as none). */
export function readCacheFile(file: string): Uint8Array | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return null;
    return new Uint8Array(fs.readFileSync(fd));
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
