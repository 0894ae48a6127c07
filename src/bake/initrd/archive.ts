// The initrd as the bytes bake puts in /boot/initrd: the tree encoded as cpio newc and
// compressed by the deterministic gzip (level 9 unless told), on the calling thread. The
// CLI's api/initrd.ts makes the same bytes (its worker-pool engine compresses the same
// blocks the same way) and caches them.
import { encodeCpio } from '../cpio/encoder.js';
import { gzipSink } from '../cpio/gzip.js';
import type { InitrdTree } from './builder.js';

/**
 * The boot initrd's gzip level. Level 9 bought 0.6% (1.700 against 1.710 MB for the
 * virtio + ext4 initrd of Debian's kernel) for 4.8× the deflate time (1.76 s against
 * 0.36 s in pako on one core): most of an uncached bake's initramfs time, for nothing the
 * boot notices. The bytes stay the same on any host (pako, fixed blocking).
 */
export const INITRD_GZIP_LEVEL = 6;

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
