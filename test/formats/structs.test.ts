// The format structs: golden offsets from the specs (qcow2.txt, the VHD spec, VMware's
// Virtual Disk Format 5.0), decode(encode(x)) round trips, table entries with bits 62/63,
// the VHD checksum and CHS of the spec's appendix, the qcow2 layout's fixed point, format
// names and detection.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectFormat, formatOfName, outputFormat } from '../../src/bake/image-formats/format.js';
import {
  ENTRY_COPIED, QCOW2_HEADER, compressedEntry, entryOffset, getEntry, parseCompressedEntry, setEntry,
} from '../../src/bake/image-formats/qcow2/header.js';
import { planQcow2, qcow2Metadata } from '../../src/bake/image-formats/qcow2/layout.js';
import {
  VHD_DYNAMIC_HEADER, VHD_FOOTER, encodeVhdFooter, vhdChecksum, vhdGeometry, vhdSize,
} from '../../src/bake/image-formats/vhd/footer.js';
import { VMDK_GRAIN_MARKER, VMDK_METADATA_MARKER, VMDK_SPARSE_HEADER, gdOffsetFields, gdOffsetOf } from '../../src/bake/image-formats/vmdk/header.js';
import { adler32, inflateInto, zlibWrap } from '../../src/bake/image-formats/zlib.js';
import { deflateBlock } from '../../src/bake/cpio/gzip.js';
import type { Struct } from '../../src/struct/schema.js';
import { InvalidOptionError } from '../../src/util/errors.js';

describe('golden offsets', () => {
  it('qcow2 header (qcow2.txt)', () => {
    const o = QCOW2_HEADER.offsets;
    expect([o.magic, o.version, o.backing_file_offset, o.backing_file_size, o.cluster_bits, o.size, o.crypt_method, o.l1_size, o.l1_table_offset])
      .toEqual([0, 4, 8, 16, 20, 24, 32, 36, 40]);
    expect([o.refcount_table_offset, o.refcount_table_clusters, o.nb_snapshots, o.snapshots_offset, o.incompatible_features_hi, o.compatible_features_hi, o.autoclear_features_hi, o.refcount_order, o.header_length])
      .toEqual([48, 56, 60, 64, 72, 80, 88, 96, 100]);
    expect(QCOW2_HEADER.size).toBe(104);
  });
  it('VHD footer and dynamic header', () => {
    const o = VHD_FOOTER.offsets;
    expect([o.features, o.fileFormatVersion, o.dataOffsetHi, o.timeStamp, o.creatorApplication, o.creatorVersion, o.creatorHostOs, o.originalSize, o.currentSize])
      .toEqual([8, 12, 16, 24, 28, 32, 36, 40, 48]);
    expect([o.cylinders, o.heads, o.sectorsPerTrack, o.diskType, o.checksum, o.uniqueId, o.savedState]).toEqual([56, 58, 59, 60, 64, 68, 84]);
    expect(VHD_FOOTER.size).toBe(512);
    const d = VHD_DYNAMIC_HEADER.offsets;
    expect([d.tableOffset, d.headerVersion, d.maxTableEntries, d.blockSize, d.checksum, d.parentUniqueId, d.parentTimeStamp, d.parentUnicodeName])
      .toEqual([16, 24, 28, 32, 36, 40, 56, 64]);
    expect(VHD_DYNAMIC_HEADER.size).toBe(1024);
  });
  it('VMDK sparse extent header and markers', () => {
    const o = VMDK_SPARSE_HEADER.offsets;
    expect([o.version, o.flags, o.capacity, o.grainSize, o.descriptorOffset, o.descriptorSize, o.numGTEsPerGT, o.rgdOffset, o.gdOffsetLo, o.overHead])
      .toEqual([4, 8, 12, 20, 28, 36, 44, 48, 56, 64]);
    expect([o.uncleanShutdown, o.singleEndLineChar, o.doubleEndLineChar2, o.compressAlgorithm]).toEqual([72, 73, 76, 77]);
    expect(VMDK_SPARSE_HEADER.size).toBe(512);
    expect([VMDK_GRAIN_MARKER.size, VMDK_METADATA_MARKER.offsets.type, VMDK_METADATA_MARKER.size]).toEqual([12, 12, 512]);
  });
});

