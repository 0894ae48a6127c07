// fileSegments' shortcut for the common file (no holes, one extent from block 0) must give
// exactly what the general walk gives, and the general walk what the file's bytes need.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fileSegments, segmentsOf } from '../../src/bake/ext4/file-segments.js';
import type { FileNode } from '../../src/tree/node.js';

const file = (size: number, dataRuns?: { offset: number; length: number }[]): FileNode => ({
  kind: 'file', perm: 0o644, uid: 0, gid: 0, mtime: { sec: 0, nsec: 0 }, atime: { sec: 0, nsec: 0 }, ctime: { sec: 0, nsec: 0 },
  xattrs: [], size, content: { order: 0, handle: size }, ...(dataRuns ? { dataRuns } : {}),
});

describe('fileSegments', () => {
  it('the one-extent shortcut equals the general walk', () => {
    fc.assert(fc.property(fc.constantFrom(1024, 4096), fc.integer({ min: 1, max: 1 << 22 }), fc.integer({ min: 0, max: 1 << 20 }), fc.nat(3), (bs, size, physical, spare) => {
      const blocks = Math.ceil(size / bs) + spare;
      const maps = [{ logical: 0, physical, length: blocks }];
      expect(fileSegments(file(size), maps, bs)).toEqual(segmentsOf(file(size), maps, bs));
    }), { numRuns: 500 });
  });

  it('a file of two extents, or with holes, takes the general walk', () => {
    const maps = [{ logical: 0, physical: 100, length: 1 }, { logical: 1, physical: 300, length: 1 }];
    expect(fileSegments(file(6000), maps, 4096)).toEqual({ copies: [0, 4096, 409600, 4096, 1904, 1228800], zeros: [1230704, 2192] });
    const holes = file(8192, [{ offset: 4096, length: 10 }]);
    expect(fileSegments(holes, [{ logical: 1, physical: 7, length: 1 }], 4096)).toEqual(segmentsOf(holes, [{ logical: 1, physical: 7, length: 1 }], 4096));
  });
});
