// The on-disk inode: 128 bytes of the original ext2 inode plus the "extra" fields
// (i_extra_isize bytes, 32 here) and room for in-inode xattrs up to s_inode_size.
import { type StructValue, defineStruct } from '../../struct/schema.js';


export const INODE = defineStruct('ext4 inode', [
  ['i_mode', 'u16', 0x0],
  ['i_uid', 'u16', 0x2],
  ['i_size_lo', 'u32', 0x4],
  ['i_atime', 'u32', 0x8],
  ['i_ctime', 'u32', 0xc],
  ['i_mtime', 'u32', 0x10],
  ['i_dtime', 'u32', 0x14],
  ['i_gid', 'u16', 0x18],
  ['i_links_count', 'u16', 0x1a],
  ['i_blocks_lo', 'u32', 0x1c],
  ['i_flags', 'u32', 0x20],
  ['i_version', 'u32', 0x24], // osd1
  ['i_block', 'bytes60', 0x28], // extent tree root, fast symlink target, or device number
  ['i_generation', 'u32', 0x64],
  ['i_file_acl_lo', 'u32', 0x68],
  ['i_size_high', 'u32', 0x6c],
  ['i_obso_faddr', 'u32', 0x70],
  ['l_i_blocks_high', 'u16', 0x74], // osd2 (Linux)
  ['l_i_file_acl_high', 'u16', 0x76],
  ['l_i_uid_high', 'u16', 0x78],
  ['l_i_gid_high', 'u16', 0x7a],
  ['l_i_checksum_lo', 'u16', 0x7c],
  ['l_i_reserved', 'u16', 0x7e],
  ['i_extra_isize', 'u16', 0x80],
  ['i_checksum_hi', 'u16', 0x82],
  ['i_ctime_extra', 'u32', 0x84],
  ['i_mtime_extra', 'u32', 0x88],
  ['i_atime_extra', 'u32', 0x8c],
  ['i_crtime', 'u32', 0x90],
  ['i_crtime_extra', 'u32', 0x94],
  ['i_version_hi', 'u32', 0x98],
  ['i_projid', 'u32', 0x9c],
], {
  split: {
    uid: ['i_uid', 'l_i_uid_high'],
    gid: ['i_gid', 'l_i_gid_high'],
    size: ['i_size_lo', 'i_size_high'],
    /** 512-byte sectors (huge_file without EXT4_HUGE_FILE_FL). */
    blocks: ['i_blocks_lo', 'l_i_blocks_high'],
    file_acl: ['i_file_acl_lo', 'l_i_file_acl_high'],
    checksum: ['l_i_checksum_lo', 'i_checksum_hi'],
  },
});

/** i_block of a device inode: the old 8+8-bit number in the first word, else the new form in the second. */
export const DEVICE_IBLOCK = defineStruct('ext4 device i_block', [
  ['old_dev', 'u32', 0x0],
  ['new_dev', 'u32', 0x4],
], { size: 60 });
export type Inode = StructValue<typeof INODE>;

/** The extra fields we fill (through i_projid). */
export const EXTRA_ISIZE = 32;
export const GOOD_OLD_INODE_SIZE = 128;

export const EXT4_IMMUTABLE_FL = 0x10;
export const EXT4_INDEX_FL = 0x1000;
export const EXT4_EXTENTS_FL = 0x80000;

export const ROOT_INO = 2;
export const JOURNAL_INO = 8;
export const FIRST_INO = 11;

/**
 * Encodes seconds + ns the ext4 way: the low 32 bits as a signed value, the two
 * "epoch" bits extending the range to 2446, and ns << 2 in the extra field. Times
 * before 1970 use epoch bits 0 with a negative low word (what the kernel writes).
 */
export function encodeTime(sec: number, nsec: number): { lo: number; extra: number } {
  const lo = sec | 0; // wraps to signed 32
  const epoch = Math.floor((sec - lo) / 2 ** 32) & 3;
  return { lo: lo >>> 0, extra: (epoch | (nsec << 2)) >>> 0 };
}

/** Range of seconds ext4 can store with extra time bits. */
export const MIN_TIME = -(2 ** 31);
export const MAX_TIME = 3 * 2 ** 32 + 2 ** 31 - 1; // 2446-05-10
