// The two-thread host copier must write exactly what the sequential writer writes: same
// image bytes from the same plan, for fresh sparse images and for in-place writes (where
// it also writes the zero fills), and it must notice a file that changed under it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planExt4 } from '../../src/bake/ext4/planner.js';
import { writeExt4 } from '../../src/bake/ext4/writer.js';
import { NodeFileBlockDevice } from '../../src/host/node-block-device.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { OverlayContent } from '../../src/io/content-source.js';
import type { ContentSource } from '../../src/tree/content.js';
import type { BlockDevice } from '../../src/io/block-device.js';
import type { DirNode, FsTree } from '../../src/tree/node.js';
import { bootFile } from '../../src/bake/extlinux-boot.js';
import { CorruptInputError } from '../../src/util/errors.js';
import { expectFsckClean } from '../oracles/e2fsck.js';
import { hasTool } from '../oracles/tools.js';
import { sha256File, testOptions, tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-copier-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function makeTree(root: string): void {
  fs.mkdirSync(path.join(root, 'd'), { recursive: true });
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(root, 'd', `f${i}`), Buffer.alloc((i * 997) % 20000, i & 0xff));
  fs.linkSync(path.join(root, 'd/f7'), path.join(root, 'hard'));
  // Unaligned data runs inside one block, a hole, and a trailing hole.
  const fd = fs.openSync(path.join(root, 'sparse'), 'w');
  fs.ftruncateSync(fd, 10 << 20);
  fs.writeSync(fd, Buffer.from('head'), 0, 4, 10);
  fs.writeSync(fd, Buffer.alloc(70000, 3), 0, 70000, 4 << 20);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(root, 'big'), Buffer.alloc(3 << 20, 0x5a));
}

/**
 * The tree of `src`, with in-memory files on top when `withMemory` (as bake adds its /boot
 * to a host rootfs): sizes around a block, one of several blocks, an empty one.
 */
async function load(src: string, withMemory: boolean): Promise<{ tree: FsTree; content: ContentSource }> {
  const loaded = await loadDirectory(new NodeSourceFs(src));
  if (!withMemory) return loaded;
  const content = new OverlayContent(loaded.content);
  const t = { sec: 1700000000, nsec: 0 };
  const mem: DirNode = { kind: 'dir', perm: 0o755, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], entries: new Map() };
  for (const [name, size] of [['a', 4095], ['b', 4097], ['c', 300000], ['empty', 0]] as const) {
    mem.entries.set(name, bootFile(content.extra, t, new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff), 0o644));
  }
  const root: DirNode = { ...loaded.tree.root, entries: new Map(loaded.tree.root.entries) };
  root.entries.set('mem', mem);
  return { tree: { root }, content };
}

async function build(src: string, img: string, mode: 'sequential' | 'copier', inPlace: boolean, withMemory = false): Promise<{ copied: number; files: number }> {
  const loaded = await load(src, withMemory);
  const plan = planExt4(loaded.tree, testOptions({ size: 64 << 20 }));
  const size = plan.geo.blocksCount * plan.geo.blockSize;
  if (inPlace) fs.writeFileSync(img, Buffer.alloc(size, 0xee)); // garbage the writer must overwrite
  const dev = inPlace ? NodeFileBlockDevice.open(img) : NodeFileBlockDevice.create(img, size);
  try {
    // Sequential: the same file seen through a plain BlockDevice, without the copy capability.
    const plain = { size: dev.size, readAt: dev.readAt.bind(dev), writeAt: dev.writeAt.bind(dev), flush: dev.flush.bind(dev) };
    // The copier, watched: how many files it took.
    const files = plan.catalog.filesInContentOrder.length;
    let copied = 0;
    const watched: BlockDevice = {
      ...plain,
      copyFiles: (content, count, job, opts) => {
        const bulk = dev.copyFiles(content, count, job, opts);
        for (let i = 0; i < count; i++) if (bulk.copies(i)) copied++;
        return bulk;
      },
    };
    await writeExt4(plan, mode === 'copier' ? watched : plain, loaded.content, { assumeZeroed: !inPlace });
    return { copied, files };
  } finally {
    dev.close();
    await loaded.content.close();
  }
}

describe('host copier', () => {
  const src = path.join(work, 'src');
  makeTree(src);

  for (const inPlace of [false, true]) {
    it(`writes the same bytes as the sequential writer (${inPlace ? 'in place over garbage' : 'fresh sparse image'})`, async () => {
      const a = path.join(work, `seq-${inPlace}.img`);
      const b = path.join(work, `par-${inPlace}.img`);
      await build(src, a, 'sequential', inPlace);
      await build(src, b, 'copier', inPlace);
      expect(sha256File(b)).toBe(sha256File(a));
      if (hasTool('e2fsck')) expectFsckClean(b);
    });
  }

  // A bake's rootfs is host files and its /boot is made in memory: the copier takes the
  // host files and the writer writes the rest (it once declined them all).
  for (const inPlace of [false, true]) {
    it(`takes the host files and leaves in-memory ones to the writer (${inPlace ? 'in place' : 'fresh'})`, async () => {
      const a = path.join(work, `mixed-seq-${inPlace}.img`);
      const b = path.join(work, `mixed-par-${inPlace}.img`);
      await build(src, a, 'sequential', inPlace, true);
      const { copied, files } = await build(src, b, 'copier', inPlace, true);
      expect(copied).toBe(files - 3);
      expect(sha256File(b)).toBe(sha256File(a));
      if (hasTool('e2fsck')) expectFsckClean(b);
    });
  }

  // Grown, shrunk, and grown behind a trailing hole (that file's size is asked by fstat;
  // the others' by their last read asking a byte more).
  for (const [what, change] of [
    ['grew', (f: string) => fs.appendFileSync(f, 'more')],
    ['shrank', (f: string) => fs.truncateSync(f, 1)],
    ['grew past a hole', (f: string) => fs.appendFileSync(f, 'more')],
  ] as const) it(`names a file that changed size after it was scanned (${what})`, async () => {
    const dir = path.join(work, `changing-${what.replace(/ /g, '-')}`);
    makeTree(dir);
    if (what === 'grew past a hole') {
      // 8 KiB of data, then a 1 MiB hole to its end.
      fs.writeFileSync(path.join(dir, 'd/f100'), Buffer.alloc(8192, 1));
      fs.truncateSync(path.join(dir, 'd/f100'), (1 << 20) + 8192);
    }
    const loaded = await loadDirectory(new NodeSourceFs(dir));
    change(path.join(dir, 'd/f100'));
    const plan = planExt4(loaded.tree, testOptions({ size: 64 << 20 }));
    const img = path.join(work, 'changing.img');
    const dev = NodeFileBlockDevice.create(img, plan.geo.blocksCount * plan.geo.blockSize);
      const run = writeExt4(plan, dev, loaded.content, { assumeZeroed: true });
    await expect(run).rejects.toThrow(CorruptInputError);
    await expect(run).rejects.toThrow(/d\/f100: file changed size while reading/);
    dev.close();
  });
});
