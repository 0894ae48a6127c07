// The kernel's view of the images equals the source: read-only loop mount (root only;
// CI is root). Complements the debugfs oracle with the real ext4 driver, htree lookups included.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { canLoopMount, withLoopMount } from '../oracles/mount.js';
import { expectKernelViewEquals } from '../helpers/compare-trees.js';
import { buildImage, tmpDir } from '../helpers/image.js';
import { kitchenSink } from '../helpers/kitchen-sink.js';

const work = tmpDir();
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe.skipIf(!canLoopMount)('kernel view (loop mount)', () => {
  it('every inode kind', async () => {
    const src = await loadDirectory(kitchenSink());
    const img = path.join(work, 'k.img');
    await buildImage(src.tree, src.content, img);
    await expectKernelViewEquals(img, src.tree, src.content);
  });

  it('a hashed directory of 3,000 entries with colliding-length names', async () => {
    const m = new MemorySourceFs();
    m.addDir('d');
    for (let i = 0; i < 3000; i++) m.addFile(`d/${'n'.repeat(i % 200)}-${i}`, new TextEncoder().encode(String(i)));
    const src = await loadDirectory(m);
    const img = path.join(work, 'h.img');
    await buildImage(src.tree, src.content, img);
    await withLoopMount(img, async (dir) => {
      // Lookups by name go through the htree; a wrong hash would miss entries.
      for (let i = 0; i < 3000; i += 7) fs.statSync(path.join(dir, 'd', `${'n'.repeat(i % 200)}-${i}`));
    });
    await expectKernelViewEquals(img, src.tree, src.content);
  });
});
