// Which compression a stream starts with, by its magic bytes. Kept apart from the
// decoders (decompress.ts) so that sniffing a file costs no decoder loading.

export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'lz4';

const MAGIC: [Compression, number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
];

/** The compression `head` (a stream's first bytes, 8 are enough) starts with, or null. */
export function compressionOf(head: Uint8Array): Compression | null {
  for (const [name, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return name;
  }
  return null;
}

/** The start of an ar archive, and so of a .deb. */
export const AR_MAGIC = '!<arch>\n';

/** True if the bytes start an ar archive (a .deb is one). */
export function isDeb(head: Uint8Array): boolean {
  return head.length >= 8 && String.fromCharCode(...head.subarray(0, 8)) === AR_MAGIC;
}
