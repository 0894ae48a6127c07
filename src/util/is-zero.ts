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
