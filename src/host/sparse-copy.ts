// Copies byte ranges between host files, leaving all-zero stretches unwritten: the
// destination is a fresh sparse file, so they stay holes. Used to carry the rest of an
// existing disk image into the temp that `mkfs --offset` writes a filesystem into.
import * as fs from 'node:fs';

const CHUNK = 1 << 20;

function allZero(b: Uint8Array, n: number): boolean {
  // Eight bytes at a time where the buffer allows it.
  const words = Math.floor(n / 8);
  const w = new BigUint64Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) if (w[i] !== 0n) return false;
  for (let i = words * 8; i < n; i++) if (b[i] !== 0) return false;
  return true;
}

/** Copies [start, end) of `src` to the same offsets of `dst` (zeros skipped). */
export function copyRange(src: number, dst: number, start: number, end: number): void {
  const buf = new Uint8Array(CHUNK);
  for (let at = start; at < end; ) {
    const n = fs.readSync(src, buf, 0, Math.min(CHUNK, end - at), at);
    if (n <= 0) return; // the source is shorter: the rest is a hole
    if (!allZero(buf, n)) {
      let w = 0;
      while (w < n) w += fs.writeSync(dst, buf, w, n - w, at + w);
    }
    at += n;
  }
}
