// Every inode kind and every metadata corner, through the directory source, judged by
// e2fsck and debugfs (and the kernel through a read-only loop mount when root).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDirectory } from '../../src/sources/directory.js';
import { kitchenSink } from '../helpers/kitchen-sink.js';
import { expectFsckClean } from '../oracles/e2fsck.js';
import { hasTool } from '../oracles/tools.js';
import { expectImageMatchesTree } from '../helpers/compare.js';
import { buildImage, sha256File, tmpDir } from '../helpers/image.js';

const work = tmpDir();
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('every inode kind', () => {
  it('e2fsck-clean and read back equal by debugfs', async () => {
    if (!hasTool('e2fsck') || !hasTool('debugfs')) return;
    const loaded = await loadDirectory(kitchenSink());
    const img = path.join(work, 'kinds.img');
    await buildImage(loaded.tree, loaded.content, img);
    expectFsckClean(img);
    await expectImageMatchesTree(img, loaded.tree, loaded.content);
  });

  it('is reproducible: two builds, same bytes', async () => {
    const a = path.join(work, 'a.img');
    const b = path.join(work, 'b.img');
    const la = await loadDirectory(kitchenSink());
    await buildImage(la.tree, la.content, a);
    const lb = await loadDirectory(kitchenSink());
    await buildImage(lb.tree, lb.content, b);
    expect(sha256File(a)).toBe(sha256File(b));
  });

  it('works with 1 KiB and 2 KiB blocks, 512-byte inodes, 64bit and no journal', async () => {
    if (!hasTool('e2fsck') || !hasTool('debugfs')) return;
    for (const over of [{ blockSize: 1024 }, { blockSize: 2048, inodeSize: 512 }, { features: { bit64: true, dirIndex: true, hasJournal: false } }]) {
      const m = kitchenSink();
      // 4095-byte symlinks need 4 KiB blocks.
      const loaded = await loadDirectory(m);
      if ((over as { blockSize?: number }).blockSize) {
        loaded.tree.root.entries.delete('longest');
        if ((over as { blockSize?: number }).blockSize === 1024) loaded.tree.root.entries.delete('trusted-big-holder');
      }
      if ((over as { blockSize?: number }).blockSize === 1024) {
        const x = loaded.tree.root.entries.get('xattrs')!;
        x.xattrs = x.xattrs.filter((a) => a.name !== 'trusted.big');
      }
      const img = path.join(work, `variant-${JSON.stringify(over).replace(/\W/g, '')}.img`);
      await buildImage(loaded.tree, loaded.content, img, over);
      expectFsckClean(img);
      await expectImageMatchesTree(img, loaded.tree, loaded.content);
    }
  });
});
