// A tar read in another order than its own (the cpio encoder lists entries sorted; a
// GNU tar without --sort stores them in directory order) is read once, not restarted at
// every step back; the entries wait in memory or, for big trees, in a spill file.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempFileSpill } from '../../src/host/temp-spill.js';
import { loadTar } from '../../src/sources/tar.js';
import type { ContentRef, FileNode } from '../../src/tree/node.js';
import { walkTree } from '../../src/tree/walk.js';
import { hasTool } from '../oracles/tools.js';
import { CLI } from '../helpers/cli.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-tarorder-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** 600 files written in a scrambled order, archived without sorting (reverse of name order). */
function scrambledTar(): { tar: string; src: string } {
  const src = path.join(work, 'src');
  fs.mkdirSync(src);
  const names = Array.from({ length: 600 }, (_, i) => `f${String(i).padStart(4, '0')}`);
  for (const n of names) fs.writeFileSync(path.join(src, n), `${n} `.repeat(200 + (n.length * 37) % 300));
  const list = path.join(work, 'list');
  fs.writeFileSync(list, [...names].reverse().join('\n') + '\n');
  const tar = path.join(work, 'scrambled.tar.gz');
  execFileSync('tar', ['-C', src, '--numeric-owner', '-czf', tar, '-T', list]);
  return { tar, src };
}

describe.skipIf(!hasTool('tar') || !hasTool('cpio'))('tar read out of order', () => {
  const { tar, src } = scrambledTar();

  for (const spill of [false, true]) {
    it(`gives every file its bytes, reading the archive once (${spill ? 'spill file' : 'memory'})`, async () => {
      let opens = 0;
      const open = () => {
        opens++;
        return fs.createReadStream(tar);
      };
      const loaded = await loadTar(open, { label: tar, ...(spill ? { spill: tempFileSpill, spillAbove: 1 } : {}) });
      const files = [...walkTree(loaded.tree.root)].filter((e) => e.node.kind === 'file');
      const refs = files.map((e) => (e.node as FileNode).content!).filter(Boolean) as ContentRef[];
      loaded.content.plan?.(refs); // sorted names: the reverse of the archive's order
      opens = 0;
      for (const e of files) {
        const h = createHash('sha256');
        await loaded.content.read((e.node as FileNode).content!, (c) => void h.update(c));
        expect(h.digest('hex')).toBe(createHash('sha256').update(fs.readFileSync(path.join(src, e.path.join('/')))).digest('hex'));
      }
      expect(opens).toBe(1);
      await loaded.content.close();
    });
  }

  // That the archive is read once is shown above by counting opens, not by a wall-clock bound.
  it('cake-img initramfs of it lists the names sorted (cpio -t)', () => {
    const out = path.join(work, 'out.cpio');
    const r = spawnSync(process.execPath, [CLI, 'initramfs', tar, '-o', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const listed = execFileSync('sh', ['-c', `cpio -t --quiet < "${out}"`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(listed).toEqual([...listed].sort());
    expect(listed).toHaveLength(600);
  });
});

describe.skipIf(!hasTool('zstd'))('zstd tarballs', () => {
  it('a .tar.zst rootfs loads like the plain tar', async () => {
    const src = path.join(work, 'zsrc');
    fs.mkdirSync(path.join(src, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(src, 'etc/hostname'), 'zstd\n');
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(3 << 20, 7));
    const tar = path.join(work, 'z.tar');
    execFileSync('tar', ['-C', src, '--numeric-owner', '-cf', tar, '.']);
    execFileSync('zstd', ['-q', '-f', tar, '-o', `${tar}.zst`]);
    const { loadSource } = await import('../../src/host/load-source.js');
    const a = await loadSource(tar);
    const b = await loadSource(`${tar}.zst`);
    const names = (t: typeof a) => [...walkTree(t.tree.root)].map((e) => e.path.join('/'));
    expect(names(b)).toEqual(names(a));
    const big = b.tree.root.entries.get('big') as FileNode;
    let n = 0;
    await b.content.read(big.content!, (c) => void (n += c.length));
    expect(n).toBe(3 << 20);
    await a.content.close();
    await b.content.close();
  });
});
