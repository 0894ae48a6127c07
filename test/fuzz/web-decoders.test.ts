// Fuzz: the browser's decoders of untrusted bytes. The xz stream decoder (web/xz.ts, the
// wasm xz-embedded of xz-decompress, run here in Node) gives exactly what `xz -c`
// compressed whatever the chunking, a CakeError or a value for mutated input within a
// bound, frees itself when its consumer stops early, and decodes concatenated streams. The kernel-module ELF reader (bake/initrd/module-elf.ts, what
// depmod reads) gives a value or a CakeError for mutated real modules and arbitrary bytes.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModuleElf } from '../../src/bake/initrd/module-elf.js';
import { xzStream, xzWhole } from '../../web/xz.js';
import { parallelXz, xzBlocks } from '../../web/xz-blocks.js';
import { bytesFile } from '../../src/io/byte-file.js';
import { hasTool } from '../oracles/tools.js';
import { type DebianKernel, debianKernel } from '../helpers/debian.js';
import { RUNS, expectValueOrCakeError, fuzz } from './expect-clean.js';
import { applyMutations, bytesWithPrefix, chunked, chunking, concat, drain, mutations } from './mutate.js';

const BOUND_MS = 3000;
const clean = (f: () => unknown) => expectValueOrCakeError(f, BOUND_MS);

function payload(n: number): Uint8Array {
  let x = 99;
  return Uint8Array.from({ length: n }, (_, i) => (i % 700 < 500 ? 'cake baked in a browser '.charCodeAt(i % 24) : ((x = (x * 1103515245 + 12345) >>> 0) >>> 24)));
}

describe.skipIf(!hasTool('xz'))('browser xz decoder', () => {
  const plain = payload(300_000);
  let xz: Uint8Array;
  beforeAll(() => {
    xz = new Uint8Array(execFileSync('xz', ['-c', '--check=crc64'], { input: plain }));
  });

  it(`gives back the payload whatever the chunking (${RUNS} cases)`, async () => {
    await fuzz('web-xz', fc.asyncProperty(chunking, async (sizes) => {
      const out = await drain(xzStream(chunked(xz, sizes)(), 'x.xz'), true);
      expect(Buffer.from(out.bytes!).equals(Buffer.from(plain))).toBe(true);
    }), { params: { numRuns: 40 } });
  }, 120_000);

  it(`mutated streams and bytes behind the magic: a value or a CakeError (${RUNS} cases)`, async () => {
    await fuzz('web-xz', fc.asyncProperty(fc.oneof(mutations().map((m) => applyMutations(xz, m)), bytesWithPrefix([Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)], 2048)), chunking, async (bytes, sizes) => {
      await clean(() => drain(xzStream(chunked(bytes, sizes)(), 'x.xz')));
    }));
  }, 300_000);

  it('a consumer that stops early frees the decoder for the next one', async () => {
    for await (const _ of xzStream(chunked(xz, [1000])(), 'x.xz')) break;
    expect((await xzWhole(xz, 1 << 20)).length).toBe(plain.length);
    await expect(xzWhole(xz, 1000)).rejects.toThrow(/more than 1000 bytes/);
  });

  it('decodes concatenated streams as xz -dc does (never drops the second)', async () => {
    const two = concat([xz, new Uint8Array(execFileSync('xz', ['-c'], { input: plain.subarray(0, 1000) }))]);
    const out = await drain(xzStream(chunked(two, [1 << 16])(), 'two.xz'), true);
    expect(Buffer.from(out.bytes!).equals(Buffer.concat([plain, plain.subarray(0, 1000)]))).toBe(true);
  });
});

