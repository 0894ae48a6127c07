// The qcow2 header and table entries (qemu docs/interop/qcow2.txt; big-endian). Version
// 3, 64 KiB clusters, 16-bit refcounts. Feature masks are 64-bit fields with bits up to
// 63, so they are declared as hi/lo halves (the struct kit's u64 holds < 2^53), as are
// table entries, whose flags live in bits 62 and 63.
import { type StructValue, defineStruct } from '../../../struct/schema.js';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
export const QCOW2_VERSION = 3;
export const QCOW2_CLUSTER_BITS = 16;
/** refcount_bits = 1 << refcount_order: 16-bit refcounts. */
export const QCOW2_REFCOUNT_ORDER = 4;
export const QCOW2_HEADER_LENGTH = 104;

export const QCOW2_HEADER = defineStruct('qcow2 header', [
  ['magic', 'u32be', 0x00],
  ['version', 'u32be', 0x04],
  ['backing_file_offset', 'u64be', 0x08],
  ['backing_file_size', 'u32be', 0x10],
  ['cluster_bits', 'u32be', 0x14],
  ['size', 'u64be', 0x18],
  ['crypt_method', 'u32be', 0x20],
  ['l1_size', 'u32be', 0x24],
  ['l1_table_offset', 'u64be', 0x28],
  ['refcount_table_offset', 'u64be', 0x30],
  ['refcount_table_clusters', 'u32be', 0x38],
  ['nb_snapshots', 'u32be', 0x3c],
  ['snapshots_offset', 'u64be', 0x40],
  // Version 3 and later.
  ['incompatible_features_hi', 'u32be', 0x48],
  ['incompatible_features_lo', 'u32be', 0x4c],
  ['compatible_features_hi', 'u32be', 0x50],
  ['compatible_features_lo', 'u32be', 0x54],
  ['autoclear_features_hi', 'u32be', 0x58],
  ['autoclear_features_lo', 'u32be', 0x5c],
  ['refcount_order', 'u32be', 0x60],
  ['header_length', 'u32be', 0x64],
]);
export type Qcow2Header = StructValue<typeof QCOW2_HEADER>;

/** A version 2 header ends at 72 bytes (everything from incompatible_features on is v3). */
export const QCOW2_V2_HEADER_LENGTH = 72;

// Entry bits, counted in the high 32-bit word (bit 63 of the entry is bit 31 of hi).
/** L1/L2 bit 63: the cluster's refcount is exactly one ("copied"). */
export const ENTRY_COPIED = 0x80000000;
/** L2 bit 62: a compressed cluster. */
export const ENTRY_COMPRESSED = 0x40000000;
/** Bits 9-55 of a standard entry: the host offset (56 bits less the low 9). */
const OFFSET_HI_MASK = 0x00ffffff;
const OFFSET_LO_MASK = 0xfffffe00;
/** L2 bit 0 (v3): the cluster reads as zeros. */
export const ENTRY_ZERO = 1;

const TWO32 = 2 ** 32;

/** Writes a table entry (L1, L2 or refcount table) holding `offset` and the flag bits `hiFlags`. */
export function setEntry(view: DataView, at: number, offset: number, hiFlags = 0): void {
  view.setUint32(at, (hiFlags | Math.floor(offset / TWO32)) >>> 0);
  view.setUint32(at + 4, offset >>> 0);
}

export interface Entry {
  hi: number;
  lo: number;
}

export function getEntry(view: DataView, at: number): Entry {
  return { hi: view.getUint32(at), lo: view.getUint32(at + 4) };
}

/** Host offset of a standard L1/L2 entry (bits 9-55). */
export function entryOffset(e: Entry): number {
  return (e.hi & OFFSET_HI_MASK) * TWO32 + ((e.lo & OFFSET_LO_MASK) >>> 0);
}

/** Bits a standard entry must leave zero: 1-8 and 56-61 (62 compressed and 63 copied apart). */
export function entryReservedBits(e: Entry): boolean {
  return (e.hi & 0x3f000000) !== 0 || (e.lo & 0x1fe) !== 0;
}

/**
 * A compressed cluster descriptor (bits 0-61): host byte offset in the low
 * x = 62 - (cluster_bits - 8) bits, then the count of 512-byte sectors after the first.
 */
export function compressedEntry(clusterBits: number, offset: number, sectorsAfterFirst: number): Entry {
  const hiBits = 62 - (clusterBits - 8) - 32; // offset bits in the high word
  const hi = ENTRY_COMPRESSED | (sectorsAfterFirst * 2 ** hiBits) | Math.floor(offset / TWO32);
  return { hi: hi >>> 0, lo: offset >>> 0 };
}

/** The offset and sector count of a compressed descriptor. */
export function parseCompressedEntry(clusterBits: number, e: Entry): { offset: number; sectors: number } {
  const x = 62 - (clusterBits - 8);
  const hiBits = x - 32; // offset bits held in hi
  const offset = (e.hi & (2 ** hiBits - 1)) * TWO32 + e.lo;
  const sectorsAfterFirst = Math.floor((e.hi & 0x3fffffff) / 2 ** hiBits);
  return { offset, sectors: sectorsAfterFirst + 1 };
}
