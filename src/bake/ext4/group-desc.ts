// Block group descriptors: 32 bytes, or 64 with the 64bit feature (the _hi halves).
import { type StructValue, defineStruct } from '../../struct/schema.js';

const LO_FIELDS = [
  ['bg_block_bitmap_lo', 'u32', 0x0],
  ['bg_inode_bitmap_lo', 'u32', 0x4],
  ['bg_inode_table_lo', 'u32', 0x8],
  ['bg_free_blocks_count_lo', 'u16', 0xc],
  ['bg_free_inodes_count_lo', 'u16', 0xe],
  ['bg_used_dirs_count_lo', 'u16', 0x10],
  ['bg_flags', 'u16', 0x12],
  ['bg_exclude_bitmap_lo', 'u32', 0x14],
  ['bg_block_bitmap_csum_lo', 'u16', 0x18],
  ['bg_inode_bitmap_csum_lo', 'u16', 0x1a],
  ['bg_itable_unused_lo', 'u16', 0x1c],
  ['bg_checksum', 'u16', 0x1e],
] as const;

// The values a descriptor holds, whole: in the 32-byte form only the low parts exist, so
// a value must fit them (the planner keeps block numbers under 2^32 without 64bit).
const SPLIT_32 = {
  bg_block_bitmap: ['bg_block_bitmap_lo'], bg_inode_bitmap: ['bg_inode_bitmap_lo'], bg_inode_table: ['bg_inode_table_lo'],
  bg_free_blocks_count: ['bg_free_blocks_count_lo'], bg_free_inodes_count: ['bg_free_inodes_count_lo'],
  bg_used_dirs_count: ['bg_used_dirs_count_lo'], bg_itable_unused: ['bg_itable_unused_lo'],
  bg_block_bitmap_csum: ['bg_block_bitmap_csum_lo'], bg_inode_bitmap_csum: ['bg_inode_bitmap_csum_lo'],
} as const;
const SPLIT_64 = {
  bg_block_bitmap: ['bg_block_bitmap_lo', 'bg_block_bitmap_hi'], bg_inode_bitmap: ['bg_inode_bitmap_lo', 'bg_inode_bitmap_hi'],
  bg_inode_table: ['bg_inode_table_lo', 'bg_inode_table_hi'], bg_free_blocks_count: ['bg_free_blocks_count_lo', 'bg_free_blocks_count_hi'],
  bg_free_inodes_count: ['bg_free_inodes_count_lo', 'bg_free_inodes_count_hi'], bg_used_dirs_count: ['bg_used_dirs_count_lo', 'bg_used_dirs_count_hi'],
  bg_itable_unused: ['bg_itable_unused_lo', 'bg_itable_unused_hi'],
  bg_block_bitmap_csum: ['bg_block_bitmap_csum_lo', 'bg_block_bitmap_csum_hi'], bg_inode_bitmap_csum: ['bg_inode_bitmap_csum_lo', 'bg_inode_bitmap_csum_hi'],
} as const;
/** Bitmap checksums are the crc32c's low 16 bits (32 with 64bit); bg_checksum is always 16. */
const LOW_BITS = ['bg_block_bitmap_csum', 'bg_inode_bitmap_csum', 'bg_checksum'] as const;

export const GROUP_DESC_32 = defineStruct('ext4 group descriptor', LO_FIELDS, { split: SPLIT_32, lowBits: LOW_BITS });
export const GROUP_DESC_64 = defineStruct('ext4 group descriptor (64bit)', [
  ...LO_FIELDS,
  ['bg_block_bitmap_hi', 'u32', 0x20],
  ['bg_inode_bitmap_hi', 'u32', 0x24],
  ['bg_inode_table_hi', 'u32', 0x28],
  ['bg_free_blocks_count_hi', 'u16', 0x2c],
  ['bg_free_inodes_count_hi', 'u16', 0x2e],
  ['bg_used_dirs_count_hi', 'u16', 0x30],
  ['bg_itable_unused_hi', 'u16', 0x32],
  ['bg_exclude_bitmap_hi', 'u32', 0x34],
  ['bg_block_bitmap_csum_hi', 'u16', 0x38],
  ['bg_inode_bitmap_csum_hi', 'u16', 0x3a],
  ['bg_reserved', 'u32', 0x3c],
], { split: SPLIT_64, lowBits: LOW_BITS });
export type GroupDesc = StructValue<typeof GROUP_DESC_64>;

/** bg_flags: the inode table is zeroed (what we write; the kernel then skips lazy init). */
export const EXT4_BG_INODE_ZEROED = 0x4;