describe.skipIf(!hasTool('xz'))('multi-block xz on several decoders', () => {
  const plain = payload(700_000);
  let multi: Uint8Array;
  beforeAll(() => {
    multi = new Uint8Array(execFileSync('xz', ['-c', '-T2', '--block-size=100000'], { input: plain }));
  });
  const decoders = [(s: Uint8Array) => xzWhole(s, 1 << 24), (s: Uint8Array) => xzWhole(s, 1 << 24)];
  const run = async (bytes: Uint8Array) => {
    const f = bytesFile(bytes, 'm.xz');
    const layout = await xzBlocks(f, 0, f.size);
    if (!layout) return null;
    return drain(parallelXz(f, layout, decoders, 'm.xz'), true);
  };

  it('finds the blocks from the index and decodes them, in order, to the payload', async () => {
    const layout = await xzBlocks(bytesFile(multi, 'm.xz'), 0, multi.length);
    expect(layout!.blocks.length).toBe(7);
    expect(Buffer.from((await run(multi))!.bytes!).equals(Buffer.from(plain))).toBe(true);
    expect(await xzBlocks(bytesFile(plain, 'p'), 0, plain.length)).toBeNull();
  });

  it('decoders of uneven speed: blocks still in order, at most two per decoder decoded ahead, an early stop waits for nothing', async () => {
    const f = bytesFile(multi, 'm.xz');
    const layout = (await xzBlocks(f, 0, f.size))!;
    let started = 0;
    let taken = 0;
    let mostAhead = 0;
    const slow = (ms: number) => async (s: Uint8Array) => {
      mostAhead = Math.max(mostAhead, ++started - taken);
      await new Promise((r) => setTimeout(r, ms));
      return xzWhole(s, 1 << 24);
    };
    const parts: Uint8Array[] = [];
    for await (const b of parallelXz(f, layout, [slow(1), slow(25)], 'm.xz')) {
      parts.push(b);
      taken++;
    }
    expect(Buffer.concat(parts).equals(Buffer.from(plain))).toBe(true);
    expect(mostAhead).toBeLessThanOrEqual(4 + 1);
    const t0 = Date.now();
    for await (const _ of parallelXz(f, layout, [slow(200), slow(200)], 'm.xz')) break;
    expect(Date.now() - t0).toBeLessThan(400); // the first block, not the ones still decoding
  });

  it(`mutated multi-block files: null (not for this path), a value or a CakeError (${RUNS} cases)`, async () => {
    await fuzz('web-xz-blocks', fc.asyncProperty(mutations().map((m) => applyMutations(multi, m)), async (bytes) => {
      await clean(() => run(bytes));
    }));
  }, 300_000);
});

describe.skipIf(!hasTool('apt-get'))('kernel module ELF reader', () => {
  let k: DebianKernel;
  let modules: Uint8Array[];
  beforeAll(async () => {
    k = await debianKernel();
    modules = ['kernel/fs/ext4/ext4.ko', 'kernel/lib/crc16.ko', 'kernel/drivers/block/virtio_blk.ko'].map((p) => new Uint8Array(fs.readFileSync(path.join(k.modules, p))));
  }, 300_000);

  it('reads real modules: ext4 needs jbd2 and crc16 symbols, crc16 exports crc16', () => {
    const ext4 = readModuleElf(modules[0]!, 'ext4.ko');
    expect(ext4.imports).toEqual(expect.arrayContaining(['jbd2_journal_start', 'crc16']));
    expect(ext4.modinfo).toEqual(expect.arrayContaining([['softdep', 'pre: crypto-crc32c']]));
    expect(readModuleElf(modules[1]!, 'crc16.ko').exports).toContain('crc16');
  });

  it(`mutated modules and bytes behind the ELF magic: a value or a CakeError (${RUNS} cases)`, async () => {
    const elfMagic = Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 2, 1, 1);
    await fuzz('module-elf', fc.property(fc.oneof(fc.nat(2).chain((i) => mutations().map((m) => applyMutations(modules[i]!, m))), bytesWithPrefix([elfMagic], 4096)), (bytes) => {
      void clean(() => readModuleElf(bytes, 'fuzz.ko'));
    }));
  }, 300_000);
});
