// The test every sparse writer makes before writing: is this piece all zeros?

/** True when every byte is zero (four at a time where aligned). */
export function isZero(b: Uint8Array): boolean {
  let i = 0;
  const head = Math.min(b.length, (4 - (b.byteOffset & 3)) & 3);
  for (; i < head; i++) if (b[i] !== 0) return false;
  const words = (b.length - i) >> 2;
  if (words > 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset + i, words);
    for (let k = 0; k < words; k++) if (w[k] !== 0) return false;
    i += words * 4;
  }
  for (; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * `b` up to its last non-zero 4 KiB: what a writer must write of a mostly-zero table into
 * a file that reads as zeros (the rest stays a hole).
 */
export function withoutZeroTail(b: Uint8Array): Uint8Array {
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return b.subarray(0, Math.min(b.length, Math.ceil(n / 4096) * 4096));
}
