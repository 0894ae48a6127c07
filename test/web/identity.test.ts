// The derived identity (UUID, hash seed, disk signature) moved from node:crypto to the pure
// sha256 (util/sha256.ts) that the browser shares: the values must be exactly the ones
// node:crypto gave, or every image baked before would change.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diskSignature } from '../../src/bake/bake-identity.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { deriveIdentity } from '../../src/tree/identity.js';
import { sha256 } from '../../src/util/sha256.js';
import { randomTree } from '../helpers/random-tree.js';

/**
 * What the derivation gave before it moved (src/host/identity.ts on node:crypto, commit
 * c97b0ca) for 40 random trees (seed 20261204: every kind of entry, xattrs, hard links,
 * non-ASCII names) and salts with a NUL and a non-ASCII character: the sha256 of all their
 * UUIDs and hash seeds. Should random-tree.ts change, recompute it with that commit's file.
 */
const GOLDEN = '3d03b8090232d9bdf4d03a0824680fa654e9ec195ba75469910e41aeb251b659';

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
    const h = createHash('sha256');
    for (const [i, fs] of fc.sample(randomTree, { seed: 20261204, numRuns: 40 }).entries()) {
      const { tree } = await loadDirectory(fs);
      const id = deriveIdentity(tree, `salt ${i} \u00e9\0x`);
      h.update(id.uuid).update(id.hashSeed);
    }
    expect(h.digest('hex')).toBe(GOLDEN);
  });

  it('the MBR disk signature is what api/bake.ts computes with node:crypto', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (uuid) => {
      const want = createHash('sha256').update(uuid).update('mbr disk signature').digest().readUInt32LE(0);
      expect(diskSignature(uuid)).toBe(want);
    }));
  });
});
