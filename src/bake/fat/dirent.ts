// Directory entries (fatgen103, "FAT Directory Structure" and "FAT Long Directory
// Entries"): the 32-byte short entry, the VFAT long-name entries before it, and the
// date/time fields. A directory is these entries back to back, then zeros.
import { type StructValue, defineStruct } from '../../struct/schema.js';
import { DIR_ENTRY_SIZE } from './geometry.js';

export const DIR_ENTRY = defineStruct('FAT directory entry', [
  ['DIR_Name', 'bytes11', 0x00],
  ['DIR_Attr', 'u8', 0x0b],
  ['DIR_NTRes', 'u8', 0x0c], // 0x08 base and 0x10 extension shown in lower case
  ['DIR_CrtTimeTenth', 'u8', 0x0d],
  ['DIR_CrtTime', 'u16', 0x0e],
  ['DIR_CrtDate', 'u16', 0x10],
  ['DIR_LstAccDate', 'u16', 0x12],
  ['DIR_FstClusHI', 'u16', 0x14],
  ['DIR_WrtTime', 'u16', 0x16],
  ['DIR_WrtDate', 'u16', 0x18],
  ['DIR_FstClusLO', 'u16', 0x1a],
  ['DIR_FileSize', 'u32', 0x1c],
], { split: { DIR_FstClus: ['DIR_FstClusLO', 'DIR_FstClusHI'] } });
export type DirEntry = StructValue<typeof DIR_ENTRY>;

export const LFN_ENTRY = defineStruct('FAT long name entry', [
  ['LDIR_Ord', 'u8', 0x00], // 1.., the last one (first on disk) | 0x40
  ['LDIR_Name1', 'bytes10', 0x01], // UTF-16LE units 1-5
  ['LDIR_Attr', 'u8', 0x0b], // ATTR_LONG_NAME
  ['LDIR_Type', 'u8', 0x0c],
  ['LDIR_Chksum', 'u8', 0x0d], // of the short name that follows
  ['LDIR_Name2', 'bytes12', 0x0e], // units 6-11
  ['LDIR_FstClusLO', 'u16', 0x1a], // 0
  ['LDIR_Name3', 'bytes4', 0x1c], // units 12-13
]);
export type LfnEntry = StructValue<typeof LFN_ENTRY>;

export const ATTR_READ_ONLY = 0x01;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
export const ATTR_LONG_NAME = 0x0f;
export const LAST_LONG_ENTRY = 0x40;
export const NTRES_LOWER_BASE = 0x08;
export const NTRES_LOWER_EXT = 0x10;
/** UTF-16 units in one long-name entry. */
export const LFN_UNITS = 13;

/** What a directory holds for one name: the short entry, and the long name when it needs one. */
export interface FatEntry {
  /** The long name (UTF-16, as a JS string), or null when the short name with NTRes says it all. */
  longName: string | null;
  /** DIR_Name: 11 bytes, space padded. */
  shortName: Uint8Array;
  ntRes: number;
  attr: number;
  /** First cluster (0: an empty file, or `..` of a child of the root). */
  cluster: number;
  size: number;
  stamp: FatStamp;
}

/** DIR_WrtDate/DIR_WrtTime (and creation, access) of an entry. */
export interface FatStamp {
  date: number;
  time: number;
}

/** 1980-01-01T00:00:00Z and 2107-12-31T23:59:58Z: what a FAT date and time can say. */
export const FAT_MIN_TIME = 315_532_800;
export const FAT_MAX_TIME = 4_354_819_198;

/**
 * A time as FAT stores it: whole 2-second steps of UTC (FAT has no time zone and readers
 * take it as local time; writing UTC keeps images independent of the host's zone), the
 * range clamped to 1980-2107. Pure arithmetic (days to civil date), no Date object.
 */
export function fatStamp(sec: number): FatStamp {
  const t = Math.min(FAT_MAX_TIME, Math.max(FAT_MIN_TIME, Math.floor(sec)));
  const days = Math.floor(t / 86400);
  const rem = t - days * 86400;
  // Howard Hinnant's civil_from_days, for days since 1970-01-01.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(rem / 3600);
  const minute = Math.floor((rem % 3600) / 60);
  const second = rem % 60;
  return { date: ((year - 1980) << 9) | (month << 5) | day, time: (hour << 11) | (minute << 5) | (second >> 1) };
}

/** The short-name checksum every long-name entry carries (fatgen103 ChkSum). */
export function shortNameChecksum(name: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = ((((sum & 1) << 7) | (sum >> 1)) + name[i]!) & 0xff;
  return sum;
}

/** 32-byte slots the entry takes: its long-name entries and the short entry. */
export function entrySlots(e: FatEntry): number {
  return (e.longName === null ? 0 : Math.ceil(e.longName.length / LFN_UNITS)) + 1;
}

/** Units [from, from + n) of a long name as UTF-16LE: the name, one 0x0000 after it, then 0xFFFF. */
function nameUnits(name: string, from: number, n: number): Uint8Array {
  const out = new Uint8Array(n * 2);
  for (let i = 0; i < n; i++) {
    const k = from + i;
    const u = k < name.length ? name.charCodeAt(k) : k === name.length ? 0 : 0xffff;
    out[i * 2] = u & 0xff;
    out[i * 2 + 1] = u >> 8;
  }
  return out;
}

/** Encodes `e` (long-name entries in reverse order, then the short entry) into `buf` at `at`; returns the end. */
export function encodeEntry(e: FatEntry, buf: Uint8Array, at: number): number {
  let pos = at;
  if (e.longName !== null) {
    const count = Math.ceil(e.longName.length / LFN_UNITS);
    const sum = shortNameChecksum(e.shortName);
    for (let ord = count; ord >= 1; ord--) {
      const from = (ord - 1) * LFN_UNITS;
      LFN_ENTRY.encode({
        LDIR_Ord: ord | (ord === count ? LAST_LONG_ENTRY : 0),
        LDIR_Name1: nameUnits(e.longName, from, 5),
        LDIR_Attr: ATTR_LONG_NAME,
        LDIR_Type: 0,
        LDIR_Chksum: sum,
        LDIR_Name2: nameUnits(e.longName, from + 5, 6),
        LDIR_FstClusLO: 0,
        LDIR_Name3: nameUnits(e.longName, from + 11, 2),
      }, buf, pos);
      pos += DIR_ENTRY_SIZE;
    }
  }
  const { date, time } = e.stamp;
  DIR_ENTRY.encode({
    DIR_Name: e.shortName,
    DIR_Attr: e.attr,
    DIR_NTRes: e.ntRes,
    DIR_CrtTimeTenth: 0,
    DIR_CrtTime: time,
    DIR_CrtDate: date,
    DIR_LstAccDate: date,
    DIR_FstClus: e.cluster,
    DIR_WrtTime: time,
    DIR_WrtDate: date,
    DIR_FileSize: e.size,
  }, buf, pos);
  return pos + DIR_ENTRY_SIZE;
}
