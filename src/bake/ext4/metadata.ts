// Encoders for the fixed metadata of a plan: superblock copies, group descriptors,
// bitmaps. Checksums are computed over the encoded bytes.
import { crc32c, crc32cU32 } from '../../struct/crc32c.js';
import { GROUP_DESC_32, GROUP_DESC_64, EXT4_BG_INODE_ZEROED } from './group-desc.js';
import { type Geometry, groupBlocks, groupStart } from './geometry.js';
import { FIRST_INO, JOURNAL_INO } from './inode.js';
import type { Run } from './allocator.js';
import type { Ext4Plan } from './planner.js';
import {
  COMPAT, EXT2_FLAGS_SIGNED_HASH, EXT4_DEFM_ACL, EXT4_DEFM_XATTR_USER, EXT4_SUPER_MAGIC, INCOMPAT, RO_COMPAT, SUPERBLOCK,
} from './superblock.js';
import { DX_HASH_HALF_MD4 } from './dirent.js';
import { EXTRA_ISIZE } from './inode.js';

/** The metadata_csum seed: crc32c of the filesystem UUID. */
export function fsSeed(plan: Ext4Plan): number {
  return crc32c(0xffffffff, plan.options.uuid);
}

/** Bitmap bytes for group g's blocks; bits past the group's end are set (padding). */
export function blockBitmap(geo: Geometry, used: readonly Run[], g: number): Uint8Array {
  const bm = new Uint8Array(geo.blockSize);
  const start = groupStart(geo, g);
  const n = groupBlocks(geo, g);
  // Binary search the first run that may touch the group.
  let lo = 0, hi = used.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (used[mid]!.start + used[mid]!.count <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < used.length && used[i]!.start < start + n; i++) {
    const r = used[i]!;
    const a = Math.max(r.start, start) - start;
    const b = Math.min(r.start + r.count, start + n) - start;
    setBits(bm, a, b);
  }
  setBits(bm, n, geo.blockSize * 8);
  return bm;
}

/** Inodes of group g in use: numbering is dense, so 1..lastIno are. */
export function inodesUsedInGroup(geo: Geometry, lastIno: number, g: number): number {
  const first = g * geo.inodesPerGroup + 1;
  return Math.max(0, Math.min(geo.inodesPerGroup, lastIno - first + 1));
}

/** The bytes of group g's inode table that hold used inodes, in whole blocks (the rest is zeros). */
export function usedInodeTableBytes(geo: Geometry, lastIno: number, g: number): number {
  return Math.ceil((inodesUsedInGroup(geo, lastIno, g) * geo.inodeSize) / geo.blockSize) * geo.blockSize;
}

/** Inode bitmap: inodes 1..lastIno are all in use (numbering is dense); the bits past inodesPerGroup are set (padding). */
export function inodeBitmap(geo: Geometry, lastIno: number, g: number): Uint8Array {
  const bm = new Uint8Array(geo.blockSize);
  setBits(bm, 0, inodesUsedInGroup(geo, lastIno, g));
  setBits(bm, geo.inodesPerGroup, geo.blockSize * 8);
  return bm;
}

function setBits(bm: Uint8Array, from: number, to: number): void {
  let i = from;
  while (i < to && i & 7) bm[i >> 3]! |= 1 << (i & 7), i++;
  while (i + 8 <= to) bm[i >> 3] = 0xff, (i += 8);
  while (i < to) bm[i >> 3]! |= 1 << (i & 7), i++;
}

/** The whole group descriptor table (gdtBlocks blocks), checksums included. */
export function encodeGdt(plan: Ext4Plan): Uint8Array {
  const { geo, layout, stats } = plan;
  const seed = fsSeed(plan);
  const lastIno = plan.catalog.lastIno;
  const struct = geo.descSize === 64 ? GROUP_DESC_64 : GROUP_DESC_32;
  const out = new Uint8Array(geo.gdtBlocks * geo.blockSize);
  for (let g = 0; g < geo.groups; g++) {
    const m = layout.groups[g]!;
    const s = stats[g]!;
    const bb = crc32c(seed, blockBitmap(geo, layout.used, g), 0, geo.blocksPerGroup / 8);
    const ib = crc32c(seed, inodeBitmap(geo, lastIno, g), 0, geo.inodesPerGroup / 8);
    const at = g * geo.descSize;
    struct.encode({
      bg_block_bitmap: m.blockBitmap, bg_inode_bitmap: m.inodeBitmap, bg_inode_table: m.inodeTable,
      bg_free_blocks_count: s.freeBlocks, bg_free_inodes_count: s.freeInodes, bg_used_dirs_count: s.usedDirs,
      bg_itable_unused: s.itableUnused, bg_flags: EXT4_BG_INODE_ZEROED, bg_block_bitmap_csum: bb, bg_inode_bitmap_csum: ib,
    }, out, at);
    struct.set(out, at, 'bg_checksum', crc32c(crc32cU32(seed, g), out, at, at + geo.descSize));
  }
  return out;
}

