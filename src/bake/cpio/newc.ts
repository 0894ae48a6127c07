// The cpio "newc" header (070701): 13 fields of 8 hex digits after the 6-byte magic,
// then the NUL-terminated name, padded so header + name is a multiple of 4; then the
// data, padded to 4. See the kernel's Documentation/driver-api/early-userspace/buffer-format.rst.
import { CorruptInputError, UnsupportedError } from '../../util/errors.js';
import { displayName } from '../../tree/names.js';

export interface NewcHeader {
  c_ino: number;
  c_mode: number;
  c_uid: number;
  c_gid: number;
  c_nlink: number;
  c_mtime: number;
  c_filesize: number;
  c_devmajor: number;
  c_devminor: number;
  c_rdevmajor: number;
  c_rdevminor: number;
  c_namesize: number;
  c_check: number;
}

/** Field order as on disk; each is 8 hex digits at 6 + 8 * index. */
export const NEWC_FIELDS: readonly (keyof NewcHeader)[] = [
  'c_ino', 'c_mode', 'c_uid', 'c_gid', 'c_nlink', 'c_mtime', 'c_filesize',
  'c_devmajor', 'c_devminor', 'c_rdevmajor', 'c_rdevminor', 'c_namesize', 'c_check',
];
export const NEWC_MAGIC = '070701';
export const NEWC_HEADER_SIZE = 110;
export const TRAILER = 'TRAILER!!!';

export function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

const HEX = '0123456789abcdef';

/** Header + name + padding for a byte-string name. */
export function encodeNewcEntry(h: Omit<NewcHeader, 'c_namesize' | 'c_check'>, name: string): Uint8Array {
  const namesize = name.length + 1;
  const total = NEWC_HEADER_SIZE + namesize;
  const out = new Uint8Array(total + pad4(total));
  for (let i = 0; i < 6; i++) out[i] = NEWC_MAGIC.charCodeAt(i);
  const values = { ...h, c_namesize: namesize, c_check: 0 } as NewcHeader;
  NEWC_FIELDS.forEach((f, k) => {
    const v = values[f];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new UnsupportedError(`/${displayName(name)}`, `cpio newc ${f} ${v} does not fit 32 bits`);
    for (let d = 0; d < 8; d++) out[6 + k * 8 + d] = HEX.charCodeAt((v >>> ((7 - d) * 4)) & 15);
  });
  for (let i = 0; i < name.length; i++) out[NEWC_HEADER_SIZE + i] = name.charCodeAt(i);
  return out;
}

/** Parses a header (for tests and tools); throws CorruptInputError on anything malformed. */
export function decodeNewcHeader(buf: Uint8Array, at = 0): NewcHeader {
  if (buf.length - at < NEWC_HEADER_SIZE) throw new CorruptInputError('cpio', `truncated header at byte ${at}`);
  const magic = String.fromCharCode(...buf.subarray(at, at + 6));
  if (magic !== NEWC_MAGIC) throw new CorruptInputError('cpio', `bad magic ${JSON.stringify(magic)} at byte ${at}`);
  const h = {} as NewcHeader;
  NEWC_FIELDS.forEach((f, k) => {
    const s = String.fromCharCode(...buf.subarray(at + 6 + k * 8, at + 14 + k * 8));
    if (!/^[0-9a-fA-F]{8}$/.test(s)) throw new CorruptInputError('cpio', `bad ${f} ${JSON.stringify(s)} at byte ${at}`);
    h[f] = parseInt(s, 16);
  });
  return h;
}
