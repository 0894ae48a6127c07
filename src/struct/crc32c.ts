// CRC-32C (Castagnoli), slicing-by-8. ext4 and jbd2 use the raw register value: start
// from the seed, no final inversion (the kernel's crc32c_le()). crc32c(~0, data) is the
// usual "seed"; callers chain the result as the next seed.

const POLY = 0x82f63b78;
const T = new Int32Array(256 * 8);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let s = 1; s < 8; s++) T[s * 256 + i] = (T[(s - 1) * 256 + i]! >>> 8) ^ T[T[(s - 1) * 256 + i]! & 0xff]!;
}

export function crc32c(seed: number, data: Uint8Array, start = 0, end = data.length): number {
  let crc = seed | 0;
  let i = start;
  while (i + 8 <= end) {
    const a = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    crc =
      T[7 * 256 + (a & 0xff)]! ^ T[6 * 256 + ((a >>> 8) & 0xff)]! ^ T[5 * 256 + ((a >>> 16) & 0xff)]! ^ T[4 * 256 + (a >>> 24)]! ^
      T[3 * 256 + data[i + 4]!]! ^ T[2 * 256 + data[i + 5]!]! ^ T[256 + data[i + 6]!]! ^ T[data[i + 7]!]!;
    i += 8;
  }
  while (i < end) crc = T[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
  return crc >>> 0;
}

const le32buf = new Uint8Array(4);
/** crc32c over a little-endian u32 (inode numbers, group numbers). */
export function crc32cU32(seed: number, value: number): number {
  le32buf[0] = value & 0xff;
  le32buf[1] = (value >>> 8) & 0xff;
  le32buf[2] = (value >>> 16) & 0xff;
  le32buf[3] = (value >>> 24) & 0xff;
  return crc32c(seed, le32buf);
}
