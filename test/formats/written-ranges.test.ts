// The written-ranges functions against the real writers: random trees through writeExt4
// and writeDisk onto a device that records every non-zero byte; none may fall outside
// the ranges the plan gave. The ranges must also stay tight (inside the used blocks, so
// a fresh journal and empty inode tables never count).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diskWrittenRanges, writeDisk } from '../../src/bake/disk.js';
import { planExt4 } from '../../src/bake/ext4/planner.js';
import { writeExt4 } from '../../src/bake/ext4/writer.js';
import { ext4WrittenRanges } from '../../src/bake/ext4/written-ranges.js';
import {
  clipRanges, composeRanges, findRange, normalizeRanges, rangesBytes, roundOutRanges, subtractRanges,
} from '../../src/io/byte-ranges.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { testOptions } from '../helpers/image.js';
import { randomTree } from '../helpers/random-tree.js';
import { hasSyslinux, planTestDisk } from './disk-fixture.js';
import { RecordingDevice } from './recording-device.js';

const RUNS = Number(process.env.CAKE_PROPERTY_RUNS ?? 60);

describe('byte ranges', () => {
  const ranges = fc.array(fc.record({ start: fc.nat(1000), len: fc.nat(100) }), { maxLength: 12 }).map((a) => a.map((r) => ({ start: r.start, end: r.start + r.len })));
  const member = (rs: { start: number; end: number }[], x: number) => rs.some((r) => r.start <= x && x < r.end);
  it('normalize, subtract, round out, clip and find agree with set membership', () => {
    fc.assert(fc.property(ranges, ranges, fc.integer({ min: 1, max: 64 }), (a, b, unit) => {
      const na = normalizeRanges(a);
      const nb = normalizeRanges(b);
      const diff = subtractRanges(na, nb);
      const round = roundOutRanges(na, unit);
      const clip = clipRanges(na, 500);
      for (let i = 1; i < na.length; i++) expect(na[i]!.start).toBeGreaterThan(na[i - 1]!.end);
      for (let x = 0; x < 1110; x++) {
        expect(member(na, x)).toBe(member(a, x));
        expect(member(diff, x)).toBe(member(a, x) && !member(b, x));
        expect(member(clip, x)).toBe(member(a, x) && x < 500);
        expect(findRange(na, x) >= 0).toBe(member(a, x));
        if (member(a, x)) expect(member(round, x)).toBe(true);
        const cell = Math.floor(x / unit) * unit;
        const cellTouched = a.some((r) => r.end > r.start && r.start < cell + unit && r.end > cell);
        expect(member(round, x)).toBe(cellTouched);
      }
      expect(rangesBytes(composeRanges([{ offset: 10, ranges: na }]))).toBe(rangesBytes(na));
    }));
  });
});

describe('ext4WrittenRanges', () => {
  it('random trees: writeExt4 writes no non-zero byte outside them, and they lie in used blocks', async () => {
    await fc.assert(
      fc.asyncProperty(randomTree, fc.constantFrom(1024, 4096), fc.boolean(), async (m, blockSize, zeroed) => {
        const src = await loadDirectory(m);
        const plan = planExt4(src.tree, testOptions({ blockSize }));
        const ranges = ext4WrittenRanges(plan);
        const dev = new RecordingDevice(plan.geo.blocksCount * blockSize, ranges);
        await writeExt4(plan, dev, src.content, { assumeZeroed: zeroed });
        expect(dev.strays).toEqual([]);
        const used = plan.layout.used.reduce((n, r) => n + r.count, 0) * blockSize;
        expect(rangesBytes(ranges)).toBeLessThanOrEqual(used);
        // A journal of 1024+ blocks is one block in the ranges.
        if (plan.journalBlocks) expect(rangesBytes(ranges)).toBeLessThan(used - (plan.journalBlocks - 1) * blockSize + 1);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);
});

describe.skipIf(!hasSyslinux)('diskWrittenRanges', () => {
  it('random trees: writeDisk (MBR, ext4, the extlinux boot sector) writes nothing non-zero outside them', async () => {
    let seed = 0;
    await fc.assert(
      fc.asyncProperty(randomTree, fc.constantFrom(1024, 4096), fc.constantFrom<'auto' | number>('auto', 48 << 20), async (m, blockSize, size) => {
        const d = await planTestDisk(m, { blockSize, size, seed: seed++ });
        const ranges = diskWrittenRanges(d.plan);
        const dev = new RecordingDevice(d.plan.diskBytes, ranges);
        await writeDisk(d.plan, dev, { assumeZeroed: true });
        expect(dev.strays).toEqual([]);
        expect(dev.nonZeroBytes).toBeGreaterThan(0);
        expect(ranges[0]).toEqual({ start: 0, end: 512 });
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }, 300_000);
});
