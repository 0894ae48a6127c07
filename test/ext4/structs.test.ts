// Golden offsets (like e2fsprogs tst_super_size.c) and encode/decode round trips for
// every on-disk struct, plus the directory hash against debugfs's dx_hash.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIR_TAIL, DIRENT, DX_COUNTLIMIT, DX_ENTRY, DX_ROOT_INFO, DX_TAIL } from '../../src/bake/ext4/dirent.js';
import { halfMd4Hash, seedWords } from '../../src/bake/ext4/dirhash.js';
import { EXTENT, EXTENT_HEADER, EXTENT_IDX } from '../../src/bake/ext4/extent.js';
import { GROUP_DESC_32, GROUP_DESC_64 } from '../../src/bake/ext4/group-desc.js';
import { INODE, MAX_TIME, MIN_TIME, encodeTime } from '../../src/bake/ext4/inode.js';
import { JOURNAL_SUPERBLOCK } from '../../src/bake/ext4/journal.js';
import { SUPERBLOCK } from '../../src/bake/ext4/superblock.js';
import { XATTR_BLOCK_HEADER, XATTR_ENTRY } from '../../src/bake/ext4/xattr.js';
import { crc32c } from '../../src/struct/crc32c.js';
import { bytesToByteString } from '../../src/tree/names.js';
import type { Struct } from '../../src/struct/schema.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';
import { expectShortBuffersCorrupt, expectStructRoundTrips } from '../helpers/struct-props.js';

describe('golden offsets', () => {
  it('superblock', () => {
    expect(SUPERBLOCK.size).toBe(1024);
    const o = SUPERBLOCK.offsets;
    expect([o.s_magic, o.s_feature_compat, o.s_uuid, o.s_hash_seed, o.s_jnl_blocks, o.s_log_groups_per_flex, o.s_checksum_seed, o.s_checksum])
      .toEqual([0x38, 0x5c, 0x68, 0xec, 0x10c, 0x174, 0x270, 0x3fc]);
  });
  it('group descriptors', () => {
    expect([GROUP_DESC_32.size, GROUP_DESC_64.size]).toEqual([32, 64]);
    expect([GROUP_DESC_32.offsets.bg_checksum, GROUP_DESC_64.offsets.bg_block_bitmap_csum_hi]).toEqual([0x1e, 0x38]);
  });
  it('inode', () => {
    expect(INODE.size).toBe(160); // 128 + i_extra_isize 32
    const o = INODE.offsets;
    expect([o.i_block, o.i_generation, o.l_i_checksum_lo, o.i_extra_isize, o.i_checksum_hi, o.i_crtime, o.i_projid]).toEqual([0x28, 0x64, 0x7c, 0x80, 0x82, 0x90, 0x9c]);
  });
  it('extents, dirents, htree, xattrs, journal', () => {
    expect([EXTENT_HEADER.size, EXTENT.size, EXTENT_IDX.size]).toEqual([12, 12, 12]);
    expect(EXTENT.offsets.ee_start_lo).toBe(8);
    expect([DIRENT.size, DIR_TAIL.size, DX_ROOT_INFO.size, DX_COUNTLIMIT.size, DX_ENTRY.size, DX_TAIL.size]).toEqual([8, 12, 8, 8, 8, 8]);
    expect([XATTR_BLOCK_HEADER.size, XATTR_ENTRY.size]).toEqual([32, 16]);
    expect(JOURNAL_SUPERBLOCK.offsets.s_nr_users).toBe(0x40);
  });
});

const STRUCTS: Struct<object>[] = [SUPERBLOCK, GROUP_DESC_32, GROUP_DESC_64, INODE, EXTENT_HEADER, EXTENT, EXTENT_IDX, DIRENT, DIR_TAIL, DX_ROOT_INFO, DX_COUNTLIMIT, DX_ENTRY, DX_TAIL, XATTR_BLOCK_HEADER, XATTR_ENTRY, JOURNAL_SUPERBLOCK] as Struct<object>[];

describe('round trips', () => {
  it('decode(encode(decode(bytes))) is stable for every struct', () => expectStructRoundTrips(STRUCTS));
  it('short buffers are a CorruptInputError, never a RangeError', () => expectShortBuffersCorrupt(STRUCTS));
});

describe('checksums and times', () => {
  it('crc32c matches the standard check value', () => {
    // CRC-32C("123456789") = 0xE3069283 with the usual init ~0 and final xor.
    expect((crc32c(0xffffffff, new TextEncoder().encode('123456789')) ^ 0xffffffff) >>> 0).toBe(0xe3069283);
  });
  it('time encoding round-trips the kernel way for 1901..2446', () => {
    fc.assert(fc.property(fc.integer({ min: MIN_TIME, max: MAX_TIME }), fc.integer({ min: 0, max: 999_999_999 }), (sec, nsec) => {
      const { lo, extra } = encodeTime(sec, nsec);
      expect((lo | 0) + (extra & 3) * 2 ** 32).toBe(sec);
      expect(extra >>> 2).toBe(nsec);
    }));
  });
});

describe.skipIf(!hasTool('debugfs'))('directory hash against debugfs dx_hash', () => {
  it('half_md4, signed, with a seed, for ASCII, UTF-8 and high bytes, short and long names', () => {
    const seedHex = '0123456789abcdeffedcba9876543210';
    const seedUuid = `${seedHex.slice(0, 8)}-${seedHex.slice(8, 12)}-${seedHex.slice(12, 16)}-${seedHex.slice(16, 20)}-${seedHex.slice(20)}`;
    const seed = seedWords(Uint8Array.from(seedHex.match(/../g)!.map((h) => parseInt(h, 16))));
    const names = ['a', 'hello', 'lost+found', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(33), 'w'.repeat(255), 'été-日本', 'names with spaces'];
    for (const name of names) {
      const r = spawnSync('debugfs', ['-R', `dx_hash -h half_md4 -s ${seedUuid} "${name}"`], { encoding: 'utf8', env: { ...process.env, PATH: TOOL_PATH } });
      const m = /Hash of .* is 0x([0-9a-f]+) \(minor 0x([0-9a-f]+)\)/.exec(r.stdout);
      expect(m, r.stdout + r.stderr).not.toBeNull();
      const ours = halfMd4Hash(bytesToByteString(new TextEncoder().encode(name)), seed, true);
      expect(ours.hash, name).toBe(parseInt(m![1]!, 16));
      expect(ours.minor, name).toBe(parseInt(m![2]!, 16));
    }
  });
});