const STRUCTS = [QCOW2_HEADER, VHD_FOOTER, VHD_DYNAMIC_HEADER, VMDK_SPARSE_HEADER, VMDK_GRAIN_MARKER, VMDK_METADATA_MARKER] as unknown as Struct<object>[];

describe('round trips', () => {
  it('decode(encode(decode(bytes))) for every struct (values JavaScript holds)', () => {
    for (const s of STRUCTS) {
      fc.assert(fc.property(fc.uint8Array({ minLength: s.size, maxLength: s.size }), (bytes) => {
        let v: object;
        try {
          v = s.decode(bytes);
        } catch {
          return; // a u64 past 2^53: a CorruptInputError, tested with the readers
        }
        expect(s.decode(s.encode(v))).toEqual(v);
      }), { numRuns: 100 });
    }
  });
  it('table entries keep offsets and the bits 62 and 63', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 47 - 1 }), fc.boolean(), (cluster, copied) => {
      const b = new DataView(new ArrayBuffer(8));
      setEntry(b, 0, cluster * 512, copied ? ENTRY_COPIED : 0);
      const e = getEntry(b, 0);
      expect(entryOffset(e)).toBe(cluster * 512);
      expect((e.hi & ENTRY_COPIED) !== 0).toBe(copied);
    }));
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.integer({ min: 0, max: 255 }), (offset, after) => {
      const e = compressedEntry(16, offset, after);
      expect(e.hi >>> 30).toBe(1); // bit 62 set, 63 clear
      expect(parseCompressedEntry(16, e)).toEqual({ offset, sectors: after + 1 });
    }));
  });
  it('VMDK gdOffset, GD_AT_END included', () => {
    expect(gdOffsetOf(gdOffsetFields(null))).toBeNull();
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (s) => {
      expect(gdOffsetOf(gdOffsetFields(s))).toBe(s);
    }));
  });
});

describe('VHD', () => {
  it('CHS as in the spec appendix', () => {
    // The appendix rounds down (qemu's own search rounds up to 964 and grows the disk to fit).
    expect(vhdGeometry(2048 * 128)).toEqual({ cylinders: 963, heads: 16, sectorsPerTrack: 17 }); // 128 MiB
    expect(vhdGeometry(2048 * 64)).toEqual({ cylinders: 963, heads: 8, sectorsPerTrack: 17 }); // 64 MiB
    expect(vhdGeometry(2 * 2 ** 20)).toEqual({ cylinders: 2080, heads: 16, sectorsPerTrack: 63 }); // 1 GiB
    expect(vhdGeometry(65535 * 16 * 255 + 100)).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
  });
  it('the footer sums to its checksum; the size is a whole MiB', () => {
    const f = encodeVhdFooter({ size: 64 << 20, time: 1_700_000_000, uniqueId: new Uint8Array(16).fill(3) });
    const v = VHD_FOOTER.decode(f);
    expect(v.checksum).toBe(vhdChecksum(f, VHD_FOOTER.offsets.checksum));
    expect(new TextDecoder().decode(v.cookie)).toBe('conectix');
    expect([v.diskType, v.dataOffsetHi, v.dataOffsetLo, v.currentSize, v.timeStamp]).toEqual([2, 0xffffffff, 0xffffffff, 64 << 20, 1_700_000_000 - 946_684_800]);
    expect(encodeVhdFooter({ size: 1 << 20, time: 0, uniqueId: new Uint8Array(16) }).subarray(24, 28)).toEqual(new Uint8Array(4)); // before 2000: 0
    expect([vhdSize(1), vhdSize(1 << 20), vhdSize((1 << 20) + 1)]).toEqual([1 << 20, 1 << 20, 2 << 20]);
  });
});

