// VMDK sparse extent structures (VMware "Virtual Disk Format 5.0", hosted sparse extent
// header, stream-optimized markers; little-endian). Sizes and offsets are in 512-byte
// sectors. gdOffset may be GD_AT_END (all ones: the real one is in the footer), past what
// a JavaScript number holds, so it is declared as two halves.
import { type StructValue, defineStruct } from '../../../struct/schema.js';

/** "KDMV" read as a little-endian u32. */
export const VMDK_MAGIC = 0x564d444b;
export const VMDK_SECTOR = 512;
/** A monolithic sparse extent holds at most 2^32 sectors (2 TiB). */
export const VMDK_MAX_BYTES = 2 ** 32 * VMDK_SECTOR;
export const VMDK_VERSION_STREAM = 3;
export const FLAG_NL_DETECT = 1 << 0;
export const FLAG_RGD = 1 << 1;
export const FLAG_ZERO_GRAIN = 1 << 2;
export const FLAG_COMPRESSED = 1 << 16;
export const FLAG_MARKERS = 1 << 17;
export const COMPRESSION_DEFLATE = 1;
/** 128 sectors: 64 KiB grains. */
export const GRAIN_SECTORS = 128;
export const GTES_PER_GT = 512;
/** A grain table entry meaning "reads as zeros" (with FLAG_ZERO_GRAIN). */
export const GTE_ZERO = 1;

export const VMDK_SPARSE_HEADER = defineStruct('VMDK sparse extent header', [
  ['magicNumber', 'u32', 0x00],
  ['version', 'u32', 0x04],
  ['flags', 'u32', 0x08],
  ['capacity', 'u64', 0x0c],
  ['grainSize', 'u64', 0x14],
  ['descriptorOffset', 'u64', 0x1c],
  ['descriptorSize', 'u64', 0x24],
  ['numGTEsPerGT', 'u32', 0x2c],
  ['rgdOffset', 'u64', 0x30],
  ['gdOffsetLo', 'u32', 0x38],
  ['gdOffsetHi', 'u32', 0x3c],
  ['overHead', 'u64', 0x40],
  ['uncleanShutdown', 'u8', 0x48],
  // Line-end detection bytes: '\n', ' ', '\r', '\n' (a file moved in text mode breaks them).
  ['singleEndLineChar', 'u8', 0x49],
  ['nonEndLineChar', 'u8', 0x4a],
  ['doubleEndLineChar1', 'u8', 0x4b],
  ['doubleEndLineChar2', 'u8', 0x4c],
  ['compressAlgorithm', 'u16', 0x4d],
], { size: VMDK_SECTOR });
export type VmdkSparseHeader = StructValue<typeof VMDK_SPARSE_HEADER>;

export const LINE_END_CHARS = { singleEndLineChar: 0x0a, nonEndLineChar: 0x20, doubleEndLineChar1: 0x0d, doubleEndLineChar2: 0x0a } as const;

/** Precedes each compressed grain: its first sector and the compressed length; the data follows at byte 12. */
export const VMDK_GRAIN_MARKER = defineStruct('VMDK grain marker', [
  ['lba', 'u64', 0x00],
  ['size', 'u32', 0x08],
]);

/** A metadata marker sector: how many sectors of metadata follow, and what they are. */
export const VMDK_METADATA_MARKER = defineStruct('VMDK metadata marker', [
  ['numSectors', 'u64', 0x00],
  ['size', 'u32', 0x08],
  ['type', 'u32', 0x0c],
], { size: VMDK_SECTOR });

export const MARKER_EOS = 0;
export const MARKER_GT = 1;
export const MARKER_GD = 2;
export const MARKER_FOOTER = 3;

/** gdOffset's two halves as one value; null for GD_AT_END. */
export function gdOffsetOf(h: Pick<VmdkSparseHeader, 'gdOffsetLo' | 'gdOffsetHi'>): number | null {
  if (h.gdOffsetLo === 0xffffffff && h.gdOffsetHi === 0xffffffff) return null;
  return h.gdOffsetHi * 2 ** 32 + h.gdOffsetLo;
}

/** The header fields a gdOffset (or GD_AT_END, null) is stored as. */
export function gdOffsetFields(sector: number | null): { gdOffsetLo: number; gdOffsetHi: number } {
  if (sector === null) return { gdOffsetLo: 0xffffffff, gdOffsetHi: 0xffffffff };
  return { gdOffsetLo: sector % 2 ** 32, gdOffsetHi: Math.floor(sector / 2 ** 32) };
}
