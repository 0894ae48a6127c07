// The initrd as the bytes bake puts in /boot/initrd: the tree encoded as cpio newc and
// compressed by the deterministic gzip (level 9 unless told), on the calling thread. The
// CLI's api/initrd.ts makes the same bytes (its worker-pool engine compresses the same
// blocks the same way) and caches them.
import { encodeCpio } from '../cpio/encoder.js';
import { gzipSink } from '../cpio/gzip.js';
import type { InitrdTree } from './builder.js';

/**
 * The boot initrd's gzip level. For the virtio + ext4 initrd of Debian's 6.1 kernel (a
 * 4.8 MB archive, most of it busybox and already dense module code) level 1 gives 1.85 MB
 * against level 6's 1.71 and level 9's 1.70, in 124 ms of pako on one core against 297
 * ms and 1.76 s: 8% more bytes, which the kernel inflates as fast, for 2.4× less time in
 * the one step of an uncached bake or `cake-img initrd` that cannot be spread over cores
 * cheaply (a worker pool costs more to start than it saves on a few MB). The bytes stay
 * the same on any host (pako, fixed blocking).
 */
export const INITRD_GZIP_LEVEL = 1;

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
