// The boot sector and BIOS parameter block (Microsoft fatgen103, "Boot Sector and BPB"):
// the common part at 0x00-0x23, then a FAT12/16 or a FAT32 tail, boot code, 55 AA.
import { type FieldSpec, type StructValue, defineStruct } from '../../struct/schema.js';
import type { FatGeometry } from './geometry.js';
import { HEADS, SECTOR, SECTORS_PER_TRACK } from './geometry.js';

/** fatgen103 offsets 0x00-0x23, the same for every FAT type. */
const BPB_COMMON = [
  ['BS_jmpBoot', 'bytes3', 0x00],
  ['BS_OEMName', 'bytes8', 0x03],
  ['BPB_BytsPerSec', 'u16', 0x0b],
  ['BPB_SecPerClus', 'u8', 0x0d],
  ['BPB_RsvdSecCnt', 'u16', 0x0e],
  ['BPB_NumFATs', 'u8', 0x10],
  ['BPB_RootEntCnt', 'u16', 0x11], // FAT32: 0
  ['BPB_TotSec16', 'u16', 0x13], // 0 when TotSec32 is used (always on FAT32)
  ['BPB_Media', 'u8', 0x15],
  ['BPB_FATSz16', 'u16', 0x16], // FAT32: 0, which is what makes it FAT32 for most drivers
  ['BPB_SecPerTrk', 'u16', 0x18],
  ['BPB_NumHeads', 'u16', 0x1a],
  ['BPB_HiddSec', 'u32', 0x1c], // sectors before the partition
  ['BPB_TotSec32', 'u32', 0x20],
] as const satisfies readonly FieldSpec[];

export const FAT16_BOOT_SECTOR = defineStruct('FAT16 boot sector', [
  ...BPB_COMMON,
  ['BS_DrvNum', 'u8', 0x24],
  ['BS_Reserved1', 'u8', 0x25], // Linux keeps its dirty bit here: 0 = clean
  ['BS_BootSig', 'u8', 0x26], // 0x29: the next three fields are present
  ['BS_VolID', 'u32', 0x27],
  ['BS_VolLab', 'bytes11', 0x2b],
  ['BS_FilSysType', 'bytes8', 0x36],
  ['BS_BootCode', 'bytes448', 0x3e],
  ['Signature_word', 'u16', 0x1fe],
]);
export type Fat16BootSector = StructValue<typeof FAT16_BOOT_SECTOR>;

export const FAT32_BOOT_SECTOR = defineStruct('FAT32 boot sector', [
  ...BPB_COMMON,
  ['BPB_FATSz32', 'u32', 0x24],
  ['BPB_ExtFlags', 'u16', 0x28], // 0: every FAT mirrored (edk2 refuses bit 7, one active FAT)
  ['BPB_FSVer', 'u16', 0x2a], // 0.0 (edk2 refuses anything else)
  ['BPB_RootClus', 'u32', 0x2c],
  ['BPB_FSInfo', 'u16', 0x30],
  ['BPB_BkBootSec', 'u16', 0x32],
  ['BPB_Reserved', 'bytes12', 0x34],
  ['BS_DrvNum', 'u8', 0x40],
  ['BS_Reserved1', 'u8', 0x41],
  ['BS_BootSig', 'u8', 0x42],
  ['BS_VolID', 'u32', 0x43],
  ['BS_VolLab', 'bytes11', 0x47],
  ['BS_FilSysType', 'bytes8', 0x52],
  ['BS_BootCode', 'bytes420', 0x5a],
  ['Signature_word', 'u16', 0x1fe],
]);
export type Fat32BootSector = StructValue<typeof FAT32_BOOT_SECTOR>;

export const MEDIA_FIXED = 0xf8;
export const BOOT_SIGNATURE = 0xaa55;
export const EXTENDED_BOOT_SIG = 0x29;
/** fatgen103: "MSWIN4.1" is the OEM name the most drivers accept without second thoughts. */
export const OEM_NAME = 'MSWIN4.1';
/** FAT32: FSInfo in sector 1, the backup boot sector in 6 and its FSInfo in 7 (fatgen103). */
export const FSINFO_SECTOR = 1;
export const BACKUP_BOOT_SECTOR = 6;
export const ROOT_CLUSTER = 2;
/** The BS_VolLab of a volume without a label. */
export const NO_NAME = 'NO NAME    ';

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/**
 * A tiny real-mode program for the boot code area, in case a BIOS boots this volume
 * directly: it prints "not a bootable disk", waits for a key and asks the BIOS for the
 * next boot device (int 19h), as mkfs.fat's stub does. `at` is its offset in the sector;
 * the BIOS loads the sector at 0:7C00, so the message's address is 0x7C00 + at + 36.
 */
