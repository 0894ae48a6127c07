// The initrd as the bytes bake puts in /boot/initrd: the tree encoded as cpio newc and
// compressed by the deterministic gzip (gzip-level.ts's level unless told), on the calling thread. The
// CLI's api/initrd.ts makes the same bytes (its worker-pool engine compresses the same
// blocks the same way) and caches them.
import { encodeCpio } from '../cpio/encoder.js';
import { gzipSink } from '../cpio/gzip.js';
import type { InitrdTree } from './builder.js';
import { INITRD_GZIP_LEVEL } from './gzip-level.js';

export async function initrdGzip(built: InitrdTree, level = INITRD_GZIP_LEVEL): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const gz = gzipSink((c) => void parts.push(new Uint8Array(c)), level);
  await encodeCpio(built.tree, built.content, (c) => gz.sink(c));
  await gz.finish();
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}
