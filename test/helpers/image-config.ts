// Image configs for test images: rootfs.diff_ids are the digests of the uncompressed
// layers, as docker and umoci write them (cake-img checks every layer against them).
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** A layer's tar: gunzipped or un-zstd'ed when compressed. */
export function uncompressed(l: Uint8Array): Uint8Array {
  if (l[0] === 0x1f && l[1] === 0x8b) return gunzipSync(l);
  if (l[0] === 0x28 && l[1] === 0xb5 && l[2] === 0x2f && l[3] === 0xfd) return zstdDecompress(l);
  return l;
}

export function diffIds(layers: Uint8Array[]): string[] {
  return layers.map((l) => `sha256:${sha(uncompressed(l))}`);
}

/** An image config (JSON text) for these layers. */
export function imageConfig(layers: Uint8Array[], arch = 'amd64'): string {
  return JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds(layers) }, config: {} });
}
