// Fuzz: the disk image readers `convert` and `boot` use (openImage: qcow2, VHD fixed and
// dynamic, VMDK monolithicSparse and streamOptimized, raw) on arbitrary bytes behind each
// magic and on mutations of real images aimed at their headers and tables, cake-img's own
// and qemu-img's (qcow2 with 512-byte clusters and compressed clusters, a dynamic VHD, a
// monolithicSparse VMDK). Each case opens the image, walks its extents and reads them: a
// value or a CakeError within the bound, never another exception, never an allocation
// the file's own bytes do not pay for.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openImage } from '../../src/bake/image-formats/open.js';
import type { ImageSource } from '../../src/bake/image-formats/source.js';
import { type ImageSpec, writeImage } from '../../src/host/image-output.js';
import { tmpDir } from '../helpers/image.js';
import { hasTool } from '../oracles/tools.js';
import { RUNS, expectValueOrCakeError, fuzz, replayCorpus } from './expect-clean.js';
import { bytesWithPrefix, mutatedBytes } from './mutate.js';

const BOUND_MS = 2000;
const work = tmpDir('cake-fuzz-img-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const memory = (b: Uint8Array): ImageSource => ({ size: b.length, readAt: async (o, n) => b.slice(o, o + n) });

/** Opens, walks up to 64 extents, reads up to 2 MiB of them. */
async function exercise(bytes: Uint8Array): Promise<number> {
  const r = await openImage(memory(bytes), 'fuzz.img');
  let read = 0;
  let extents = 0;
  await r.readAt(0, Math.min(r.size, 4096));
  for await (const e of r.extents()) {
    if (++extents > 64 || read > 2 << 20) break;
    const n = Math.min(e.end - e.start, 65536);
    await r.readAt(e.start, n);
    read += n;
  }
  return read;
}

const clean = (b: Uint8Array) => expectValueOrCakeError(() => exercise(b), BOUND_MS);
const asBin = (b: Uint8Array) => ({ ext: 'bin' as const, data: b });
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A 1 MiB raw disk with a little data in three places. */
function rawDisk(): Uint8Array {
  const d = new Uint8Array(1 << 20);
  for (let i = 0; i < 3000; i++) d[i] = (i * 7) & 0xff;
  d.fill(0x5a, 300_000, 300_100);
  d.set(ascii('the end'), (1 << 20) - 7);
  return d;
}

interface Seed {
  name: string;
  bytes: Uint8Array;
  /** Where the headers and tables are: where mutations are aimed. */
  regions: [number, number][];
}
const seeds: Seed[] = [];

async function ours(format: ImageSpec['format'], compress = false): Promise<Uint8Array> {
  const disk = rawDisk();
  const file = path.join(work, `seed.${format}${compress ? '.c' : ''}`);
  await writeImage(file, { option: '-o' }, {
    format, qcow2Compress: compress, size: disk.length, ranges: [{ start: 0, end: disk.length }], seed: new Uint8Array(16), time: 0,
  }, async (dev) => {
    await dev.writeAt(0, disk.subarray(0, 4096));
    await dev.writeAt(299_008, disk.subarray(299_008, 303_104));
    await dev.writeAt(disk.length - 4096, disk.subarray(disk.length - 4096));
  });
  return new Uint8Array(fs.readFileSync(file));
}

function byQemu(args: string[], out: string): Uint8Array | null {
  const raw = path.join(work, 'seed.raw');
  fs.writeFileSync(raw, rawDisk());
  const r = spawnSync('qemu-img', ['convert', '-f', 'raw', ...args, raw, out]);
  return r.status === 0 ? new Uint8Array(fs.readFileSync(out)) : null;
}

beforeAll(async () => {
  const head = (n: number): [number, number] => [0, n];
  const tail = (b: Uint8Array, n: number): [number, number] => [b.length - n, b.length];
  const q = await ours('qcow2');
  seeds.push({ name: 'qcow2', bytes: q, regions: [head(512), [65536, 65536 + 64], [3 * 65536, 3 * 65536 + 64], [4 * 65536, 4 * 65536 + 256]] });
  const qc = await ours('qcow2', true);
  seeds.push({ name: 'qcow2 compressed', bytes: qc, regions: [head(512), tail(qc, 4 * 65536), [65536, 66000]] });
  const v = await ours('vhd');
  seeds.push({ name: 'vhd fixed', bytes: v, regions: [tail(v, 512)] });
  const k = await ours('vmdk');
  seeds.push({ name: 'vmdk stream', bytes: k, regions: [head(512), tail(k, 4096), [65536, 65600]] });
  if (hasTool('qemu-img')) {
    const more: [string, string[], string][] = [
      ['qcow2 512-byte clusters', ['-O', 'qcow2', '-o', 'cluster_size=512'], 'q512.qcow2'],
      ['qcow2 by qemu-img -c', ['-O', 'qcow2', '-c'], 'qc.qcow2'],
      ['vhd dynamic', ['-O', 'vpc'], 'dyn.vhd'],
      ['vmdk monolithicSparse', ['-O', 'vmdk'], 'mono.vmdk'],
      ['vmdk streamOptimized by qemu-img', ['-O', 'vmdk', '-o', 'subformat=streamOptimized'], 'st.vmdk'],
    ];
    for (const [name, args, file] of more) {
      const b = byQemu(args, path.join(work, file));
      if (b) seeds.push({ name, bytes: b, regions: [head(4096), tail(b, 4096)] });
    }
  }
}, 120_000);

describe('image readers', () => {
  it('the corpus', async () => {
    await replayCorpus('image-formats', (c) => exercise(c.bytes), BOUND_MS);
  });

  it('arbitrary bytes behind each magic', async () => {
    const prefixes = [ascii('QFI\xfb\0\0\0\x03'), ascii('QFI\xfb\0\0\0\x02'), ascii('KDMV\x03\0\0\0'), ascii('KDMV\x01\0\0\0'), ascii('conectix')];
    await fuzz('image-formats', fc.asyncProperty(bytesWithPrefix(prefixes, 4096), async (b) => {
      await clean(b);
    }), { save: ([b]) => asBin(b) });
  }, 300_000);

  it('the seeds themselves read back whole', async () => {
    for (const s of seeds) {
      const r = await clean(s.bytes);
      if (r.error) throw new Error(`${s.name}: ${r.error.message}`);
    }
  });

  it(`mutated images, aimed at their headers and tables (${RUNS} per seed)`, async () => {
    for (const s of seeds) {
      await fuzz('image-formats', fc.asyncProperty(mutatedBytes(s.bytes, s.regions), async (b) => {
        await clean(b);
      }), { save: ([b]) => asBin(b) });
    }
  }, 900_000);
});
