// The uncompressed size an .xz file declares, read from its index at the end (xz file
// format 1.0.4, §2.1.2 stream footer and §4 index) without decompressing anything: what
// lets a module be refused as a decompression bomb before a whole-buffer decoder runs.
// Concatenated streams and stream padding are walked from the back.
// https://tukaani.org/xz/xz-file-format.txt

const FOOTER = 12;
const MAGIC_FOOTER = [0x59, 0x5a]; // "YZ"

/** A multibyte integer (7 bits a byte, little-endian groups, at most 9 bytes). */
function varint(b: Uint8Array, at: number, end: number): { value: number; next: number } | null {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (at + i >= end) return null;
    const byte = b[at + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (!(byte & 0x80)) {
      if (i > 0 && byte === 0) return null; // not the shortest encoding
      return Number.isSafeInteger(value) ? { value, next: at + i + 1 } : null;
    }
  }
  return null;
}

/** The total uncompressed size the file's indexes declare, or null when they cannot be read. */
export function xzUncompressedSize(b: Uint8Array): number | null {
  let end = b.length;
  let total = 0;
  let streams = 0;
  while (end > 0) {
    // Stream padding: a multiple of four zero bytes between and after streams.
    while (end >= 4 && b[end - 1] === 0 && b[end - 2] === 0 && b[end - 3] === 0 && b[end - 4] === 0) end -= 4;
    if (end === 0) break;
    if (end < FOOTER + 12 || b[end - 2] !== MAGIC_FOOTER[0] || b[end - 1] !== MAGIC_FOOTER[1]) return null;
    const f = end - FOOTER;
    const backward = ((b[f + 4]! | (b[f + 5]! << 8) | (b[f + 6]! << 16)) >>> 0) + b[f + 7]! * 2 ** 24;
    const indexSize = (backward + 1) * 4;
    const index = f - indexSize;
    if (index < 12 || b[index] !== 0x00) return null;
    let at = index + 1;
    const count = varint(b, at, f);
    if (!count) return null;
    at = count.next;
    let unpaddedSum = 0;
    for (let i = 0; i < count.value; i++) {
      const unpadded = varint(b, at, f);
      if (!unpadded) return null;
      const size = varint(b, unpadded.next, f);
      if (!size) return null;
      at = size.next;
      unpaddedSum += Math.ceil(unpadded.value / 4) * 4;
      total += size.value;
      if (!Number.isSafeInteger(total)) return null;
    }
    // The blocks sit between the 12-byte stream header and the index.
    const start = index - unpaddedSum - 12;
    if (start < 0 || b[start] !== 0xfd || b[start + 1] !== 0x37) return null;
    end = start;
    if (++streams > 1 << 16) return null;
  }
  return streams ? total : null;
}
