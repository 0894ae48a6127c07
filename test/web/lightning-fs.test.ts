// The lightning-fs SourceFs adapter (web/lightning-source-fs.ts) in Node 20: lightning-fs's
// default backend needs `navigator` (Node 21 has it, 20 does not) and IndexedDB, so the
// test gives it an empty navigator and fake-indexeddb. The conformance check: random trees
// (files, directories, symlinks, permission bits, UTF-8 names, empty and chunk-crossing
// files) written into lightning-fs read back exactly as the same tree in MemorySourceFs
// with the adapter's owner and time, through the directory source.
import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { hashTree } from '../../src/tree/hash.js';
import { textToByteString } from '../../src/tree/names.js';
import { sha256Hasher } from '../../src/util/sha256.js';
import { type LightningPromises, LightningSourceFs } from '../../web/lightning-source-fs.js';

(globalThis as { navigator?: object }).navigator ??= {};
type Lfs = { promises: LightningPromises & { mkdir(p: string, o?: { mode?: number }): Promise<void>; writeFile(p: string, d: Uint8Array, o?: { mode?: number }): Promise<void>; symlink(t: string, p: string): Promise<void> } };
let FS: new (name: string, opts?: { wipe?: boolean }) => Lfs;
beforeAll(async () => {
  FS = (await import('@isomorphic-git/lightning-fs')).default as never;
});

const name = fc.array(fc.constantFrom(...'abcxyz019_-.', 'é', '日'), { minLength: 1, maxLength: 12 }).map((a) => a.join('')).filter((n) => n !== '.' && n !== '..');
const entry = fc.record({
  kind: fc.constantFrom('dir', 'file', 'file', 'symlink'),
  parent: fc.nat(),
  name,
  perm: fc.integer({ min: 0, max: 0o7777 }),
  size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 }), fc.integer({ min: (1 << 20) - 10, max: (1 << 20) + 10 })),
  target: fc.stringMatching(/^[a-z/.é]{1,40}$/),
});

let n = 0;

describe('lightning-fs SourceFs adapter', () => {
  it('reads random trees exactly as the in-memory SourceFs holding the same tree', async () => {
    await fc.assert(fc.asyncProperty(fc.array(entry, { maxLength: 25 }), fc.integer({ min: 0, max: 70_000 }), async (ops, owner) => {
      const fs = new FS(`t${n++}`, { wipe: true });
      const p = fs.promises;
      const mem = new MemorySourceFs();
      await p.mkdir('/o', { mode: 0o755 });
      const dirs = [''];
      const used = new Set<string>();
      for (const o of ops) {
        const parent = dirs[o.parent % dirs.length]!;
        const rel = parent ? `${parent}/${o.name}` : o.name;
        if (used.has(rel)) continue;
        used.add(rel);
        const meta = { uid: owner, gid: owner + 1, mtime: { sec: 1_700_000_000, nsec: 0 } };
        if (o.kind === 'dir') {
          await p.mkdir(`/o/${rel}`, { mode: o.perm });
          mem.addDir(textToByteString(rel), { ...meta, mode: 0o040000 | o.perm });
          dirs.push(rel);
        } else if (o.kind === 'file') {
          const data = Uint8Array.from({ length: o.size }, (_, i) => (i * 31 + o.perm) & 0xff);
          await p.writeFile(`/o/${rel}`, data, { mode: o.perm });
          mem.addFile(textToByteString(rel), data, { ...meta, mode: 0o100000 | o.perm });
        } else {
          await p.symlink(o.target, `/o/${rel}`);
          mem.addSymlink(textToByteString(rel), textToByteString(o.target), { ...meta, mode: 0o120777 });
        }
      }
      const a = await loadDirectory(new LightningSourceFs(p, '/o', { uid: owner, gid: owner + 1, time: 1_700_000_000 }));
      const b = await loadDirectory(mem);
      // The root's own owner comes from the options too; MemorySourceFs's root is 0:0.
      b.tree.root.uid = owner;
      b.tree.root.gid = owner + 1;
      expect(await hashTree(a.tree, a.content, sha256Hasher)).toBe(await hashTree(b.tree, b.content, sha256Hasher));
      // Times are the option's, never lightning-fs's clock; no xattrs; names in byte order.
      for (const [, node] of a.tree.root.entries) {
        expect(node.mtime).toEqual({ sec: 1_700_000_000, nsec: 0 });
        expect(node.xattrs).toEqual([]);
      }
    }), { numRuns: 25 });
  }, 120_000);

  it('says what is missing in one line', async () => {
    const fs = new FS('missing', { wipe: true });
    await expect(new LightningSourceFs(fs.promises, '/nowhere').lstat('x')).rejects.toThrow(/\/nowhere\/x: no such file or directory/);
  });
});