export function bootStub(at: number): Uint8Array {
  const msg = ascii('This is not a bootable disk.\r\n\0');
  const addr = 0x7c00 + at + 36;
  const code = [
    0xfa, // cli
    0x31, 0xc0, // xor ax, ax
    0x8e, 0xd8, // mov ds, ax
    0x8e, 0xd0, // mov ss, ax
    0xbc, 0x00, 0x7c, // mov sp, 0x7c00
    0xfb, // sti
    0xbe, addr & 0xff, addr >> 8, // mov si, msg
    0xac, // next: lodsb
    0x84, 0xc0, // test al, al
    0x74, 0x09, // jz done
    0xb4, 0x0e, // mov ah, 0x0e (teletype output)
    0xbb, 0x07, 0x00, // mov bx, 7
    0xcd, 0x10, // int 0x10
    0xeb, 0xf2, // jmp next
    0x31, 0xc0, // done: xor ax, ax
    0xcd, 0x16, // int 0x16 (wait for a key)
    0xcd, 0x19, // int 0x19 (next boot device)
    0xeb, 0xfe, // jmp $
  ];
  const out = new Uint8Array(code.length + msg.length);
  out.set(code);
  out.set(msg, code.length);
  return out;
}

export interface BootSectorInput {
  geo: FatGeometry;
  volumeId: number;
  /** 11 bytes, space padded (NO_NAME without a label). */
  volumeLabel: Uint8Array;
  hiddenSectors: number;
}

/** The 512-byte boot sector of a volume. */
export function encodeBootSector(i: BootSectorInput): Uint8Array {
  const g = i.geo;
  const big = g.totalSectors > 0xffff || g.fatType === 32;
  const common = {
    BS_OEMName: ascii(OEM_NAME),
    BPB_BytsPerSec: SECTOR,
    BPB_SecPerClus: g.sectorsPerCluster,
    BPB_RsvdSecCnt: g.reservedSectors,
    BPB_NumFATs: 2,
    BPB_RootEntCnt: g.rootEntries,
    BPB_TotSec16: big ? 0 : g.totalSectors,
    BPB_Media: MEDIA_FIXED,
    BPB_SecPerTrk: SECTORS_PER_TRACK,
    BPB_NumHeads: HEADS,
    BPB_HiddSec: i.hiddenSectors,
    BPB_TotSec32: big ? g.totalSectors : 0,
  };
  const volume = {
    BS_DrvNum: 0x80,
    BS_BootSig: EXTENDED_BOOT_SIG,
    BS_VolID: i.volumeId,
    BS_VolLab: i.volumeLabel,
    Signature_word: BOOT_SIGNATURE,
  };
  if (g.fatType === 16) {
    const at = FAT16_BOOT_SECTOR.offsets.BS_BootCode;
    return FAT16_BOOT_SECTOR.encode({
      ...common, ...volume,
      BS_jmpBoot: Uint8Array.of(0xeb, at - 2, 0x90),
      BPB_FATSz16: g.fatSectors,
      BS_FilSysType: ascii('FAT16   '),
      BS_BootCode: bootStub(at),
    }, new Uint8Array(SECTOR));
  }
  const at = FAT32_BOOT_SECTOR.offsets.BS_BootCode;
  return FAT32_BOOT_SECTOR.encode({
    ...common, ...volume,
    BS_jmpBoot: Uint8Array.of(0xeb, at - 2, 0x90),
    BPB_FATSz16: 0,
    BPB_FATSz32: g.fatSectors,
    BPB_ExtFlags: 0,
    BPB_FSVer: 0,
    BPB_RootClus: ROOT_CLUSTER,
    BPB_FSInfo: FSINFO_SECTOR,
    BPB_BkBootSec: BACKUP_BOOT_SECTOR,
    BS_FilSysType: ascii('FAT32   '),
    BS_BootCode: bootStub(at),
  }, new Uint8Array(SECTOR));
}
