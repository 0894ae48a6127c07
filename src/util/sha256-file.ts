// sha256 of a host file, streamed in 1 MiB reads.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** `sha256:<hex>` of the file's bytes. */
export function sha256File(path: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return `sha256:${h.digest('hex')}`;
}