/** The 1024-byte superblock as stored in group g. `journalIBlock` is the journal inode's i_block (backed up in it). */
export function encodeSuperblock(plan: Ext4Plan, g: number, journalIBlock: Uint8Array | null): Uint8Array {
  const { geo, options: o } = plan;
  const f = o.features;
  const sb = new Uint8Array(1024);
  const label = new TextEncoder().encode(o.label);
  // Times are unsigned 40-bit here: a SOURCE_DATE_EPOCH is a whole number of seconds
  // (util/epoch.ts), and the commands refuse one past 2446-05-10 (checkEpoch).
  const t = o.timestamp;
  SUPERBLOCK.encode({
    s_inodes_count: geo.inodesPerGroup * geo.groups,
    s_blocks_count: geo.blocksCount,
    s_free_blocks_count: plan.freeBlocks,
    s_free_inodes_count: plan.freeInodes,
    s_first_data_block: geo.firstDataBlock,
    s_log_block_size: Math.log2(geo.blockSize) - 10,
    s_log_cluster_size: Math.log2(geo.blockSize) - 10,
    s_blocks_per_group: geo.blocksPerGroup,
    s_clusters_per_group: geo.blocksPerGroup,
    s_inodes_per_group: geo.inodesPerGroup,
    s_mtime: 0,
    s_wtime_all: t,
    s_mnt_count: 0,
    s_max_mnt_count: 0xffff,
    s_magic: EXT4_SUPER_MAGIC,
    s_state: 1, // cleanly unmounted
    s_errors: 1, // continue
    s_lastcheck_all: t,
    s_creator_os: 0, // Linux
    s_rev_level: 1, // dynamic inode sizes
    s_first_ino: FIRST_INO,
    s_inode_size: geo.inodeSize,
    s_block_group_nr: g,
    s_feature_compat: COMPAT.ext_attr | (f.dirIndex ? COMPAT.dir_index : 0) | (plan.journalBlocks ? COMPAT.has_journal : 0),
    s_feature_incompat: INCOMPAT.filetype | INCOMPAT.extent | INCOMPAT.flex_bg | (f.bit64 ? INCOMPAT['64bit'] : 0),
    s_feature_ro_compat: RO_COMPAT.sparse_super | RO_COMPAT.large_file | RO_COMPAT.huge_file | RO_COMPAT.dir_nlink | RO_COMPAT.extra_isize | RO_COMPAT.metadata_csum,
    s_uuid: o.uuid,
    s_volume_name: label,
    s_journal_inum: plan.journalBlocks ? JOURNAL_INO : 0,
    s_hash_seed: o.hashSeed,
    s_def_hash_version: DX_HASH_HALF_MD4,
    s_jnl_backup_type: plan.journalBlocks ? 1 : 0,
    s_jnl_blocks: journalIBlock ?? undefined,
    s_jnl_total_size: journalIBlock ? plan.journalBlocks * geo.blockSize : undefined,
    s_desc_size: f.bit64 ? 64 : 0,
    s_default_mount_opts: EXT4_DEFM_XATTR_USER | EXT4_DEFM_ACL,
    s_mkfs_time_all: t,
    s_min_extra_isize: EXTRA_ISIZE,
    s_want_extra_isize: EXTRA_ISIZE,
    s_flags: EXT2_FLAGS_SIGNED_HASH,
    s_log_groups_per_flex: geo.logGroupsPerFlex,
    s_checksum_type: 1, // crc32c
  }, sb, 0);
  SUPERBLOCK.set(sb, 0, 's_checksum', crc32c(0xffffffff, sb, 0, SUPERBLOCK.offsets.s_checksum));
  return sb;
}