describe('qcow2 layout', () => {
  it('every cluster of the file is counted once; the refcount blocks cover themselves', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.array(fc.record({ at: fc.nat(), len: fc.integer({ min: 1, max: 2 ** 30 }) }), { maxLength: 8 }), (size, rs) => {
      const ranges = rs.map((r) => ({ start: r.at % size, end: Math.min(size, (r.at % size) + r.len) }));
      const l = planQcow2(size, ranges);
      const cs = l.clusterSize;
      expect(l.fileSize % cs).toBe(0);
      expect(l.refBlocks * (cs / 2)).toBeGreaterThanOrEqual(l.fileSize / cs);
      expect(l.refTableClusters * (cs / 8)).toBeGreaterThanOrEqual(l.refBlocks);
      expect(l.l1Entries * (cs / 8) * cs).toBeGreaterThanOrEqual(size);
      expect(l.dataOffset + l.dataClusters * cs).toBe(l.fileSize);
      for (const r of ranges) {
        const first = Math.floor(r.start / cs);
        if (r.end > r.start) expect(l.runs.some((x) => x.start <= first && first < x.end)).toBe(true);
      }
    }), { numRuns: 200 });
  });
  it('a tiny disk: header, refcount table, one refcount block, L1, one L2, data', () => {
    const l = planQcow2(10 << 20, [{ start: 0, end: 512 }, { start: 5 << 20, end: (5 << 20) + 1 }]);
    expect([l.refTableOffset, l.refBlocksOffset, l.l1Offset, l.l2Offset, l.dataOffset, l.fileSize].map((x) => x / 65536)).toEqual([1, 2, 3, 4, 5, 7]);
    expect(l.runs).toEqual([{ start: 0, end: 1, rank: 0 }, { start: 80, end: 81, rank: 1 }]);
    const chunks = [...qcow2Metadata(l)];
    const h = QCOW2_HEADER.decode(chunks[0]!.bytes);
    expect([h.version, h.cluster_bits, h.size, h.l1_size, h.refcount_order, h.header_length]).toEqual([3, 16, 10 << 20, 1, 4, 104]);
  });
});

describe('zlib framing', () => {
  it('zlibWrap(deflate) inflates back, for any data', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 70_000 }), (data) => {
      const z = zlibWrap(deflateBlock(data, null, true, 6), data, 6);
      expect(((z[0]! << 8) | z[1]!) % 31).toBe(0);
      const out = new Uint8Array(data.length + 1);
      const r = inflateInto(z, out, false);
      expect(r.ended).toBe(true);
      expect(out.subarray(0, r.length)).toEqual(data);
    }), { numRuns: 50 });
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
  });
});

describe('format names and detection', () => {
  it('by extension, --format, and a mismatch refused', () => {
    expect(['a.img', 'a.raw', 'a.qcow2', 'a.VHD', 'a.vmdk', 'a.ext4', 'a'].map(formatOfName)).toEqual(['raw', 'raw', 'qcow2', 'vhd', 'vmdk', null, null]);
    expect(outputFormat('disk', 'qcow2')).toBe('qcow2');
    expect(outputFormat('disk.ext4', undefined)).toBe('raw');
    expect(() => outputFormat('disk.vhd', 'qcow2')).toThrow(InvalidOptionError);
    expect(() => outputFormat('disk', 'vdi')).toThrow(InvalidOptionError);
  });
  it('by magic bytes', () => {
    const b = (s: string, n = 512) => {
      const x = new Uint8Array(n);
      for (let i = 0; i < s.length; i++) x[i] = s.charCodeAt(i);
      return x;
    };
    const zero = new Uint8Array(512);
    expect(detectFormat(b('QFI\xfb'), zero)).toBe('qcow2');
    expect(detectFormat(b('KDMV'), zero)).toBe('vmdk');
    expect(detectFormat(b('conectix'), zero)).toBe('vhd');
    expect(detectFormat(zero, b('conectix'))).toBe('vhd');
    expect(detectFormat(zero, zero)).toBe('raw');
  });
});
