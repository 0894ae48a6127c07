// The write-behind file writer: whatever the order and sizes of the writes, the file ends
// as the same writes applied in order to a memory copy; a failing write is thrown, and no
// write is left running after settled().
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { WriteBehind } from '../../src/host/write-behind.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir();
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
let n = 0;

describe('WriteBehind', () => {
  it('ends with the bytes of the writes applied in order (contiguous runs, jumps, buffer-sized and larger writes)', async () => {
    const MiB = 1 << 20;
    const write = fc.record({ at: fc.integer({ min: 0, max: 12 * MiB }), len: fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 9 * MiB })), seed: fc.integer({ min: 1, max: 255 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(write, fc.constant(null)), { minLength: 1, maxLength: 12 }), async (ops) => {
        const file = path.join(work, `w${n++}`);
        const fd = fs.openSync(file, 'w+');
        const expected = new Uint8Array(24 * MiB);
        let end = 0;
        let at = 0;
        const w = new WriteBehind(fd);
        try {
          for (const op of ops) {
            // null: the next write continues where the last one ended (the converter's case).
            const o = op ?? { at, len: 70_000, seed: 9 };
            const data = new Uint8Array(o.len).fill(o.seed);
            data[0] = (o.seed + 1) & 255;
            await w.writeAt(o.at, data);
            data.fill(0); // the caller may reuse its buffer at once
            expected.fill(o.seed, o.at, o.at + o.len);
            expected[o.at] = (o.seed + 1) & 255;
            at = o.at + o.len;
            end = Math.max(end, at);
          }
          await w.flush();
        } finally {
          await w.settled();
          fs.closeSync(fd);
        }
        const got = fs.readFileSync(file);
        fs.rmSync(file);
        expect(got.length).toBe(end);
        expect(Buffer.compare(got, Buffer.from(expected.subarray(0, end)))).toBe(0);
      }),
      { numRuns: 25 },
    );
  });

  it('a failing write is thrown by flush (and settled() still returns)', async () => {
    const file = path.join(work, 'ro');
    fs.writeFileSync(file, '');
    const fd = fs.openSync(file, 'r');
    const w = new WriteBehind(fd);
    let thrown: unknown = null;
    try {
      await w.writeAt(0, new Uint8Array(100));
      await w.flush();
    } catch (e) {
      thrown = e;
    } finally {
      await w.settled();
      fs.closeSync(fd);
    }
    expect((thrown as NodeJS.ErrnoException)?.code).toBe('EBADF');
  });
});
