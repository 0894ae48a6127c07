// The derived identity (UUID, hash seed, disk signature) moved from node:crypto to the pure
// sha256 (util/sha256.ts) that the browser shares: the values must be exactly the ones
// node:crypto gave, or every image baked before would change.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diskSignature } from '../../src/bake/bake-identity.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { deriveIdentity } from '../../src/tree/identity.js';
import type { FsNode, FsTree } from '../../src/tree/node.js';
import { sortedEntries } from '../../src/tree/walk.js';
import { sha256 } from '../../src/util/sha256.js';
import { randomTree } from '../helpers/random-tree.js';

/** The derivation as it was (src/host/identity.ts before the move), on node:crypto. */
function nodeIdentity(tree: FsTree, salt: string): { uuid: Uint8Array; hashSeed: Uint8Array } {
  const h = createHash('sha256');
  h.update(`cake-img identity v1\0${salt}\0`);
  const ids = new Map<object, number>();
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
    if (node.kind === 'dir') for (const [name, child] of sortedEntries(node)) visit(child, `${path}/${name}`);
  };
  visit(tree.root, '');
  flush();
  const d = h.digest();
  const v5 = (x: Uint8Array) => {
    const u = new Uint8Array(x.subarray(0, 16));
    u[6] = (u[6]! & 0x0f) | 0x50;
    u[8] = (u[8]! & 0x3f) | 0x80;
    return u;
  };
  return { uuid: v5(d), hashSeed: v5(createHash('sha256').update(d).update('hash seed').digest()) };
}

describe('pure sha256 identity', () => {
  it('sha256 matches node:crypto for bytes, UTF-8 and latin1 text, in any split', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), fc.string(), fc.nat(3000), (bytes, text, cut) => {
      const c = Math.min(cut, bytes.length);
      const ours = sha256().update(bytes.subarray(0, c)).update(bytes.subarray(c)).update(text).update(text, 'latin1').hex();
      const theirs = createHash('sha256').update(bytes).update(text).update(text, 'latin1').digest('hex');
      expect(ours).toBe(theirs);
    }), { numRuns: 200 });
  });

  it('derived UUID and hash seed are unchanged on random trees (names with non-ASCII bytes, xattrs, hard links)', async () => {
    await fc.assert(fc.asyncProperty(randomTree, fc.string(), async (fs, salt) => {
      const { tree } = await loadDirectory(fs);
      const a = deriveIdentity(tree, salt);
      const b = nodeIdentity(tree, salt);
      expect(Buffer.from(a.uuid).toString('hex')).toBe(Buffer.from(b.uuid).toString('hex'));
      expect(Buffer.from(a.hashSeed).toString('hex')).toBe(Buffer.from(b.hashSeed).toString('hex'));
    }), { numRuns: 60 });
  });

  it('the MBR disk signature is what api/bake.ts computes with node:crypto', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (uuid) => {
      const want = createHash('sha256').update(uuid).update('mbr disk signature').digest().readUInt32LE(0);
      expect(diskSignature(uuid)).toBe(want);
    }));
  });
});
