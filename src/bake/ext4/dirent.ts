// Directory entries (Documentation/filesystems/ext4/directory.rst): linear blocks of
// ext4_dir_entry_2 with a 12-byte checksum tail, and the htree (dx) root/node blocks.
import { type StructValue, defineStruct } from '../../struct/schema.js';

export const DIRENT = defineStruct('ext4 dir entry', [
  ['inode', 'u32', 0x0],
  ['rec_len', 'u16', 0x4],
  ['name_len', 'u8', 0x6],
  ['file_type', 'u8', 0x7],
]);
export type DirEntryHeader = StructValue<typeof DIRENT>;

export const DIR_TAIL = defineStruct('ext4 dir tail', [
  ['det_reserved_zero1', 'u32', 0x0],
  ['det_rec_len', 'u16', 0x4],
  ['det_reserved_zero2', 'u8', 0x6],
  ['det_reserved_ft', 'u8', 0x7],
  ['det_checksum', 'u32', 0x8],
]);
export type DirTail = StructValue<typeof DIR_TAIL>;
export const DIR_TAIL_SIZE = 12;
export const DIR_TAIL_FT = 0xde;

/** dx_root_info follows the fake "." and ".." entries at offset 24 of the root block. */
export const DX_ROOT_INFO = defineStruct('ext4 dx_root_info', [
  ['reserved_zero', 'u32', 0x0],
  ['hash_version', 'u8', 0x4],
  ['info_length', 'u8', 0x5],
  ['indirect_levels', 'u8', 0x6],
  ['unused_flags', 'u8', 0x7],
]);
export type DxRootInfo = StructValue<typeof DX_ROOT_INFO>;

/** dx_countlimit overlays the first dx_entry's hash field. */
export const DX_COUNTLIMIT = defineStruct('ext4 dx_countlimit', [
  ['limit', 'u16', 0x0],
  ['count', 'u16', 0x2],
  ['block', 'u32', 0x4],
]);
export type DxCountLimit = StructValue<typeof DX_COUNTLIMIT>;
export const DX_ENTRY = defineStruct('ext4 dx_entry', [
  ['hash', 'u32', 0x0],
  ['block', 'u32', 0x4],
]);
export type DxEntry = StructValue<typeof DX_ENTRY>;
export const DX_TAIL = defineStruct('ext4 dx_tail', [
  ['dt_reserved', 'u32', 0x0],
  ['dt_checksum', 'u32', 0x4],
]);
export type DxTail = StructValue<typeof DX_TAIL>;

export const FT = { unknown: 0, file: 1, dir: 2, chardev: 3, blockdev: 4, fifo: 5, socket: 6, symlink: 7 } as const;

/** On-disk size of an entry with an n-byte name: 8-byte header + name, rounded to 4. */
export function direntSize(nameLen: number): number {
  return (8 + nameLen + 3) & ~3;
}

export const DX_HASH_HALF_MD4 = 1;
