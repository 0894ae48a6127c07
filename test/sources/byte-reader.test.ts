// ByteReader, the pull reader every archive decoder sits on: readTransient gives the same
// bytes read() does, as a view when they lie in one chunk, and is short only at the end.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteReader } from '../../src/sources/decompress.js';

async function* from(chunks: Uint8Array[]) {
  for (const c of chunks) yield c;
}

describe('ByteReader.readTransient', () => {
  it('reads what read() reads, whatever the chunking and the sizes asked', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }),
      fc.array(fc.tuple(fc.boolean(), fc.nat({ max: 50 })), { maxLength: 10 }),
      async (chunks, asks) => {
        const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        chunks.reduce((at, c) => (all.set(c, at), at + c.length), 0);
        const r = new ByteReader(from(chunks));
        let at = 0;
        for (const [transient, n] of asks) {
          const got = transient ? (await r.readTransient(n)).slice() : await (async () => {
            const b = new Uint8Array(n);
            return b.subarray(0, await r.read(b));
          })();
          const want = all.subarray(at, Math.min(all.length, at + n));
          expect([...got]).toEqual([...want]);
          at += want.length;
          expect(r.offset).toBe(at);
        }
      },
    ), { numRuns: 300 });
  });

  it('is a view, not a copy, when the bytes lie in one chunk', async () => {
    const chunk = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const r = new ByteReader(from([chunk]));
    const v = await r.readTransient(4);
    expect(v.buffer).toBe(chunk.buffer);
    expect([...v]).toEqual([1, 2, 3, 4]);
  });
});
