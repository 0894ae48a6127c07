// Reproducible identity for an image: UUID and hash seed derived from the tree when the
// user gives none. The digest covers the tree's metadata (paths, kinds, modes, owners,
// sizes, times, link targets, device numbers, xattrs) and the options, not file bytes:
// that would mean reading every file twice. Two trees that differ only in content bytes
// of equal-size files with equal times get the same UUID; give --uuid to tell them apart.
import { createHash } from 'node:crypto';
import type { FsTree } from '../tree/node.js';
import { walkTree } from '../tree/walk.js';

export function treeDigest(tree: FsTree, salt: string): Buffer {
  const h = createHash('sha256');
  h.update(`cake-img identity v1\0${salt}\0`);
  const ids = new Map<object, number>();
  for (const { path, node } of walkTree(tree.root)) {
    let id = ids.get(node);
    const first = id === undefined;
    if (first) ids.set(node, (id = ids.size));
    h.update(Buffer.from(`${path.join('/')}\0`, 'latin1'));
    if (!first) {
      h.update(`=${id}\n`);
      continue;
    }
    const t = node.mtime;
    let extra = '';
    if (node.kind === 'file') extra = `${node.size}`;
    else if (node.kind === 'symlink') extra = node.target;
    else if (node.kind === 'chardev' || node.kind === 'blockdev') extra = `${node.major},${node.minor}`;
    h.update(Buffer.from(`${node.kind} ${node.perm} ${node.uid} ${node.gid} ${t.sec}.${t.nsec} ${extra}\n`, 'latin1'));
    for (const x of node.xattrs) {
      h.update(`${x.name}\0`);
      h.update(x.value);
    }
  }
  return h.digest();
}

/** A name-based (version 5 style) UUID from a digest. */
export function uuidFromDigest(d: Uint8Array): Uint8Array {
  const u = new Uint8Array(d.subarray(0, 16));
  u[6] = (u[6]! & 0x0f) | 0x50;
  u[8] = (u[8]! & 0x3f) | 0x80;
  return u;
}

export function deriveIdentity(tree: FsTree, salt: string): { uuid: Uint8Array; hashSeed: Uint8Array } {
  const d = treeDigest(tree, salt);
  const seed = createHash('sha256').update(d).update('hash seed').digest();
  return { uuid: uuidFromDigest(d), hashSeed: uuidFromDigest(seed) };
}
