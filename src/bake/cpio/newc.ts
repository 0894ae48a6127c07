// The cpio "newc" header (070701): the 6-byte magic, then 13 fields of 8 ASCII hex digits,
// then the NUL-terminated name, padded so header + name is a multiple of 4; then the data,
// padded to 4. See the kernel's Documentation/driver-api/early-userspace/buffer-format.rst.
import { type StructValue, StructRangeError, defineStruct } from '../../struct/schema.js';
import { displayName } from '../../tree/names.js';
import { CorruptInputError, UnsupportedError } from '../../util/errors.js';

export const NEWC_HEADER = defineStruct('cpio newc header', [
  ['c_magic', 'bytes6', 0],
  ['c_ino', 'hex8', 6],
  ['c_mode', 'hex8', 14],
  ['c_uid', 'hex8', 22],
  ['c_gid', 'hex8', 30],
  ['c_nlink', 'hex8', 38],
  ['c_mtime', 'hex8', 46],
  ['c_filesize', 'hex8', 54],
  ['c_devmajor', 'hex8', 62],
  ['c_devminor', 'hex8', 70],
  ['c_rdevmajor', 'hex8', 78],
  ['c_rdevminor', 'hex8', 86],
  ['c_namesize', 'hex8', 94],
  ['c_check', 'hex8', 102],
]);
export type NewcHeader = Omit<StructValue<typeof NEWC_HEADER>, 'c_magic'>;

export const NEWC_MAGIC = '070701';
const MAGIC = new TextEncoder().encode(NEWC_MAGIC);
export const NEWC_HEADER_SIZE = NEWC_HEADER.size;
export const TRAILER = 'TRAILER!!!';

export function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Header + name + padding for a byte-string name. */
export function encodeNewcEntry(h: Omit<NewcHeader, 'c_namesize' | 'c_check'>, name: string): Uint8Array {
  const namesize = name.length + 1;
  const total = NEWC_HEADER_SIZE + namesize;
  const out = new Uint8Array(total + pad4(total));
  try {
    NEWC_HEADER.encode({ ...h, c_magic: MAGIC, c_namesize: namesize, c_check: 0 }, out);
  } catch (e) {
    // The emitters check owners and sizes first (tree/limits.ts); this is the last guard.
    if (e instanceof StructRangeError) throw new UnsupportedError(`/${displayName(name)}`, `cpio newc: ${e.message}`);
    throw e;
  }
  for (let i = 0; i < name.length; i++) out[NEWC_HEADER_SIZE + i] = name.charCodeAt(i);
  return out;
}

/** Parses a header (for tests and tools); throws CorruptInputError on anything malformed. */
export function decodeNewcHeader(buf: Uint8Array, at = 0): NewcHeader {
  if (!(at >= 0 && buf.length - at >= NEWC_HEADER_SIZE)) throw new CorruptInputError('cpio', `truncated header at byte ${at}`, { format: 'cpio newc', offset: at });
  const magic = String.fromCharCode(...buf.subarray(at, at + MAGIC.length));
  if (magic !== NEWC_MAGIC) throw new CorruptInputError('cpio', `bad magic ${JSON.stringify(magic)} at byte ${at}`, { format: 'cpio newc', offset: at, field: 'c_magic' });
  const { c_magic: _, ...h } = NEWC_HEADER.decode(buf, at);
  return h;
}
