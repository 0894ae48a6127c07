// The fixed large cases from the spec: a 100,000-entry directory, 200-deep nesting,
// a sparse 5 GiB file (holes found with SEEK_DATA on a real host file), a file of 2,000
// extents (a two-level extent tree), and the limits that must fail cleanly.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { planExt4 } from '../../src/bake/ext4/planner.js';
import { entryPath, inoOf } from '../../src/bake/ext4/catalog.js';
import { textToByteString } from '../../src/tree/names.js';
import { DoesNotFitError, UnsupportedError } from '../../src/util/errors.js';
import { debugfsBatch, parseLs, parseStat, q } from '../oracles/debugfs.js';
import { expectFsckClean } from '../oracles/e2fsck.js';
import { canLoopMount, withLoopMount } from '../oracles/mount.js';
import { hasTool } from '../oracles/tools.js';
import { expectImageMatchesTree } from '../helpers/compare.js';
import { buildImage, testOptions, tmpDir } from '../helpers/image.js';

const work = tmpDir();
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const oracles = () => hasTool('e2fsck') && hasTool('debugfs');

describe('large cases', () => {
  it('a directory of 100,000 entries (two-level htree)', async () => {
    if (!oracles()) return;
    const m = new MemorySourceFs();
    m.addDir('big');
    for (let i = 0; i < 100_000; i++) m.addFile(`big/entry-with-a-longer-name-${i.toString(36).padStart(6, '0')}`, new Uint8Array(0));
    const src = await loadDirectory(m);
    const img = path.join(work, 'wide.img');
    const plan = await buildImage(src.tree, src.content, img);
    const bigIno = inoOf(plan.catalog, src.tree.root.entries.get('big')!);
    const big = plan.catalog.dirs.get(bigIno)!;
    expect(entryPath(plan.catalog, bigIno)).toBe('/big');
    expect(big.indexed).toBe(true);
    expect(big.nodes).toBeGreaterThan(0); // indirect_levels = 1
    expectFsckClean(img);
    const sample = Array.from({ length: 50 }, (_, k) => `/big/entry-with-a-longer-name-${(k * 1999).toString(36).padStart(6, '0')}`);
    const out = debugfsBatch(img, ['ls -p /big', ...sample.map((p) => `stat ${q(p)}`)]);
    expect(parseLs(out[0]!).size).toBe(100_000);
    for (const s of out.slice(1)) expect(parseStat(s).type).toBe('regular');
    if (canLoopMount) {
      await withLoopMount(img, async (dir) => {
        expect(fs.readdirSync(path.join(dir, 'big')).length).toBe(100_000);
        for (let i = 0; i < 100_000; i += 997) fs.statSync(path.join(dir, 'big', `entry-with-a-longer-name-${i.toString(36).padStart(6, '0')}`));
      });
    }
  });

  it('200-deep nesting', async () => {
    if (!oracles()) return;
    const m = new MemorySourceFs();
    let p = '';
    for (let i = 0; i < 200; i++) {
      p = p ? `${p}/d${i}` : `d${i}`;
      m.addDir(p);
    }
    m.addFile(`${p}/leaf`, new TextEncoder().encode('deep'));
    const src = await loadDirectory(m);
    const img = path.join(work, 'deep.img');
    await buildImage(src.tree, src.content, img);
    expectFsckClean(img);
    await expectImageMatchesTree(img, src.tree, src.content);
  });

  it('a file of 2,000 extents gets a two-level extent tree', async () => {
    if (!oracles()) return;
    const bs = 4096;
    const data = new Uint8Array(4000 * bs);
    const runs = [];
    for (let i = 0; i < 2000; i++) {
      data.fill((i % 250) + 1, 2 * i * bs, (2 * i + 1) * bs);
      runs.push({ offset: 2 * i * bs, length: bs });
    }
    const m = new MemorySourceFs();
    m.addFile('fragmented', data, {}, runs);
    const src = await loadDirectory(m);
    const img = path.join(work, 'frag.img');
    await buildImage(src.tree, src.content, img);
    expectFsckClean(img);
    await expectImageMatchesTree(img, src.tree, src.content);
    const [ex] = debugfsBatch(img, ['ex /fragmented']);
    const depth = Math.max(...[...ex!.matchAll(/^\s*(\d+)\/\s*(\d+)/gm)].map((x) => Number(x[2])));
    expect(depth).toBe(2);
    expect(parseStat(debugfsBatch(img, ['stat /fragmented'])[0]!).blockcount).toBe((2000 + 6 + 1) * 8); // data + 6 leaves + 1 index
  });

  it('a sparse 5 GiB host file keeps its holes and nothing else', async () => {
    if (!oracles()) return;
    const dir = path.join(work, 'sparse-src');
    fs.mkdirSync(dir);
    const f = path.join(dir, 'disk');
    const fd = fs.openSync(f, 'w');
    fs.ftruncateSync(fd, 5 * 2 ** 30);
    const chunk = Buffer.alloc(1 << 20, 0xab);
    fs.writeSync(fd, chunk, 0, chunk.length, 0);
    fs.writeSync(fd, chunk, 0, chunk.length, 3 * 2 ** 30);
    fs.writeSync(fd, Buffer.from('end'), 0, 3, 5 * 2 ** 30 - 3);
    fs.closeSync(fd);
    // Zero *data* (not a hole) must stay allocated: boot loaders cannot read holes.
    fs.writeFileSync(path.join(dir, 'zeros'), Buffer.alloc(64 * 1024));
    const src = await loadDirectory(new NodeSourceFs(dir));
    const node = src.tree.root.entries.get('disk')!;
    expect(node.kind === 'file' && node.dataRuns?.length).toBe(3);
    const img = path.join(work, 'sparse.img');
    await buildImage(src.tree, src.content, img);
    await src.content.close();
    expect(fs.statSync(img).blocks * 512).toBeLessThan(100 * 2 ** 20); // the image is sparse too
    expectFsckClean(img);
    const [s, z] = debugfsBatch(img, ['stat /disk', 'stat /zeros']).map(parseStat);
    expect(s!.size).toBe(5 * 2 ** 30);
    expect(s!.blockcount).toBe((256 + 256 + 1) * 8); // 2 MiB and one block of data, three extents in the inode
    expect(z!.blockcount).toBe(16 * 8);
    expect(s!.extents).toMatch(/\(0-255\).*\(786432-787967\)|\(0-255\)/);
    const tail = path.join(work, 'tail');
    debugfsBatch(img, [`dump /disk ${tail}`]);
    const got = fs.openSync(tail, 'r');
    const buf = Buffer.alloc(3);
    fs.readSync(got, buf, 0, 3, 5 * 2 ** 30 - 3);
    fs.closeSync(got);
    expect(buf.toString()).toBe('end');
    fs.rmSync(tail);
  });
});

