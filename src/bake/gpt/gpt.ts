// A GPT disk (UEFI 2.10 ch. 5): protective MBR at LBA 0, the primary header at 1 and its
// 128-entry array from 2, the backup array in the 32 sectors before the last LBA and the
// backup header in the last. Plan (pure: partitions placed and checked), then encode the
// two ends of the disk; the partitions' contents are written by their own writers.
import { crc32 } from '../../struct/crc32.js';
import { InvalidOptionError } from '../../util/errors.js';
import { encodeProtectiveMbr } from '../mbr/mbr.js';
import { MIB, SECTOR } from '../sector.js';
import { parseGuid } from './guid.js';
import { ENTRY_COUNT, ENTRY_SECTORS, GPT_ENTRY, GPT_HEADER, GPT_REVISION, GPT_SIGNATURE } from './structs.js';

export interface GptPartition {
  /** Partition type GUID (text form). */
  type: string;
  /** Unique partition GUID (text form). */
  guid: string;
  /** Name, at most 36 UTF-16 units ("esp", "root-x86-64"). */
  name: string;
  /** First and last LBA, inclusive. */
  first: number;
  last: number;
  /** Attribute bits set (0-63). */
  attributes?: number[];
}

export interface GptPlan {
  /** Disk size in sectors. */
  sectors: number;
  diskGuid: string;
  partitions: GptPartition[];
  /** Boot code for the protective MBR (gptmbr.bin), or none. */
  bootCode?: Uint8Array;
}

/** The first LBA a partition may use: after the header and the 32-sector entry array. */
export const FIRST_USABLE = 2 + ENTRY_SECTORS;
/** Sectors at the end of the disk taken by the backup array and header. */
export const BACKUP_SECTORS = ENTRY_SECTORS + 1;
const ALIGN = MIB / SECTOR;

/** The last LBA a partition may use on a disk of `sectors` sectors. */
export function lastUsable(sectors: number): number {
  return sectors - 1 - BACKUP_SECTORS;
}

/** Checks a layout the way `sfdisk --verify` and `sgdisk -v` do; a fault is a bug of the caller's layout, so it throws. */
export function planGpt(p: GptPlan): GptPlan {
  if (!Number.isSafeInteger(p.sectors) || p.sectors < FIRST_USABLE + BACKUP_SECTORS + 1) {
    throw new InvalidOptionError('--size', `a GPT disk needs more than ${(FIRST_USABLE + BACKUP_SECTORS) * SECTOR} bytes`);
  }
  if (p.partitions.length > ENTRY_COUNT) throw new InvalidOptionError('partitions', `a GPT holds ${ENTRY_COUNT} partitions`);
  parseGuid(p.diskGuid, '--disk-guid');
  const sorted = [...p.partitions].sort((a, b) => a.first - b.first);
  for (const [i, part] of sorted.entries()) {
    parseGuid(part.type, `partition ${part.name} type`);
    parseGuid(part.guid, `partition ${part.name} GUID`);
    if (part.first < FIRST_USABLE || part.last > lastUsable(p.sectors) || part.last < part.first) {
      throw new InvalidOptionError('partitions', `${part.name} [${part.first}, ${part.last}] is outside the usable sectors [${FIRST_USABLE}, ${lastUsable(p.sectors)}]`);
    }
    if (part.first % ALIGN) throw new InvalidOptionError('partitions', `${part.name} starts at LBA ${part.first}, not on a MiB boundary`);
    const prev = sorted[i - 1];
    if (prev && part.first <= prev.last) throw new InvalidOptionError('partitions', `${part.name} overlaps ${prev.name}`);
    if (nameUnits(part.name).length > 36) throw new InvalidOptionError('partitions', `partition name ${JSON.stringify(part.name)} is longer than 36 UTF-16 units`);
  }
  return p;
}

function nameUnits(name: string): number[] {
  return [...name].flatMap((c) => {
    const cp = c.codePointAt(0)!;
    if (cp < 0x10000) return [cp];
    const v = cp - 0x10000;
    return [0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff)];
  });
}

/** The 128 × 128-byte entry array, partitions in the order given. */
export function encodeEntries(p: GptPlan): Uint8Array {
  const out = new Uint8Array(ENTRY_COUNT * GPT_ENTRY.size);
  p.partitions.forEach((part, i) => {
    const name = new Uint8Array(72);
    nameUnits(part.name).forEach((u, k) => {
      name[2 * k] = u & 0xff;
      name[2 * k + 1] = u >> 8;
    });
    let lo = 0, hi = 0;
    for (const bit of part.attributes ?? []) {
      if (!(Number.isInteger(bit) && bit >= 0 && bit < 64)) throw new InvalidOptionError('partitions', `attribute bit ${bit} is not 0-63`);
      if (bit < 32) lo |= 2 ** bit;
      else hi |= 2 ** (bit - 32);
    }
    GPT_ENTRY.encode({
      PartitionTypeGUID: parseGuid(part.type), UniquePartitionGUID: parseGuid(part.guid),
      StartingLBA: part.first, EndingLBA: part.last, Attributes_lo: lo >>> 0, Attributes_hi: hi >>> 0, PartitionName: name,
    }, out, i * GPT_ENTRY.size);
  });
  return out;
}

function encodeHeader(p: GptPlan, primary: boolean, entriesCrc: number): Uint8Array {
  const last = p.sectors - 1;
  const sector = new Uint8Array(SECTOR);
  GPT_HEADER.encode({
    Signature: GPT_SIGNATURE, Revision: GPT_REVISION, HeaderSize: GPT_HEADER.size,
    MyLBA: primary ? 1 : last, AlternateLBA: primary ? last : 1,
    FirstUsableLBA: FIRST_USABLE, LastUsableLBA: lastUsable(p.sectors),
    DiskGUID: parseGuid(p.diskGuid),
    PartitionEntryLBA: primary ? 2 : last - ENTRY_SECTORS,
    NumberOfPartitionEntries: ENTRY_COUNT, SizeOfPartitionEntry: GPT_ENTRY.size, PartitionEntryArrayCRC32: entriesCrc,
  }, sector);
  GPT_HEADER.set(sector, 0, 'HeaderCRC32', crc32(0, sector.subarray(0, GPT_HEADER.size)));
  return sector;
}

export interface EncodedGpt {
  /** LBA 0 to FIRST_USABLE − 1: protective MBR, primary header, entry array. */
  head: Uint8Array;
  /** The last BACKUP_SECTORS sectors: backup entry array, then backup header. */
  tail: Uint8Array;
  /** Byte offset of `tail` on the disk. */
  tailOffset: number;
}

export function encodeGpt(p: GptPlan): EncodedGpt {
  const entries = encodeEntries(p);
  const crc = crc32(0, entries);
  const head = new Uint8Array(FIRST_USABLE * SECTOR);
  head.set(encodeProtectiveMbr(p.sectors, p.bootCode), 0);
  head.set(encodeHeader(p, true, crc), SECTOR);
  head.set(entries, 2 * SECTOR);
  const tail = new Uint8Array(BACKUP_SECTORS * SECTOR);
  tail.set(entries, 0);
  tail.set(encodeHeader(p, false, crc), ENTRY_SECTORS * SECTOR);
  return { head, tail, tailOffset: (p.sectors - BACKUP_SECTORS) * SECTOR };
}
