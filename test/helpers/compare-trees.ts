// Structural equality of two loaded trees (kinds, modes, owners, mtimes, xattrs, link
// targets, devices, hard-link groups, contents). Used with the kernel's view of an image.
import { expect } from 'vitest';
import type { ContentSource } from '../../src/io/content-source.js';
import type { FsNode, FsTree } from '../../src/tree/node.js';
import { walkTree } from '../../src/tree/walk.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { withLoopMount } from '../oracles/mount.js';
import { expectedDigests } from './compare.js';

export interface TreeCompareOptions {
  /** Root entries the image may add (lost+found). */
  ignoreRootEntries?: string[];
  /** Formats without xattrs (cpio). */
  ignoreXattrs?: boolean;
  /** Formats with whole-second times (cpio). */
  secondsOnly?: boolean;
  /** Formats that do not carry the root directory's own metadata (cpio). */
  ignoreRootMeta?: boolean;
  /** Extractors that cannot set a symlink's own time (GNU cpio has no lutimes). */
  ignoreSymlinkTimes?: boolean;
  /** Extractors that set a directory's time before filling it (GNU cpio). */
  ignoreDirTimes?: boolean;
  /** Extractors that make sockets as empty files (libarchive). */
  socketsAsFiles?: boolean;
}

export async function expectTreesEqual(want: FsTree, wantContent: ContentSource, got: FsTree, gotContent: ContentSource, opts: TreeCompareOptions | string[] = {}): Promise<void> {
  const o: TreeCompareOptions = Array.isArray(opts) ? { ignoreRootEntries: opts } : opts;
  const ignoreRootEntries = o.ignoreRootEntries ?? ['lost+found'];
  const wd = await expectedDigests(want, wantContent);
  const gd = await expectedDigests(got, gotContent);
  const wEntries = [...walkTree(want.root)];
  const gEntries = [...walkTree(got.root)].filter((e) => !(e.path.length >= 1 && ignoreRootEntries.includes(e.path[0]!) && !want.root.entries.has(e.path[0]!)));
  expect(gEntries.map((e) => e.path.join('/'))).toEqual(wEntries.map((e) => e.path.join('/')));
  const pair = new Map<FsNode, FsNode>();
  wEntries.forEach((w, i) => {
    const g = gEntries[i]!;
    const p = '/' + w.path.join('/');
    const a = w.node;
    const b = g.node;
    if (o.socketsAsFiles && a.kind === 'socket' && b.kind === 'file' && b.size === 0) return;
    expect(b.kind, p).toBe(a.kind);
    if (o.ignoreRootMeta && w.path.length === 0) return;
    const mt = (n: FsNode) =>
      (o.ignoreSymlinkTimes && n.kind === 'symlink') || (o.ignoreDirTimes && n.kind === 'dir') ? null : o.secondsOnly ? Math.min(Math.max(0, n.mtime.sec), 0xffffffff) : n.mtime;
    expect({ perm: b.perm, uid: b.uid, gid: b.gid, mtime: mt(b) }, p).toEqual({ perm: a.perm, uid: a.uid, gid: a.gid, mtime: mt(a) });
    const xs = (n: FsNode) => n.xattrs.map((x) => [x.name, Buffer.from(x.value).toString('hex')]);
    if (!o.ignoreXattrs) expect(xs(b), `${p} xattrs`).toEqual(xs(a));
    if (a.kind === 'symlink' && b.kind === 'symlink') expect(b.target, p).toBe(a.target);
    if ((a.kind === 'chardev' || a.kind === 'blockdev') && (b.kind === 'chardev' || b.kind === 'blockdev')) expect([b.major, b.minor], p).toEqual([a.major, a.minor]);
    if (a.kind === 'file' && b.kind === 'file') {
      expect(b.size, `${p} size`).toBe(a.size);
      expect(gd.get(b), `${p} content`).toBe(wd.get(a));
    }
    // Hard links: the same source node must map to the same image node, and only it.
    const prev = pair.get(a);
    if (prev) expect(prev === b, `${p} hard link group`).toBe(true);
    else pair.set(a, b);
  });
  expect(new Set(pair.values()).size, 'distinct inodes').toBe(pair.size);
}

/** The kernel's view of an image (read-only loop mount, root only) equals the source tree. */
export async function expectKernelViewEquals(img: string, want: FsTree, wantContent: ContentSource): Promise<void> {
  await withLoopMount(img, async (dir) => {
    const got = await loadDirectory(new NodeSourceFs(dir));
    try {
      await expectTreesEqual(want, wantContent, got.tree, got.content);
    } finally {
      await got.content.close();
    }
  });
}