describe('limits fail before anything is written', () => {
  it('a name over 255 bytes', async () => {
    const m = new MemorySourceFs();
    m.addFile(textToByteString('é'.repeat(128)), new Uint8Array(1));
    const src = await loadDirectory(m);
    expect(() => planExt4(src.tree, testOptions())).toThrow(UnsupportedError);
    expect(() => planExt4(src.tree, testOptions())).toThrow(/name is 256 bytes; ext4 allows 255/);
  });
  it('a symlink target longer than a block', async () => {
    const m = new MemorySourceFs();
    m.addSymlink('l', 'x'.repeat(1024));
    const src = await loadDirectory(m);
    expect(() => planExt4(src.tree, testOptions({ blockSize: 1024 }))).toThrow(/symlink target is 1024 bytes/);
  });
  it('a size that is too small says how much is needed', async () => {
    const m = new MemorySourceFs();
    m.addFile('big', new Uint8Array(20 << 20));
    const src = await loadDirectory(m);
    let err: unknown;
    try {
      planExt4(src.tree, testOptions({ size: 16 << 20 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DoesNotFitError);
    const e = err as DoesNotFitError;
    expect(e.neededBytes).toBeGreaterThan(20 << 20);
    expect(e.message).toMatch(/needs at least .* use --size \d+M/);
    // And the figure is right: that size works.
    expect(() => planExt4(src.tree, testOptions({ size: e.neededBytes }))).not.toThrow();
  });
});
void execFileSync;
