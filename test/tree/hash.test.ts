// The canonical tree hash (what `cook --sha256` pins): stable across sources and times,
// different for any change an image would show. Pinned against a known value so the
// documented serialisation cannot drift without a test saying so.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BytesContent } from '../../src/io/content-source.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { hashTree } from '../../src/tree/hash.js';
import { type DirNode, type FileNode, type FsNode, newDir } from '../../src/tree/node.js';
import { walkTree } from '../../src/tree/walk.js';
import { randomTree } from '../helpers/random-tree.js';

const sha = () => createHash('sha256');
const T = { sec: 1_600_000_000, nsec: 0 };

function small(): { root: DirNode; content: BytesContent } {
  const content = new BytesContent();
  const root = newDir(0o755, 0, 0, T);
  const base = { uid: 0, gid: 0, mtime: T, atime: T, ctime: T, xattrs: [] };
  const hello: FileNode = { kind: 'file', perm: 0o644, ...base, size: 6, content: content.add(Buffer.from('hello\n')) };
  const etc = newDir(0o755, 0, 0, T);
  etc.entries.set('hostname', hello);
  etc.entries.set('hostname-link', hello);
  root.entries.set('etc', etc);
  root.entries.set('sh', { kind: 'symlink', perm: 0o777, ...base, target: 'busybox' });
  root.entries.set('null', { kind: 'chardev', perm: 0o666, ...base, major: 1, minor: 3 });
  root.entries.set('sparse', { kind: 'file', perm: 0o600, ...base, size: 10, content: content.add(Buffer.from('ab')), dataRuns: [{ offset: 4, length: 2 }] });
  return { root, content };
}

describe('tree hash', () => {
  it('has the documented value for a small tree', async () => {
    const { root, content } = small();
    // The serialisation, written out by hand from the format in src/tree/hash.ts.
    const hex = (s: string) => createHash('sha256').update(s).digest('hex');
    const doc =
      '/\0d 0755 0 0 \x000\n' +
      '/etc\0d 0755 0 0 \x000\n' +
      `/etc/hostname\0f 0644 0 0 6 ${hex('hello\n')}\x000\n` +
      '/etc/hostname-link\0h 0644 0 0 /etc/hostname\x000\n' +
      '/null\0c 0666 0 0 1 3\x000\n' +
      '/sh\0l 0777 0 0 busybox\x000\n' +
      `/sparse\0f 0600 0 0 10 ${hex('\0\0\0\0ab\0\0\0\0')}\x000\n`;
    expect(await hashTree({ root }, content, sha)).toBe(`sha256:${hex(doc)}`);
  });

  it('ignores times; changes with mode, owner, content, target, device, xattrs, links', async () => {
    const h = async (edit: (r: DirNode) => void) => {
      const { root, content } = small();
      edit(root);
      return hashTree({ root }, content, sha);
    };
    const base = await h(() => {});
    const get = (r: DirNode, p: string) => p.split('/').reduce<FsNode>((d, n) => (d as DirNode).entries.get(n)!, r);
    expect(await h((r) => { get(r, 'etc/hostname').mtime = { sec: 5, nsec: 7 }; r.atime = { sec: 9, nsec: 0 }; })).toBe(base);
    const changes: ((r: DirNode) => void)[] = [
      (r) => { get(r, 'etc/hostname').perm = 0o640; },
      (r) => { get(r, 'etc/hostname').uid = 1; },
      (r) => { get(r, 'etc').gid = 5; },
      (r) => { (get(r, 'sh') as { target: string }).target = 'busybox2'; },
      (r) => { (get(r, 'null') as { minor: number }).minor = 5; },
      (r) => { get(r, 'sh').xattrs = [{ name: 'user.x', value: new Uint8Array([1]) }]; },
      (r) => { (get(r, 'sparse') as FileNode).size = 11; },
      (r) => { (get(r, 'sparse') as FileNode).dataRuns = [{ offset: 5, length: 2 }]; },
      (r) => { const e = get(r, 'etc') as DirNode; e.entries.set('hostname-link', { ...(get(r, 'etc/hostname') as FileNode) }); }, // a copy, not a link
      (r) => { r.entries.delete('null'); },
    ];
    const seen = new Set([base]);
    for (const c of changes) {
      const x = await h(c);
      expect(seen.has(x), c.toString()).toBe(false);
      seen.add(x);
    }
  });

  it('depends only on the tree, not on the order a source reads it in', async () => {
    await fc.assert(fc.asyncProperty(randomTree, async (m) => {
      const a = await loadDirectory(m);
      const b = await loadDirectory(m);
      // Shuffle the second tree's insertion order: maps keep insertion order, the hash must not care.
      for (const e of walkTree(b.tree.root)) {
        if (e.node.kind === 'dir') {
          const entries = [...e.node.entries].reverse();
          e.node.entries.clear();
          for (const [k, v] of entries) e.node.entries.set(k, v);
        }
      }
      expect(await hashTree(b.tree, b.content, sha)).toBe(await hashTree(a.tree, a.content, sha));
    }), { numRuns: 50 });
  });
});
