// Random trees through planner, writer and the oracles (e2fsck, debugfs, and the kernel
// through a read-only loop mount when root). 100 cases per run (CI included).
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { loadDirectory } from '../../src/sources/directory.js';
import { expectFsckClean } from '../oracles/e2fsck.js';
import { canLoopMount } from '../oracles/mount.js';
import { expectKernelViewEquals } from '../helpers/compare-trees.js';
import { hasTool } from '../oracles/tools.js';
import { expectImageMatchesTree } from '../helpers/compare.js';
import { buildImage, tmpDir } from '../helpers/image.js';
import { randomTree } from '../helpers/random-tree.js';

const work = tmpDir();
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe.skipIf(!hasTool('e2fsck') || !hasTool('debugfs'))('random trees', () => {
  it('every image is e2fsck-clean and reads back equal to its tree', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(randomTree, fc.constantFrom(1024, 4096), async (m, blockSize) => {
        const src = await loadDirectory(m);
        const img = path.join(work, `r${n++}.img`);
        await buildImage(src.tree, src.content, img, { blockSize });
        try {
          expectFsckClean(img);
          await expectImageMatchesTree(img, src.tree, src.content);
          if (canLoopMount) await expectKernelViewEquals(img, src.tree, src.content);
        } finally {
          fs.rmSync(img, { force: true });
        }
      }),
      { numRuns: Number(process.env.CAKE_PROPERTY_RUNS ?? 100) },
    );
  }, 600_000);
});
