// Random trees FAT can hold through planFat and writeFat, each judged by fsck.fat and by
// mtools extracting it back (names, structure, sizes, content, times), and as root by the
// kernel's vfat driver. 40 trees a run (CAKE_FAT_PROPERTY_RUNS to change).
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDirectory } from '../../src/sources/directory.js';
import { canMountVfat, expectFsckFatClean, hasFatTools } from '../oracles/fat.js';
import { buildFat, expectKernelFatView, expectMtoolsView } from '../helpers/fat.js';
import { fatTree } from '../helpers/fat-tree.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-fat-');
/** mkfs.fat's choice, or a fixed cluster size (the trees' file sizes sit around 512 B … 32 KiB). */
const CLUSTERS = fc.constantFrom(undefined, undefined, 512, 2048, 4096, 32768);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe.skipIf(!hasFatTools())('random FAT trees', () => {
  it('every image is fsck.fat-clean and mtools (and the kernel) read the tree back', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fatTree, fc.constantFrom('auto' as const, 32 as const), CLUSTERS, fc.option(fc.integer({ min: 0, max: 4_000_000_000 })), async (m, fatType, clusterSize, epoch) => {
        const src = await loadDirectory(m);
        const img = path.join(work, `r${n}.img`);
        const dest = path.join(work, `r${n++}.d`);
        try {
          const plan = await buildFat(src.tree, src.content, img, { fatType, clusterSize, epoch: epoch ?? undefined, label: 'RANDOM' });
          expect(plan.geo.fatType).toBe(fatType === 32 ? 32 : 16);
          if (clusterSize) expect(plan.geo.clusterBytes).toBe(clusterSize);
          expectFsckFatClean(img);
          await expectMtoolsView(img, dest, src.tree, src.content, { epoch: epoch ?? undefined });
          if (canMountVfat) await expectKernelFatView(img, src.tree, src.content, { epoch: epoch ?? undefined });
        } finally {
          fs.rmSync(img, { force: true });
          fs.rmSync(dest, { recursive: true, force: true });
        }
      }),
      { numRuns: Number(process.env.CAKE_FAT_PROPERTY_RUNS ?? 40) },
    );
  }, 600_000);
});
