// A cooked directory (rootfs/ + metadata table) holds a tree exactly, even as a user who
// cannot chown or mknod; and the rescan after a script follows the cook rules: unchanged
// entries keep their metadata, chmods are kept, replaced or new entries are root's,
// deletions stay deleted, device placeholders come back as devices.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCookedDir } from '../../src/host/cooked-dir.js';
import { materialise } from '../../src/cook/materialise.js';
import { BytesContent } from '../../src/io/content-source.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { hashTree } from '../../src/tree/hash.js';
import { type DirNode, type FsNode, newDir } from '../../src/tree/node.js';
import { expectTreesEqual } from '../helpers/compare-trees.js';
import { randomTree } from '../helpers/random-tree.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-cooked-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const runs = Number(process.env.CAKE_PROPERTY_RUNS ?? 100);
const sha = () => createHash('sha256');
let n = 0;

describe('cooked directories', () => {
  it('materialise then load gives back random trees exactly, and the same hash', async () => {
    await fc.assert(fc.asyncProperty(randomTree, async (m) => {
      const src = await loadDirectory(m, { keepAtimeCtime: true });
      const dir = path.join(work, `r${n++}`);
      fs.mkdirSync(dir);
      try {
        await materialise(src, dir);
        const back = await loadCookedDir(dir);
        try {
          await expectTreesEqual(src.tree, src.content, back.tree, back.content, { ignoreRootEntries: [] });
          expect(await hashTree(back.tree, back.content, sha)).toBe(await hashTree(src.tree, src.content, sha));
        } finally {
          await back.content.close();
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }), { numRuns: runs });
  }, 600_000);

  it('the rescan rules', async () => {
    const content = new BytesContent();
    const t = { sec: 1_600_000_000, nsec: 123_456_789 };
    const base = { uid: 1000, gid: 1000, mtime: t, atime: t, ctime: t, xattrs: [{ name: 'user.tag', value: new Uint8Array([1, 2]) }] };
    const file = (text: string, perm: number): FsNode => ({ kind: 'file', perm, ...base, size: text.length, content: content.add(Buffer.from(text)) });
    const root: DirNode = newDir(0o755, 0, 0, t);
    const names: [string, FsNode][] = [
      ['untouched', file('same\n', 0o4750)],
      ['chmodded', file('same\n', 0o640)],
      ['edited', file('before\n', 0o644)],
      ['replaced', file('old\n', 0o644)],
      ['deleted', file('bye\n', 0o644)],
      ['null', { kind: 'chardev', perm: 0o666, ...base, major: 1, minor: 3 }],
      ['pipe', { kind: 'fifo', perm: 0o600, ...base }],
      ['gone-dev', { kind: 'blockdev', perm: 0o660, ...base, major: 8, minor: 0 }],
    ];
    for (const [k, v] of names) root.entries.set(k, v);
    const dir = path.join(work, 'rules');
    fs.mkdirSync(dir);
    await materialise({ tree: { root }, content, warnings: [] }, dir);
    const r = (p: string) => path.join(dir, 'rootfs', p);
    // What a script might do.
    fs.chmodSync(r('chmodded'), 0o600);
    fs.appendFileSync(r('edited'), 'after\n');
    fs.utimesSync(r('edited'), 1_700_000_000, 1_700_000_000); // an edit moves mtime (make sure it differs)
    fs.rmSync(r('replaced'));
    fs.writeFileSync(r('replaced'), 'new\n');
    fs.rmSync(r('deleted'));
    fs.writeFileSync(r('created'), 'hello\n', { mode: 0o644 });
    fs.rmSync(r('gone-dev'));
    fs.writeFileSync(r('gone-dev'), 'now a file\n');
    const got = await loadCookedDir(dir);
    const e = (k: string) => got.tree.root.entries.get(k)!;
    expect(e('untouched')).toMatchObject({ kind: 'file', perm: 0o4750, uid: 1000, gid: 1000, mtime: t });
    expect(e('untouched').xattrs.map((x) => x.name)).toEqual(['user.tag']);
    expect(e('chmodded')).toMatchObject({ perm: 0o600, uid: 1000, gid: 1000 });
    expect(e('edited')).toMatchObject({ kind: 'file', perm: 0o644, uid: 1000, gid: 1000, size: 13 });
    expect(e('edited').mtime.sec).toBe(1_700_000_000);
    expect(e('replaced')).toMatchObject({ kind: 'file', uid: 0, gid: 0, xattrs: [] });
    expect(got.tree.root.entries.has('deleted')).toBe(false);
    expect(e('created')).toMatchObject({ kind: 'file', uid: 0, gid: 0 });
    expect(e('null')).toMatchObject({ kind: 'chardev', major: 1, minor: 3, perm: 0o666, uid: 1000 });
    expect(e('pipe')).toMatchObject({ kind: 'fifo', perm: 0o600, uid: 1000 });
    expect(e('gone-dev')).toMatchObject({ kind: 'file', uid: 0, size: 11 });
    expect(e('untouched').kind === 'file' && got.tree.root.perm).toBe(0o755);
    await got.content.close();
  });
});
