// Which firmware a disk expects, from its first sectors (for `boot`'s default): a GPT disk
// with an EFI system partition and no boot code in its protective MBR boots on UEFI; any
// other disk (an MBR disk, or a hybrid GPT with gptmbr.bin) on BIOS. The bytes are the
// user's image, possibly anything: every read is bounds-checked and nothing here throws.
import { MBR_BOOT_CODE, MBR_PARTITIONS_OFFSET, GPT_PROTECTIVE, PARTITION_ENTRY } from '../mbr/mbr.js';
import { SECTOR } from '../sector.js';
import { PARTITION_TYPE, formatGuid } from './guid.js';
import { GPT_ENTRY, GPT_HEADER, GPT_SIGNATURE } from './structs.js';

export interface DiskProbe {
  gpt: boolean;
  /** A GPT entry of the ESP type among the entries in `head`. */
  esp: boolean;
  /** Bytes 0-439 are not all zero. */
  biosBootCode: boolean;
}

/** `head`: the disk's first sectors (34 hold a whole 128-entry array). */
export function probeDisk(head: Uint8Array): DiskProbe {
  const biosBootCode = head.length >= MBR_BOOT_CODE && head.subarray(0, MBR_BOOT_CODE).some((b) => b !== 0);
  const out = { gpt: false, esp: false, biosBootCode };
  if (head.length < 2 * SECTOR || PARTITION_ENTRY.get(head, MBR_PARTITIONS_OFFSET, 'type') !== GPT_PROTECTIVE) return out;
  const h = SECTOR;
  if (!GPT_SIGNATURE.every((b, i) => head[h + i] === b)) return out;
  out.gpt = true;
  let at: number;
  try {
    at = GPT_HEADER.get(head, h, 'PartitionEntryLBA'); // a u64 past 2^53 throws
  } catch {
    return out;
  }
  const count = GPT_HEADER.get(head, h, 'NumberOfPartitionEntries');
  const size = GPT_HEADER.get(head, h, 'SizeOfPartitionEntry');
  if (size < GPT_ENTRY.size || at > head.length / SECTOR) return out;
  for (let i = 0; i < Math.min(count, 1024); i++) {
    const o = at * SECTOR + i * size;
    if (o + GPT_ENTRY.size > head.length) break;
    if (formatGuid(GPT_ENTRY.get(head, o, 'PartitionTypeGUID')) === PARTITION_TYPE.esp) out.esp = true;
  }
  return out;
}

/** The firmware `boot` uses when none is given. */
export function defaultFirmware(p: DiskProbe): 'bios' | 'uefi' {
  return p.gpt && p.esp && !p.biosBootCode ? 'uefi' : 'bios';
}
