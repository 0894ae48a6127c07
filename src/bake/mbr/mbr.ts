// The MBR: syslinux's mbr.bin boot code (bytes 0..439), a disk signature, one active
// Linux partition from LBA 2048 to the end of the disk, 55 AA. Plan, then encode. Also
// the protective MBR of a GPT disk (UEFI 2.10 §5.2.3): one 0xEE record from LBA 1.
import { type StructValue, defineStruct } from '../../struct/schema.js';
import { InvalidOptionError } from '../../util/errors.js';
import { SECTOR } from '../sector.js';

export { SECTOR };

export const PARTITION_ENTRY = defineStruct('MBR partition entry', [
  ['status', 'u8', 0x0],
  ['chs_first', 'bytes3', 0x1],
  ['type', 'u8', 0x4],
  ['chs_last', 'bytes3', 0x5],
  ['lba_first', 'u32', 0x8],
  ['sectors', 'u32', 0xc],
]);
export type PartitionEntry = StructValue<typeof PARTITION_ENTRY>;

/** Sector 0: boot code, the disk signature, four partition records, the boot signature. */
export const MBR_SECTOR = defineStruct('MBR', [
  ['bootstrap', 'bytes440', 0x0],
  ['disk_signature', 'u32', 0x1b8],
  ['reserved', 'u16', 0x1bc],
  ['partitions', 'bytes64', 0x1be],
  ['boot_signature', 'u16', 0x1fe],
]);
export const BOOT_SIGNATURE = 0xaa55;

export const MBR_BOOT_CODE = MBR_SECTOR.span('bootstrap')[1];
export const MBR_PARTITIONS_OFFSET = MBR_SECTOR.offsets.partitions;
/** The GPT protective partition type. */
export const GPT_PROTECTIVE = 0xee;
export const PARTITION_START = 2048;
export const LINUX = 0x83;
export const ACTIVE = 0x80;

export interface MbrPlan {
  bootCode: Uint8Array;
  signature: number;
  partitionStart: number;
  partitionSectors: number;
}

/** The partition covers LBA `start` to the end of a disk of `diskBytes` (a multiple of 512). */
export function planMbr(diskBytes: number, bootCode: Uint8Array, signature: number, start = PARTITION_START): MbrPlan {
  if (bootCode.length !== MBR_BOOT_CODE) throw new InvalidOptionError('mbr.bin', `must be ${MBR_BOOT_CODE} bytes, not ${bootCode.length}`);
  if (diskBytes % SECTOR) throw new InvalidOptionError('--size', `disk size ${diskBytes} is not a multiple of 512`);
  const sectors = diskBytes / SECTOR - start;
  if (sectors <= 0) throw new InvalidOptionError('--size', `disk of ${diskBytes} bytes leaves no room after sector ${start}`);
  if (diskBytes / SECTOR > 0xffffffff) throw new InvalidOptionError('--size', 'an MBR disk holds at most 2 TiB');
  return { bootCode, signature: signature >>> 0, partitionStart: start, partitionSectors: sectors };
}

/** CHS as fdisk writes it for 255 heads / 63 sectors; FE FF FF past cylinder 1023. */
export function chs(lba: number): Uint8Array {
  const c = Math.floor(lba / (255 * 63));
  if (c > 1023) return new Uint8Array([0xfe, 0xff, 0xff]);
  const h = Math.floor(lba / 63) % 255;
  const s = (lba % 63) + 1;
  return new Uint8Array([h, s | ((c >> 2) & 0xc0), c & 0xff]);
}

export function encodeMbr(p: MbrPlan): Uint8Array {
  const out = MBR_SECTOR.encode({ bootstrap: p.bootCode, disk_signature: p.signature, boot_signature: BOOT_SIGNATURE });
  const last = p.partitionStart + p.partitionSectors - 1;
  PARTITION_ENTRY.encode(
    { status: ACTIVE, chs_first: chs(p.partitionStart), type: LINUX, chs_last: chs(last), lba_first: p.partitionStart, sectors: p.partitionSectors },
    out,
    MBR_PARTITIONS_OFFSET,
  );
  return out;
}

/**
 * The protective MBR of a GPT disk of `sectors` LBAs: boot code (gptmbr.bin for a disk
 * that boots on BIOS, else zeros), disk signature 0, one record of type 0xEE from LBA 1
 * over the rest of the disk (at most 2^32 − 1 sectors), status 0 (OVMF ignores a GPT whose
 * protective record is marked bootable on some versions; gptmbr.bin does not need it).
 */
export function encodeProtectiveMbr(sectors: number, bootCode: Uint8Array = new Uint8Array(MBR_BOOT_CODE)): Uint8Array {
  if (bootCode.length !== MBR_BOOT_CODE) throw new InvalidOptionError('gptmbr.bin', `must be ${MBR_BOOT_CODE} bytes, not ${bootCode.length}`);
  const out = MBR_SECTOR.encode({ bootstrap: bootCode, boot_signature: BOOT_SIGNATURE });
  const size = Math.min(sectors - 1, 0xffffffff);
  PARTITION_ENTRY.encode(
    // Start CHS 0/0/2 (LBA 1); the end as the CHS of the last LBA, saturating at FF FF FF.
    { status: 0, chs_first: new Uint8Array([0x00, 0x02, 0x00]), type: GPT_PROTECTIVE, chs_last: chsOrMax(sectors - 1), lba_first: 1, sectors: size },
    out,
    MBR_PARTITIONS_OFFSET,
  );
  return out;
}

/** CHS for the protective record's end: FF FF FF once past what CHS can address (as sgdisk and libfdisk write it). */
function chsOrMax(lba: number): Uint8Array {
  const c = chs(lba);
  return c[0] === 0xfe && c[1] === 0xff && c[2] === 0xff ? new Uint8Array([0xff, 0xff, 0xff]) : c;
}
