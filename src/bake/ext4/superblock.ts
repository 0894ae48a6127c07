// The ext4 superblock (1024 bytes at byte 1024 of the filesystem, and backups at the
// start of groups 1 and powers of 3, 5, 7). Field names and offsets as in e2fsprogs
// lib/ext2fs/ext2_fs.h and the kernel's Documentation/filesystems/ext4/super.rst.
import { type StructValue, defineStruct } from '../../struct/schema.js';


export const SUPERBLOCK = defineStruct('ext4 superblock', [
  ['s_inodes_count', 'u32', 0x0],
  ['s_blocks_count_lo', 'u32', 0x4],
  ['s_r_blocks_count_lo', 'u32', 0x8],
  ['s_free_blocks_count_lo', 'u32', 0xc],
  ['s_free_inodes_count', 'u32', 0x10],
  ['s_first_data_block', 'u32', 0x14],
  ['s_log_block_size', 'u32', 0x18],
  ['s_log_cluster_size', 'u32', 0x1c],
  ['s_blocks_per_group', 'u32', 0x20],
  ['s_clusters_per_group', 'u32', 0x24],
  ['s_inodes_per_group', 'u32', 0x28],
  ['s_mtime', 'u32', 0x2c],
  ['s_wtime', 'u32', 0x30],
  ['s_mnt_count', 'u16', 0x34],
  ['s_max_mnt_count', 'u16', 0x36],
  ['s_magic', 'u16', 0x38],
  ['s_state', 'u16', 0x3a],
  ['s_errors', 'u16', 0x3c],
  ['s_minor_rev_level', 'u16', 0x3e],
  ['s_lastcheck', 'u32', 0x40],
  ['s_checkinterval', 'u32', 0x44],
  ['s_creator_os', 'u32', 0x48],
  ['s_rev_level', 'u32', 0x4c],
  ['s_def_resuid', 'u16', 0x50],
  ['s_def_resgid', 'u16', 0x52],
  ['s_first_ino', 'u32', 0x54],
  ['s_inode_size', 'u16', 0x58],
  ['s_block_group_nr', 'u16', 0x5a],
  ['s_feature_compat', 'u32', 0x5c],
  ['s_feature_incompat', 'u32', 0x60],
  ['s_feature_ro_compat', 'u32', 0x64],
  ['s_uuid', 'bytes16', 0x68],
  ['s_volume_name', 'bytes16', 0x78],
  ['s_last_mounted', 'bytes64', 0x88],
  ['s_algorithm_usage_bitmap', 'u32', 0xc8],
  ['s_prealloc_blocks', 'u8', 0xcc],
  ['s_prealloc_dir_blocks', 'u8', 0xcd],
  ['s_reserved_gdt_blocks', 'u16', 0xce],
  ['s_journal_uuid', 'bytes16', 0xd0],
  ['s_journal_inum', 'u32', 0xe0],
  ['s_journal_dev', 'u32', 0xe4],
  ['s_last_orphan', 'u32', 0xe8],
  ['s_hash_seed', 'bytes16', 0xec],
  ['s_def_hash_version', 'u8', 0xfc],
  ['s_jnl_backup_type', 'u8', 0xfd],
  ['s_desc_size', 'u16', 0xfe],
  ['s_default_mount_opts', 'u32', 0x100],
  ['s_first_meta_bg', 'u32', 0x104],
  ['s_mkfs_time', 'u32', 0x108],
  ['s_jnl_blocks', 'bytes60', 0x10c], // the journal inode's i_block (15 x u32), then its size:
  ['s_jnl_size_high', 'u32', 0x148],
  ['s_jnl_size', 'u32', 0x14c],
  ['s_blocks_count_hi', 'u32', 0x150],
  ['s_r_blocks_count_hi', 'u32', 0x154],
  ['s_free_blocks_count_hi', 'u32', 0x158],
  ['s_min_extra_isize', 'u16', 0x15c],
  ['s_want_extra_isize', 'u16', 0x15e],
  ['s_flags', 'u32', 0x160],
  ['s_raid_stride', 'u16', 0x164],
  ['s_mmp_interval', 'u16', 0x166],
  ['s_mmp_block_lo', 'u32', 0x168],
  ['s_mmp_block_hi', 'u32', 0x16c],
  ['s_raid_stripe_width', 'u32', 0x170],
  ['s_log_groups_per_flex', 'u8', 0x174],
  ['s_checksum_type', 'u8', 0x175],
  ['s_encryption_level', 'u8', 0x176],
  ['s_reserved_pad', 'u8', 0x177],
  ['s_kbytes_written_lo', 'u32', 0x178],
  ['s_kbytes_written_hi', 'u32', 0x17c],
  ['s_error_area', 'bytes128', 0x180], // snapshot and error-tracking fields, all zero on a new fs
  ['s_mount_opts', 'bytes64', 0x200],
  ['s_usr_quota_inum', 'u32', 0x240],
  ['s_grp_quota_inum', 'u32', 0x244],
  ['s_overhead_clusters', 'u32', 0x248],
  ['s_backup_bgs', 'bytes8', 0x24c],
  ['s_encrypt_algos', 'bytes4', 0x254],
  ['s_encrypt_pw_salt', 'bytes16', 0x258],
  ['s_lpf_ino', 'u32', 0x268],
  ['s_prj_quota_inum', 'u32', 0x26c],
  ['s_checksum_seed', 'u32', 0x270],
  ['s_wtime_hi', 'u8', 0x274], // the high bytes of the times (past 2038)
  ['s_mtime_hi', 'u8', 0x275],
  ['s_mkfs_time_hi', 'u8', 0x276],
  ['s_lastcheck_hi', 'u8', 0x277],
  ['s_first_error_time_hi', 'u8', 0x278],
  ['s_last_error_time_hi', 'u8', 0x279],
  ['s_first_error_errcode', 'u8', 0x27a],
  ['s_last_error_errcode', 'u8', 0x27b],
  ['s_encoding', 'u16', 0x27c],
  ['s_encoding_flags', 'u16', 0x27e],
  ['s_orphan_file_inum', 'u32', 0x280],
  ['s_reserved', 'bytes376', 0x284],
  ['s_checksum', 'u32', 0x3fc],
], {
  split: {
    s_blocks_count: ['s_blocks_count_lo', 's_blocks_count_hi'],
    s_r_blocks_count: ['s_r_blocks_count_lo', 's_r_blocks_count_hi'],
    s_free_blocks_count: ['s_free_blocks_count_lo', 's_free_blocks_count_hi'],
    s_mmp_block: ['s_mmp_block_lo', 's_mmp_block_hi'],
    s_kbytes_written: ['s_kbytes_written_lo', 's_kbytes_written_hi'],
    s_jnl_total_size: ['s_jnl_size', 's_jnl_size_high'],
    s_wtime_all: ['s_wtime', 's_wtime_hi'],
    s_mtime_all: ['s_mtime', 's_mtime_hi'],
    s_mkfs_time_all: ['s_mkfs_time', 's_mkfs_time_hi'],
    s_lastcheck_all: ['s_lastcheck', 's_lastcheck_hi'],
  },
});
export type Superblock = StructValue<typeof SUPERBLOCK>;

