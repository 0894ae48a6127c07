// The VHD footer (Microsoft "Virtual Hard Disk Image Format Specification" v1.0, Hard
// Disk Footer Format; big-endian, 512 bytes) and the dynamic disk header, with the CHS
// geometry of the spec's appendix. A fixed VHD is the raw disk followed by the footer.
import { type StructValue, defineStruct } from '../../../struct/schema.js';

export const VHD_COOKIE = 'conectix';
export const VHD_DYNAMIC_COOKIE = 'cxsparse';
export const VHD_FOOTER_SIZE = 512;
/** Features: bit 1 "reserved", which the spec says must always be set. */
export const VHD_FEATURES = 2;
export const VHD_VERSION = 0x00010000;
export const VHD_TYPE_FIXED = 2;
export const VHD_TYPE_DYNAMIC = 3;
export const VHD_TYPE_DIFFERENCING = 4;
/** Seconds from the Unix epoch to the VHD epoch, 2000-01-01 00:00:00 UTC. */
export const VHD_EPOCH = 946_684_800;
/**
 * Creator application: qemu sizes a disk by its CHS geometry (rounding it down) when the
 * creator is "vpc " or "qemu", by current_size otherwise; "qem2" is what qemu itself
 * writes with force_size, and every qemu reads it as current_size.
 */
export const VHD_CREATOR_APP = 'qem2';
/** Creator host OS "Wi2k", what Azure's tools (and FreeBSD mkimg for Azure) write. */
export const VHD_CREATOR_OS = 'Wi2k';

export const VHD_FOOTER = defineStruct('VHD footer', [
  ['cookie', 'bytes8', 0x00],
  ['features', 'u32be', 0x08],
  ['fileFormatVersion', 'u32be', 0x0c],
  // All ones for a fixed disk: past what a JavaScript number holds, so two halves.
  ['dataOffsetHi', 'u32be', 0x10],
  ['dataOffsetLo', 'u32be', 0x14],
  ['timeStamp', 'u32be', 0x18],
  ['creatorApplication', 'bytes4', 0x1c],
  ['creatorVersion', 'u32be', 0x20],
  ['creatorHostOs', 'bytes4', 0x24],
  ['originalSize', 'u64be', 0x28],
  ['currentSize', 'u64be', 0x30],
  ['cylinders', 'u16be', 0x38],
  ['heads', 'u8', 0x3a],
  ['sectorsPerTrack', 'u8', 0x3b],
  ['diskType', 'u32be', 0x3c],
  ['checksum', 'u32be', 0x40],
  ['uniqueId', 'bytes16', 0x44],
  ['savedState', 'u8', 0x54],
], { size: VHD_FOOTER_SIZE });
export type VhdFooter = StructValue<typeof VHD_FOOTER>;

/** The dynamic disk header ("Dynamic Disk Header Format"), at the footer's data offset. */
export const VHD_DYNAMIC_HEADER = defineStruct('VHD dynamic disk header', [
  ['cookie', 'bytes8', 0x00],
  ['dataOffsetHi', 'u32be', 0x08],
  ['dataOffsetLo', 'u32be', 0x0c],
  ['tableOffset', 'u64be', 0x10],
  ['headerVersion', 'u32be', 0x18],
  ['maxTableEntries', 'u32be', 0x1c],
  ['blockSize', 'u32be', 0x20],
  ['checksum', 'u32be', 0x24],
  ['parentUniqueId', 'bytes16', 0x28],
  ['parentTimeStamp', 'u32be', 0x38],
  ['reserved', 'u32be', 0x3c],
  ['parentUnicodeName', 'bytes512', 0x40],
], { size: 1024 });
export type VhdDynamicHeader = StructValue<typeof VHD_DYNAMIC_HEADER>;

/** One's complement of the byte sum of a footer or header, its checksum field counted as zero. */
export function vhdChecksum(bytes: Uint8Array, checksumAt: number): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) if (i < checksumAt || i >= checksumAt + 4) sum += bytes[i]!;
  return ~sum >>> 0;
}

export interface Chs {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** CHS for a disk of `totalSectors`, as the spec's appendix computes it (capped at 65535/16/255). */
export function vhdGeometry(totalSectors: number): Chs {
  const sectors = Math.min(totalSectors, 65535 * 16 * 255);
  let spt: number;
  let heads: number;
  let cth: number;
  if (sectors >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(sectors / spt);
  } else {
    spt = 17;
    cth = Math.floor(sectors / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(sectors / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(sectors / spt);
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectorsPerTrack: spt };
}

export const MIB = 1 << 20;

/** Azure takes fixed VHDs whose virtual size is a whole MiB: the size a disk is rounded up to. */
export function vhdSize(bytes: number): number {
  return Math.ceil(bytes / MIB) * MIB;
}

export interface VhdFooterOptions {
  /** The virtual disk's bytes (a multiple of 512). */
  size: number;
  /** Unix seconds (SOURCE_DATE_EPOCH or the inputs' own time); before 2000 is stored as 0. */
  time: number;
  /** 16 bytes derived from the inputs. */
  uniqueId: Uint8Array;
}

const ascii = (s: string) => new TextEncoder().encode(s);

/** The footer of a fixed VHD of `size` bytes. */
export function encodeVhdFooter(o: VhdFooterOptions): Uint8Array {
  const out = new Uint8Array(VHD_FOOTER_SIZE);
  VHD_FOOTER.encode({
    cookie: ascii(VHD_COOKIE), features: VHD_FEATURES, fileFormatVersion: VHD_VERSION, dataOffsetHi: 0xffffffff, dataOffsetLo: 0xffffffff,
    timeStamp: Math.min(0xffffffff, Math.max(0, o.time - VHD_EPOCH)), creatorApplication: ascii(VHD_CREATOR_APP), creatorVersion: 0x00010000,
    creatorHostOs: ascii(VHD_CREATOR_OS), originalSize: o.size, currentSize: o.size, ...vhdGeometry(Math.floor(o.size / 512)),
    diskType: VHD_TYPE_FIXED, uniqueId: o.uniqueId, savedState: 0,
  }, out, 0);
  VHD_FOOTER.set(out, 0, 'checksum', vhdChecksum(out, VHD_FOOTER.offsets.checksum));
  return out;
}
