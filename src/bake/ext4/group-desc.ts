// Block group descriptors: 32 bytes, or 64 with the 64bit feature (the _hi halves).
import { defineStruct } from '../../struct/schema.js';

export interface GroupDesc {
  bg_block_bitmap_lo: number; bg_inode_bitmap_lo: number; bg_inode_table_lo: number;
  bg_free_blocks_count_lo: number; bg_free_inodes_count_lo: number; bg_used_dirs_count_lo: number; bg_flags: number;
  bg_exclude_bitmap_lo: number; bg_block_bitmap_csum_lo: number; bg_inode_bitmap_csum_lo: number; bg_itable_unused_lo: number;
  bg_checksum: number;
  bg_block_bitmap_hi: number; bg_inode_bitmap_hi: number; bg_inode_table_hi: number; bg_free_blocks_count_hi: number;
  bg_free_inodes_count_hi: number; bg_used_dirs_count_hi: number; bg_itable_unused_hi: number; bg_exclude_bitmap_hi: number;
  bg_block_bitmap_csum_hi: number; bg_inode_bitmap_csum_hi: number; bg_reserved: number;
}

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

export const GROUP_DESC_32 = defineStruct<GroupDesc>('ext4 group descriptor', LO_FIELDS);
export const GROUP_DESC_64 = defineStruct<GroupDesc>('ext4 group descriptor (64bit)', [
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
]);

export const EXT4_BG_INODE_UNINIT = 0x1;
export const EXT4_BG_BLOCK_UNINIT = 0x2;
export const EXT4_BG_INODE_ZEROED = 0x4;