export const EXT4_SUPER_MAGIC = 0xef53;

export const COMPAT = { dir_prealloc: 0x1, imagic_inodes: 0x2, has_journal: 0x4, ext_attr: 0x8, resize_inode: 0x10, dir_index: 0x20, sparse_super2: 0x200 } as const;
export const INCOMPAT = {
  compression: 0x1, filetype: 0x2, recover: 0x4, journal_dev: 0x8, meta_bg: 0x10, extent: 0x40, '64bit': 0x80,
  mmp: 0x100, flex_bg: 0x200, ea_inode: 0x400, dirdata: 0x1000, metadata_csum_seed: 0x2000, large_dir: 0x4000,
  inline_data: 0x8000, encrypt: 0x10000, casefold: 0x20000,
} as const;
export const RO_COMPAT = {
  sparse_super: 0x1, large_file: 0x2, btree_dir: 0x4, huge_file: 0x8, gdt_csum: 0x10, dir_nlink: 0x20,
  extra_isize: 0x40, quota: 0x100, bigalloc: 0x200, metadata_csum: 0x400, readonly: 0x1000, project: 0x2000,
  verity: 0x8000, orphan_present: 0x10000,
} as const;

/** s_flags: which signedness the directory hash uses for bytes >= 0x80. */
export const EXT2_FLAGS_SIGNED_HASH = 0x1;
export const EXT2_FLAGS_UNSIGNED_HASH = 0x2;
/** s_default_mount_opts: what mke2fs sets (user_xattr, acl). */
export const EXT4_DEFM_XATTR_USER = 0x4;
export const EXT4_DEFM_ACL = 0x8;
