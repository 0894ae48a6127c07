// The blocked gzip: GNU gzip decompresses it to the input, for sizes around the block
// boundary; the bytes are the same whether one thread or several compressed them.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { GZIP_BLOCK, gzipSink, inlineDeflate, type DeflateEngine } from '../../src/bake/cpio/gzip.js';
import { crc32 } from '../../src/struct/crc32.js';
import { deflatePool } from '../../src/host/deflate-pool.js';
import { hasTool } from '../oracles/tools.js';

const pools: DeflateEngine[] = [];
afterAll(() => pools.forEach((p) => p.close?.()));

async function gzip(data: Uint8Array, engine: DeflateEngine, level = 9): Promise<Buffer> {
  const parts: Buffer[] = [];
  // Pools are closed by finish(); give each run its own.
  const g = gzipSink((c) => void parts.push(Buffer.from(c)), level, engine);
  for (let i = 0; i < data.length; i += 77_777) await g.sink(data.subarray(i, i + 77_777));
  await g.finish();
  return Buffer.concat(parts);
}

/** Compressible but not trivial: text-like runs with a little noise. */
function sample(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x >>> 24) % 7 === 0 ? x & 0xff : 97 + ((i >> 4) % 26);
  }
  return out;
}

describe.skipIf(!hasTool('gzip'))('gzip', () => {
  for (const n of [0, 1, 32 * 1024 - 1, GZIP_BLOCK - 1, GZIP_BLOCK, GZIP_BLOCK + 1, 3 * GZIP_BLOCK + 12345]) {
    it(`round-trips ${n} bytes through GNU gzip, same bytes on 1, 2 and 3 threads`, async () => {
      const data = sample(n, n + 1);
      const one = await gzip(data, inlineDeflate);
      expect(execFileSync('gzip', ['-dc'], { input: one, maxBuffer: 1 << 28 }).equals(Buffer.from(data))).toBe(true);
      for (const t of [2, 3]) {
        const pool = deflatePool(t);
        pools.push(pool);
        expect(createHash('sha256').update(await gzip(data, pool)).digest('hex')).toBe(createHash('sha256').update(one).digest('hex'));
      }
    }, 60_000);
  }

  it('crc32 is the standard one', () => {
    expect(crc32(0, new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(crc32(0, new TextEncoder().encode('1234')), new TextEncoder().encode('56789'))).toBe(0xcbf43926);
  });
});
