// FAT writer options, and the two user-facing values that need parsing: the volume label
// and the volume ID (shown as XXXX-XXXX by Windows, blkid and mtools).
import { InvalidOptionError } from '../../util/errors.js';
import type { FatType } from './geometry.js';
import { NO_NAME } from './boot-sector.js';

export interface FatOptions {
  /** Volume size in bytes (rounded down to whole 16 KiB tracks); 'auto' = the tree plus slack, whole MiB, at least 8 MiB. */
  size: number | 'auto';
  /** Force FAT16 or FAT32; 'auto' (default): FAT16 below 512 MiB, FAT32 from 512 MiB. */
  fatType?: FatType | 'auto';
  /** Bytes per cluster (512 … 32768, a power of two); default as mkfs.fat chooses for the size. */
  clusterSize?: number;
  /** Volume label (up to 11 ASCII characters, stored upper case); '' or undefined for none. */
  label?: string;
  /** BS_VolID, a u32; callers derive it (no clock, no randomness in here). */
  volumeId: number;
  /** BPB_HiddSec: the partition's first LBA (0 for a volume on its own). */
  hiddenSectors?: number;
  /** SOURCE_DATE_EPOCH: later times are written as this; also the label entry's time. */
  epoch?: number;
  /** Skip what FAT cannot hold, with a warning, instead of failing. */
  lenient?: boolean;
}

const LABEL_BAD = '"*+,./:;<=>?[\\]|';

/** BS_VolLab bytes of a label: upper case, space padded, NO NAME for none (as Windows stores it). */
export function labelBytes(label: string | undefined): { bytes: Uint8Array; present: boolean } {
  const l = (label ?? '').replace(/[a-z]/g, (c) => c.toUpperCase());
  if (l === '') return { bytes: Uint8Array.from(NO_NAME, (c) => c.charCodeAt(0)), present: false };
  if (l.length > 11) throw new InvalidOptionError('--label', `a FAT label holds at most 11 characters, not ${l.length}`);
  for (const c of l) {
    const code = c.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) throw new InvalidOptionError('--label', `a FAT label is printable ASCII; ${JSON.stringify(c)} is not`);
    if (LABEL_BAD.includes(c)) throw new InvalidOptionError('--label', `a FAT label may not hold any of ${LABEL_BAD}`);
  }
  if (l.startsWith(' ')) throw new InvalidOptionError('--label', 'a FAT label may not start with a space');
  const padded = l.padEnd(11, ' ');
  if (padded === NO_NAME) return labelBytes('');
  return { bytes: Uint8Array.from(padded, (c) => c.charCodeAt(0)), present: true };
}

/** A volume ID as written: `1234-ABCD` is 0x1234ABCD. */
export function parseVolumeId(s: string, option = '--uuid'): number {
  const m = /^([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})$/.exec(s);
  if (!m) throw new InvalidOptionError(option, `a FAT volume ID is 8 hex digits, XXXX-XXXX, not ${JSON.stringify(s)}`);
  return parseInt(m[1]! + m[2]!, 16);
}

export function formatVolumeId(id: number): string {
  const h = (id >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `${h.slice(0, 4)}-${h.slice(4)}`;
}
