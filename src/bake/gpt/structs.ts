// The GPT header and partition entry (UEFI 2.10 §5.3.2, §5.3.3). Little-endian; the header
// is 92 bytes and the rest of its sector is zero; entries are 128 bytes, 128 of them.
import { type StructValue, defineStruct } from '../../struct/schema.js';

export const GPT_HEADER = defineStruct('GPT header', [
  ['Signature', 'bytes8', 0x0], // "EFI PART"
  ['Revision', 'u32', 0x8], // 0x00010000
  ['HeaderSize', 'u32', 0xc], // 92
  ['HeaderCRC32', 'u32', 0x10], // over HeaderSize bytes with this field zero
  ['Reserved', 'u32', 0x14],
  ['MyLBA', 'u64', 0x18],
  ['AlternateLBA', 'u64', 0x20],
  ['FirstUsableLBA', 'u64', 0x28],
  ['LastUsableLBA', 'u64', 0x30],
  ['DiskGUID', 'bytes16', 0x38],
  ['PartitionEntryLBA', 'u64', 0x48],
  ['NumberOfPartitionEntries', 'u32', 0x50],
  ['SizeOfPartitionEntry', 'u32', 0x54],
  ['PartitionEntryArrayCRC32', 'u32', 0x58],
]);
export type GptHeader = StructValue<typeof GPT_HEADER>;

export const GPT_ENTRY = defineStruct('GPT partition entry', [
  ['PartitionTypeGUID', 'bytes16', 0x0],
  ['UniquePartitionGUID', 'bytes16', 0x10],
  ['StartingLBA', 'u64', 0x20],
  ['EndingLBA', 'u64', 0x28], // inclusive
  ['Attributes_lo', 'u32', 0x30], // bits 0-31: 0 required, 1 no block-IO, 2 legacy BIOS bootable
  ['Attributes_hi', 'u32', 0x34], // bits 32-63 (48-63 per type; DPS: 59 grow-fs, 60 read-only, 63 no-auto)
  ['PartitionName', 'bytes72', 0x38], // 36 UTF-16LE units, zero-padded
]);
export type GptEntry = StructValue<typeof GPT_ENTRY>;

export const GPT_SIGNATURE = new TextEncoder().encode('EFI PART');
export const GPT_REVISION = 0x00010000;
export const ENTRY_COUNT = 128;
/** Sectors the entry array takes (128 × 128 bytes). */
export const ENTRY_SECTORS = (ENTRY_COUNT * GPT_ENTRY.size) / 512;
