// Reproducible identity for an image: UUID and hash seed derived from the tree when the
// user gives none. The digest covers the tree's metadata (paths, kinds, modes, owners,
// sizes, times, link targets, device numbers, xattrs) and the options, not file bytes:
// that would mean reading every file twice. Two trees that differ only in content bytes
// of equal-size files with equal times get the same UUID; give --uuid to tell them apart.
// Pure (util/sha256.ts), so the CLI and the browser derive the same identity.
import { sha256 } from '../util/sha256.js';
import type { FsNode, FsTree } from './node.js';
import { sortedEntries } from './walk.js';

export function treeDigest(tree: FsTree, salt: string): Uint8Array {
  const h = sha256();
  h.update(`cake-img identity v1\0${salt}\0`);
  const ids = new Map<object, number>();
  // Text is gathered in a string and hashed in large pieces: one update per entry was
  // a visible share of planning a 10,000-file tree. Names are byte strings (latin1).
  let text = '';
  const flush = () => {
    h.update(text, 'latin1');
    text = '';
  };
  const visit = (node: FsNode, path: string) => {
    let id = ids.get(node);
    if (id !== undefined) {
      text += `${path}\0=${id}\n`;
      return;
    }
    ids.set(node, (id = ids.size));
    const t = node.mtime;
    let extra = '';
    if (node.kind === 'file') extra = `${node.size}`;
    else if (node.kind === 'symlink') extra = node.target;
    else if (node.kind === 'chardev' || node.kind === 'blockdev') extra = `${node.major},${node.minor}`;
    text += `${path}\0${node.kind} ${node.perm} ${node.uid} ${node.gid} ${t.sec}.${t.nsec} ${extra}\n`;
    for (const x of node.xattrs) {
      flush();
      h.update(`${x.name}\0`);
      h.update(x.value);
    }
    if (text.length > 1 << 16) flush();
    if (node.kind === 'dir') for (const [name, child] of sortedEntries(node)) visit(child, `${path}/${name}`);
  };
  visit(tree.root, '');
  flush();
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
  const seed = sha256().update(d).update('hash seed').digest();
  return { uuid: uuidFromDigest(d), hashSeed: uuidFromDigest(seed) };
}
