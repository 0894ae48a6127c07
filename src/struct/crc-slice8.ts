// Reflected CRC-32 with slicing-by-8, for any polynomial: the raw register update (no
// initial or final inversion), which crc32 (gzip) and crc32c (ext4) wrap their own way.

export type CrcUpdate = (crc: number, data: Uint8Array, start?: number, end?: number) => number;

export function makeCrc32(poly: number): CrcUpdate {
  const T = new Int32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    T[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) T[s * 256 + i] = (T[(s - 1) * 256 + i]! >>> 8) ^ T[T[(s - 1) * 256 + i]! & 0xff]!;
  }
  // Named for host/jit-tiering.ts: a per-byte loop, optimized even while other code waits.
  return function hotLoopCrc32(seed, data, start = 0, end = data.length) {
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
  };
}
