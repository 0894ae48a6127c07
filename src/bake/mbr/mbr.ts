// The MBR: syslinux's mbr.bin boot code (bytes 0..439), a disk signature, one active
// Linux partition from LBA 2048 to the end of the disk, 55 AA. Plan, then encode.
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

export const MBR_BOOT_CODE = 440;
export const MBR_SIGNATURE_OFFSET = 440;
export const MBR_PARTITIONS_OFFSET = 446;
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
  const out = new Uint8Array(SECTOR);
  out.set(p.bootCode, 0);
  new DataView(out.buffer).setUint32(MBR_SIGNATURE_OFFSET, p.signature, true);
  const last = p.partitionStart + p.partitionSectors - 1;
  PARTITION_ENTRY.encode(
    { status: ACTIVE, chs_first: chs(p.partitionStart), type: LINUX, chs_last: chs(last), lba_first: p.partitionStart, sectors: p.partitionSectors },
    out,
    MBR_PARTITIONS_OFFSET,
  );
  out[510] = 0x55;
  out[511] = 0xaa;
  return out;
}
