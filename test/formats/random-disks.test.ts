// Random trees through the whole disk (MBR, ext4, extlinux) into every format, judged by
// qemu-img: `check` finds qcow2 and VMDK consistent, `info` reports the format and the
// virtual size, `compare` finds each identical to the raw bake of the same plan, and the
// fixed VHD converted back to raw by qemu-img is the raw image byte for byte. Then our own
// readers: each image converted back to raw by cake-img is the raw image again. Each
// format is written twice: the same bytes. The qcow2 stays compact: its allocated bytes
// are the raw image's plus a few KiB of metadata.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { diskWrittenRanges, writeDisk } from '../../src/bake/disk.js';
import type { ImageFormat } from '../../src/bake/image-formats/format.js';
import { convert } from '../../src/api/convert.js';
import { type ImageSpec, writeImage } from '../../src/host/image-output.js';
import { sha256File, tmpDir } from '../helpers/image.js';
import { randomTree } from '../helpers/random-tree.js';
import { type TestDisk, hasSyslinux, planTestDisk } from './disk-fixture.js';
import { check, compare, hasQemuImg, info, qemuImg } from './qemu-img.js';

const work = tmpDir('cake-formats-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const RUNS = Number(process.env.CAKE_FORMAT_RUNS ?? 15);

type Variant = { format: ImageFormat; compress?: boolean; ext: string };
const VARIANTS: Variant[] = [
  { format: 'raw', ext: 'img' },
  { format: 'qcow2', ext: 'qcow2' },
  { format: 'qcow2', compress: true, ext: 'c.qcow2' },
  { format: 'vhd', ext: 'vhd' },
  { format: 'vmdk', ext: 'vmdk' },
];

async function write(d: TestDisk, v: Variant, file: string): Promise<void> {
  const spec: ImageSpec = {
    format: v.format, qcow2Compress: v.compress, size: d.plan.diskBytes, ranges: diskWrittenRanges(d.plan),
    seed: d.plan.root.fs.options.uuid, time: 1_700_000_000,
  };
  await writeImage(file, { option: '-o' }, spec, (dev) => writeDisk(d.plan, dev, { assumeZeroed: true }));
}

const allocated = (f: string) => fs.statSync(f).blocks * 512;

describe.skipIf(!hasQemuImg() || !hasSyslinux)('random disks in every format', () => {
  it('qemu-img checks, compares and converts them; cake-img reads them back; two writes, same bytes; qcow2 is compact', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(randomTree, fc.constantFrom(1024, 4096), async (m, blockSize) => {
        const dir = path.join(work, `d${n++}`);
        fs.mkdirSync(dir);
        try {
          const d = await planTestDisk(m, { blockSize, seed: n });
          const files = new Map<string, string>();
          for (const v of VARIANTS) {
            const f = path.join(dir, `disk.${v.ext}`);
            await write(d, v, f);
            files.set(v.ext, f);
          }
          const raw = files.get('img')!;
          const rawSha = sha256File(raw);
          for (const v of VARIANTS.slice(1)) {
            const f = files.get(v.ext)!;
            if (v.format !== 'vhd') {
              const r = check(f, v.format);
              expect(r.status, `${v.ext}: ${r.stdout}${r.stderr}`).toBe(0);
            }
            const i = info(f, v.format);
            expect(i.format).toBe(v.format === 'vhd' ? 'vpc' : v.format);
            expect(i['virtual-size']).toBe(d.plan.diskBytes);
            const c = compare(raw, f, v.format);
            expect(c.status, `${v.ext}: ${c.stdout}${c.stderr}`).toBe(0);
            // cake-img's reader: back to raw, the same bytes.
            const back = path.join(dir, `back-${v.ext}.img`);
            await convert({ input: f, output: back });
            expect(sha256File(back), `${v.ext} read back by cake-img`).toBe(rawSha);
            // Reproducible (the same name: a VMDK's descriptor holds it).
            fs.mkdirSync(path.join(dir, 'again'), { recursive: true });
            const again = path.join(dir, 'again', path.basename(f));
            await write(d, v, again);
            expect(sha256File(again), `${v.ext} written twice`).toBe(sha256File(f));
          }
          const viaQemu = path.join(dir, 'vhd-by-qemu.img');
          expect(qemuImg(['convert', '-f', 'vpc', '-O', 'raw', files.get('vhd')!, viaQemu]).status).toBe(0);
          expect(sha256File(viaQemu)).toBe(rawSha);
          // Compact: the data the raw image holds, plus the metadata clusters' written parts.
          expect(allocated(files.get('qcow2')!)).toBeLessThanOrEqual(allocated(raw) * 1.02 + 64 * 1024);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: RUNS },
    );
  }, 900_000);
});
