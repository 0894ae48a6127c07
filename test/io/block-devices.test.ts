// One conformance suite for every BlockDevice backend.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type BlockDevice, MemoryBlockDevice, subDevice } from '../../src/io/block-device.js';
import { NodeFileBlockDevice } from '../../src/host/node-block-device.js';
import { CakeError } from '../../src/util/errors.js';
import { tmpDir } from '../helpers/image.js';
import { FakeSyncHandle } from '../helpers/fake-sync-handle.js';
import { OpfsBlockDevice, imagePieces } from '../../web/opfs-device.js';

const work = tmpDir();
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const SIZE = 1 << 20;
let n = 0;

const backends: [string, () => BlockDevice][] = [
  ['memory', () => new MemoryBlockDevice(SIZE)],
  ['node file', () => NodeFileBlockDevice.create(path.join(work, `dev${n++}`), SIZE)],
  ['sub-range of memory', () => subDevice(new MemoryBlockDevice(SIZE + 8192), 4096, SIZE)],
  ['sub-range of a node file', () => subDevice(NodeFileBlockDevice.create(path.join(work, `dev${n++}`), SIZE + 512), 512, SIZE)],
  ['OPFS sync access handle (in-memory fake)', () => new OpfsBlockDevice(new FakeSyncHandle(), SIZE)],
];

describe.each(backends)('%s', (_name, make) => {
  it('reads back what was written, across chunk boundaries; unwritten bytes are zero', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ at: fc.nat(SIZE - 1), data: fc.uint8Array({ minLength: 1, maxLength: 200_000 }) }), { maxLength: 6 }),
      async (writes) => {
        const dev = make();
        const model = new Uint8Array(SIZE);
        for (const w of writes) {
          const data = w.data.subarray(0, SIZE - w.at);
          await dev.writeAt(w.at, data);
          model.set(data, w.at);
        }
        await dev.flush();
        expect(Buffer.from(await dev.readAt(0, SIZE)).equals(Buffer.from(model))).toBe(true);
      },
    ), { numRuns: 15 });
  });

  it('refuses access outside the device with a CakeError', async () => {
    const dev = make();
    expect(dev.size).toBe(SIZE);
    await expect(async () => dev.writeAt(SIZE - 1, new Uint8Array(2))).rejects.toThrow(CakeError);
    await expect(async () => dev.readAt(-1, 1)).rejects.toThrow(CakeError);
  });
});

describe('NodeFileBlockDevice', () => {
  it('creates sparse files: unwritten space takes no disk', async () => {
    const p = path.join(work, 'sparse');
    const dev = NodeFileBlockDevice.create(p, 1 << 30);
    await dev.writeAt(512 << 20, new Uint8Array(4096).fill(1));
    dev.close();
    expect(fs.statSync(p).size).toBe(1 << 30);
    expect(fs.statSync(p).blocks * 512).toBeLessThan(1 << 20);
  });
});

describe('OpfsBlockDevice', () => {
  it('truncates a reused file to the planned size (old bytes gone), flushes and closes the handle', async () => {
    const h = new FakeSyncHandle();
    h.write(new Uint8Array(100).fill(9), { at: 0 });
    const dev = new OpfsBlockDevice(h, 4096);
    expect(h.getSize()).toBe(4096);
    expect((await dev.readAt(0, 100)).every((b) => b === 0)).toBe(true);
    await dev.writeAt(4000, new Uint8Array(96).fill(1));
    dev.close();
    expect(h.flushes).toBeGreaterThan(0);
    expect(h.closed).toBe(true);
  });

  it('imagePieces over its written ranges gives the same bytes as reading the device, holes as zero pieces', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ at: fc.nat(SIZE - 1), data: fc.uint8Array({ minLength: 1, maxLength: 90_000 }) }), { maxLength: 8 }),
      fc.nat(SIZE - 1), fc.integer({ min: 1, max: 300_000 }),
      async (writes, from, chunk) => {
        const dev = new OpfsBlockDevice(new FakeSyncHandle(), SIZE);
        for (const w of writes) await dev.writeAt(w.at, w.data.subarray(0, SIZE - w.at));
        const parts = [...imagePieces(dev.writtenRanges(), SIZE, from, chunk)].map((p) => (p.zero ? new Uint8Array(p.length) : dev.readSync(p.at, p.length)));
        expect(parts.every((p) => p.length <= chunk && p.length > 0)).toBe(true);
        expect(Buffer.concat(parts).equals(Buffer.from(await dev.readAt(from, SIZE - from)))).toBe(true);
      },
    ), { numRuns: 40 });
  });

  it('says so when the quota cannot hold the image, before creating anything', async () => {
    const dir = { getFileHandle: () => Promise.reject(new Error('must not be called')) } as unknown as FileSystemDirectoryHandle;
    const storage = { estimate: async () => ({ quota: 10 << 20, usage: 9 << 20 }) } as unknown as StorageManager;
    await expect(OpfsBlockDevice.create(dir, 'x.img', 64 << 20, storage)).rejects.toThrow(/needs at least/);
  });
});
