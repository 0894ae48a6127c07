// The newc encoder judged by GNU cpio: extraction (as root) gives back exactly the source
// tree, listings come in our order, archives are reproducible, limits fail clearly.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeCpio } from '../../src/bake/cpio/encoder.js';
import { decodeNewcHeader, NEWC_HEADER_SIZE } from '../../src/bake/cpio/newc.js';
import { cpioRecords } from '../../src/bake/cpio/records.js';
import { writeInitramfs } from '../../src/api/initramfs.js';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { UnsupportedError } from '../../src/util/errors.js';
import { hasTool, isRoot } from '../oracles/tools.js';
import { expectTreesEqual } from '../helpers/compare-trees.js';
import { sha256File, tmpDir } from '../helpers/image.js';
import { kitchenSink } from '../helpers/kitchen-sink.js';
import { randomTree } from '../helpers/random-tree.js';

const work = tmpDir('cake-cpio-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
let n = 0;

/**
 * Extracts as root, keeping owners and mtimes, with GNU cpio or libarchive's bsdcpio.
 * GNU cpio cannot restore symlink times (no lutimes) nor directory times (it sets them
 * before extracting the children); bsdcpio defers them but makes sockets as empty files.
 * Between the two, every field is judged by a real extractor.
 */
function extract(archive: string, tool: 'cpio' | 'bsdcpio'): string {
  const dir = path.join(work, `x${n++}`);
  fs.mkdirSync(dir);
  const cmd = tool === 'cpio' ? `cpio -idm --quiet --no-absolute-filenames` : `bsdcpio -idm --quiet`;
  execFileSync('sh', ['-c', `${cmd} < "${archive}"`], { cwd: dir });
  return dir;
}

const EXTRACTORS = [
  ['cpio', { ignoreSymlinkTimes: true, ignoreDirTimes: true }],
  ['bsdcpio', { socketsAsFiles: true }],
] as const;

describe.skipIf(!hasTool('cpio') || !hasTool('bsdcpio'))('cpio newc', () => {
  it.skipIf(!isRoot)('GNU cpio and bsdcpio extract random trees back exactly (content, modes, owners, times, links, devices)', async () => {
    await fc.assert(fc.asyncProperty(randomTree, async (m) => {
      const src = await loadDirectory(m);
      const archive = path.join(work, `r${n++}.cpio`);
      await writeInitramfs(src.tree, src.content, archive, false);
      try {
        for (const [tool, limits] of EXTRACTORS) {
          const dir = extract(archive, tool);
          const got = await loadDirectory(new NodeSourceFs(dir));
          try {
            await expectTreesEqual(src.tree, src.content, got.tree, got.content, {
              ignoreRootEntries: [], ignoreXattrs: true, secondsOnly: true, ignoreRootMeta: true, ...limits,
            });
          } finally {
            await got.content.close();
            fs.rmSync(dir, { recursive: true, force: true });
          }
        }
      } finally {
        fs.rmSync(archive);
      }
    }), { numRuns: Number(process.env.CAKE_PROPERTY_RUNS ?? 100) });
  }, 600_000);

  it('cpio -t lists every entry in our order: parents first, names sorted; gzip is the same archive', async () => {
    const src = await loadDirectory(kitchenSink());
    const plain = path.join(work, 'k.cpio');
    const gz = path.join(work, 'k.cpio.gz');
    await writeInitramfs(src.tree, src.content, plain, false);
    await writeInitramfs(src.tree, src.content, gz, true);
    const listed = execFileSync('sh', ['-c', `cpio -t --quiet < "${plain}"`], { encoding: 'latin1' }).split('\n').filter(Boolean);
    expect(listed).toEqual([...cpioRecords(src.tree)].map((r) => r.name));
    expect(listed[0]).toBe('bigdev');
    expect(listed.indexOf('etc')).toBeLessThan(listed.indexOf('etc/hostname'));
    const unzipped = execFileSync('gzip', ['-dc', gz]);
    expect(unzipped.equals(fs.readFileSync(plain))).toBe(true);
    expect(fs.statSync(plain).size % 512).toBe(0);
  });

  it('is reproducible: same tree, same bytes (plain and gzip)', async () => {
    for (const gzip of [false, true]) {
      const a = path.join(work, `a${gzip}`);
      const b = path.join(work, `b${gzip}`);
      const la = await loadDirectory(kitchenSink());
      await writeInitramfs(la.tree, la.content, a, gzip);
      const lb = await loadDirectory(kitchenSink());
      await writeInitramfs(lb.tree, lb.content, b, gzip);
      expect(sha256File(a)).toBe(sha256File(b));
    }
  });

  it('hard links carry their data once, on the last name; inode numbers count up', async () => {
    const m = new MemorySourceFs();
    m.addFile('a', new TextEncoder().encode('shared'));
    m.addHardLink('b', 'a');
    m.addHardLink('c', 'a');
    m.addFile('d', new TextEncoder().encode('own'));
    const src = await loadDirectory(m);
    const recs = [...cpioRecords(src.tree)];
    expect(recs.map((r) => [r.name, r.ino, r.nlink, r.size])).toEqual([['a', 1, 3, 0], ['b', 1, 3, 0], ['c', 1, 3, 6], ['d', 2, 1, 3]]);
    const chunks: Uint8Array[] = [];
    await encodeCpio(src.tree, src.content, (c) => void chunks.push(new Uint8Array(c)));
    const bytes = Buffer.concat(chunks);
    const h = decodeNewcHeader(bytes, 0);
    expect(h.c_nlink).toBe(3);
    expect(bytes.subarray(NEWC_HEADER_SIZE, NEWC_HEADER_SIZE + 1).toString()).toBe('a');
  });

  it('a file over 4 GiB is a clear error, not a corrupt archive', async () => {
    const m = new MemorySourceFs();
    m.addFile('huge', new Uint8Array(1), { size: 5 * 2 ** 30 }, [{ offset: 0, length: 1 }]);
    const src = await loadDirectory(m);
    await expect(encodeCpio(src.tree, src.content, () => {})).rejects.toThrow(UnsupportedError);
    await expect(encodeCpio(src.tree, src.content, () => {})).rejects.toThrow(/huge: is 5368709120 bytes; cpio newc holds at most 4 GiB/);
  });

  it('the CLI writes nothing when the source is bad', () => {
    const out = path.join(work, 'bad.cpio.gz');
    const r = spawnSync(process.execPath, [path.resolve('dist/cli/main.js'), 'initramfs', path.join(work, 'missing'), '-o', out], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing: cannot read the source: no such file or directory/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
