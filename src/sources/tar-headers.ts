// Tar header decoding: ustar / GNU / v7 header blocks, pax extended records, pax times,
// and GNU sparse maps. Pure functions over bytes; they throw HeaderError (a plain message)
// and the reader turns that into a CorruptInputError naming the archive and entry.
import { bytesToByteString, displayName } from '../tree/names.js';
import { type DataRun, type Timestamp, type Xattr, sortXattrs } from '../tree/node.js';

import { BLOCK, GNU_SPARSE_ENTRY, USTAR_HEADER, ustarField } from './tar-struct.js';

export { BLOCK };

export class HeaderError extends Error {}

export type HeaderFormat = 'ustar' | 'gnu' | 'v7';

export interface RawHeader {
  /** Name with the ustar prefix applied, as a byte string. */
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** The typeflag byte as a character ('\0' for old regular files). */
  type: string;
  linkname: string;
  devmajor: number;
  devminor: number;
  format: HeaderFormat;
}

/** True if the block is all zero bytes (end-of-archive marker). */
export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Bytes from `off` up to the first NUL (or `len`), as a byte string. */
export function cString(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return bytesToByteString(b.subarray(off, end));
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * A numeric header field: octal digits (leading spaces allowed, ended by space or NUL)
 * or GNU/star base-256 (first byte has the top bit set; bit 6 is the sign).
 */
export function parseNumeric(b: Uint8Array, off: number, len: number, field: string): number {
  const first = b[off]!;
  if (first & 0x80) {
    const negative = (first & 0x40) !== 0;
    let v = (first & 0x3f) - (negative ? 0x40 : 0);
    for (let i = off + 1; i < off + len; i++) {
      v = v * 256 + b[i]!;
      if (v > MAX_SAFE || v < -MAX_SAFE) throw new HeaderError(`${field} field is out of range`);
    }
    return v;
  }
  let i = off;
  const end = off + len;
  while (i < end && b[i] === 0x20) i++; // some writers pad with leading spaces
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) throw new HeaderError(`${field} field is not a number (${JSON.stringify(cString(b, off, len))})`);
    v = v * 8 + (c - 0x30);
    digits++;
  }
  if (v > MAX_SAFE) throw new HeaderError(`${field} field is out of range`);
  return digits ? v : 0;
}

/** The header checksum: the unsigned byte sum with the checksum field counted as spaces. */
const [CHKSUM, CHKSUM_LEN] = ustarField('chksum');

export function headerSum(b: Uint8Array): number {
  let sum = CHKSUM_LEN * 0x20;
  for (let i = 0; i < CHKSUM; i++) sum += b[i]!;
  for (let i = CHKSUM + CHKSUM_LEN; i < BLOCK; i++) sum += b[i]!;
  return sum;
}

function checksumOk(b: Uint8Array): boolean {
  let stored: number;
  try {
    stored = parseNumeric(b, CHKSUM, CHKSUM_LEN, 'checksum');
  } catch {
    return false;
  }
  if (stored === headerSum(b)) return true;
  // Some old writers summed signed chars.
  let signed = CHKSUM_LEN * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < CHKSUM || i >= CHKSUM + CHKSUM_LEN) signed += b[i]! >= 128 ? b[i]! - 256 : b[i]!;
  return stored === signed;
}

function magicIs(b: Uint8Array, magic: string): boolean {
  const at = USTAR_HEADER.offsets.magic;
  for (let i = 0; i < magic.length; i++) if (b[at + i] !== magic.charCodeAt(i)) return false;
  return true;
}

/** Decodes a (non-zero) header block. Throws HeaderError on a bad checksum or field. */
export function decodeHeader(b: Uint8Array): RawHeader {
  if (!checksumOk(b)) throw new HeaderError('bad header checksum (not a tar archive, or corrupted)');
  const format: HeaderFormat = magicIs(b, 'ustar\0') ? 'ustar' : magicIs(b, 'ustar  \0') ? 'gnu' : 'v7';
  const text = (field: 'name' | 'linkname' | 'prefix'): string => cString(b, ...ustarField(field));
  let name = text('name');
  if (format === 'ustar' && b[USTAR_HEADER.offsets.prefix] !== 0) name = `${text('prefix')}/${name}`;
  const typeByte = b[USTAR_HEADER.offsets.typeflag]!;
  // Base-256 fields can be negative; only a time may be (before 1970). A negative size,
  // owner, mode or device number is corrupt, not something to wrap into range.
  type NumberField = 'mode' | 'uid' | 'gid' | 'size' | 'mtime' | 'devmajor' | 'devminor';
  const unsigned = (field: NumberField): number => {
    const v = parseNumeric(b, ...ustarField(field), field);
    if (v < 0) throw new HeaderError(`${field} field is negative (${v})`);
    return v;
  };
  return {
    name,
    mode: unsigned('mode'),
    uid: unsigned('uid'),
    gid: unsigned('gid'),
    size: unsigned('size'),
    mtime: parseNumeric(b, ...ustarField('mtime'), 'mtime'),
    type: String.fromCharCode(typeByte),
    linkname: text('linkname'),
    devmajor: format === 'v7' ? 0 : unsigned('devmajor'),
    devminor: format === 'v7' ? 0 : unsigned('devminor'),
    format,
  };
}

// ---------------------------------------------------------------------------------------
// pax extended headers

/** Pax records in order (keys as byte strings, values as raw bytes; duplicates kept). */
export type PaxRecords = [string, Uint8Array][];

export function parsePax(data: Uint8Array): PaxRecords {
  const out: PaxRecords = [];
  let pos = 0;
  while (pos < data.length) {
    // Some writers pad the record area with NULs.
    if (data[pos] === 0) {
      for (let i = pos; i < data.length; i++) if (data[i] !== 0) throw new HeaderError(`malformed pax record at byte ${i}`);
      break;
    }
    let i = pos;
    let len = 0;
    while (i < data.length && data[i]! >= 0x30 && data[i]! <= 0x39 && i - pos < 16) len = len * 10 + (data[i++]! - 0x30);
    if (i === pos || data[i] !== 0x20 || len <= i - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw new HeaderError(`malformed pax record at byte ${pos}`);
    }
    const recEnd = pos + len - 1;
    let eq = i + 1;
    while (eq < recEnd && data[eq] !== 0x3d) eq++;
    if (eq === recEnd || eq === i + 1) throw new HeaderError(`malformed pax record at byte ${pos} (no key=value)`);
    out.push([bytesToByteString(data.subarray(i + 1, eq)), data.slice(eq + 1, recEnd)]);
    pos += len;
  }
  return out;
}

/** Pax value as a byte string. */
export function paxString(v: Uint8Array): string {
  return bytesToByteString(v);
}

/** A pax decimal integer (non-negative unless `signed`). */
export function paxInteger(v: Uint8Array, key: string): number {
  const s = paxString(v);
  if (!/^\d{1,16}$/.test(s)) throw new HeaderError(`pax ${key}=${JSON.stringify(s)} is not a valid number`);
  const n = Number(s);
  if (n > MAX_SAFE) throw new HeaderError(`pax ${key}=${s} is out of range`);
  return n;
}

/** A pax time: optional '-', decimal seconds, optional fraction. Exact to the nanosecond (extra digits are truncated). */
export function paxTime(v: Uint8Array, key: string): Timestamp {
  const s = paxString(v);
  const m = /^(-?)(\d{1,16})(?:\.(\d*))?$/.exec(s);
  if (!m) throw new HeaderError(`pax ${key}=${JSON.stringify(s)} is not a valid time`);
  const whole = Number(m[2]);
  if (whole > MAX_SAFE - 1) throw new HeaderError(`pax ${key}=${s} is out of range`);
  const frac = Number(((m[3] ?? '') + '000000000').slice(0, 9));
  if (m[1] !== '-') return { sec: whole, nsec: frac };
  if (frac === 0) return { sec: whole === 0 ? 0 : -whole, nsec: 0 };
  return { sec: -whole - 1, nsec: 1_000_000_000 - frac };
}

// ---------------------------------------------------------------------------------------
// GNU sparse maps

/** Checks and cleans a sparse map: drops empty runs, requires order and the runs inside `realSize`. */
export function checkRuns(runs: DataRun[], realSize: number): DataRun[] {
  const out: DataRun[] = [];
  let end = 0;
  if (!Number.isSafeInteger(realSize) || realSize < 0) throw new HeaderError(`sparse file size ${realSize} is out of range`);
  for (const r of runs) {
    if (r.offset < 0 || r.length < 0) throw new HeaderError(`sparse map run ${r.offset}+${r.length} is negative`);
    if (r.offset < end) throw new HeaderError(`sparse map is not in ascending order (offset ${r.offset} after ${end})`);
    if (r.offset + r.length > realSize) throw new HeaderError(`sparse map run ${r.offset}+${r.length} is beyond the file size ${realSize}`);
    if (r.length === 0) continue;
    const last = out[out.length - 1];
    if (last && last.offset + last.length === r.offset) last.length += r.length;
    else out.push({ offset: r.offset, length: r.length });
    end = r.offset + r.length;
  }
  return out;
}

/** Runs from an old GNU ('S') sparse descriptor area: `count` entries of (offset[12], numbytes[12]). */
export function oldGnuRuns(b: Uint8Array, off: number, count: number, into: DataRun[]): void {
  const [offAt, offEnd] = GNU_SPARSE_ENTRY.span('offset');
  const [lenAt, lenEnd] = GNU_SPARSE_ENTRY.span('numbytes');
  for (let i = 0; i < count; i++) {
    const o = off + i * GNU_SPARSE_ENTRY.size;
    if (b[o] === 0) return;
    into.push({ offset: parseNumeric(b, o + offAt, offEnd - offAt, 'sparse offset'), length: parseNumeric(b, o + lenAt, lenEnd - lenAt, 'sparse numbytes') });
  }
}

/**
 * Incremental parser for the PAX sparse 1.0 map at the start of the entry data: decimal
 * lines "count\n" then "offset\nlength\n" pairs, padded with NULs to a block boundary.
 */
export class SparseMapParser {
  private numbers: number[] = [];
  private cur = '';
  private count = -1;
  /** Bytes of data consumed so far (the map itself, before padding). */
  consumed = 0;

  /** Feeds bytes; returns the number of bytes used, and sets done when the map is complete. */
  feed(chunk: Uint8Array): number {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === 0x0a) {
        if (this.cur === '') throw new HeaderError('malformed sparse map (empty line)');
        const n = Number(this.cur);
        if (n > MAX_SAFE) throw new HeaderError('malformed sparse map (number out of range)');
        this.cur = '';
        if (this.count < 0) {
          if (n > 1 << 24) throw new HeaderError(`sparse map has too many entries (${n})`);
          this.count = n;
        } else this.numbers.push(n);
        if (this.done) {
          this.consumed += i + 1;
          return i + 1;
        }
      } else if (c >= 0x30 && c <= 0x39 && this.cur.length < 16) {
        this.cur += String.fromCharCode(c);
      } else {
        throw new HeaderError('malformed sparse map');
      }
    }
    this.consumed += chunk.length;
    return chunk.length;
  }

  get done(): boolean {
    return this.count >= 0 && this.numbers.length === this.count * 2;
  }

  runs(): DataRun[] {
    const out: DataRun[] = [];
    for (let i = 0; i < this.numbers.length; i += 2) out.push({ offset: this.numbers[i]!, length: this.numbers[i + 1]! });
    return out;
  }
}

/** Runs from a pax 0.1 GNU.sparse.map value "off,len,off,len,...". */
export function paxMap01(v: Uint8Array): DataRun[] {
  const s = paxString(v);
  if (s === '') return [];
  const parts = s.split(',');
  if (parts.length % 2 || !parts.every((p) => /^\d{1,16}$/.test(p))) throw new HeaderError('malformed GNU.sparse.map');
  const out: DataRun[] = [];
  for (let i = 0; i < parts.length; i += 2) out.push({ offset: Number(parts[i]), length: Number(parts[i + 1]) });
  return out;
}

// ---------------------------------------------------------------------------------------
// misc

/** An entry type for messages: the character if printable, else its hex code. */
export function typeName(t: string): string {
  const c = t.charCodeAt(0);
  return c >= 0x21 && c < 0x7f ? `'${t}'` : `0x${c.toString(16).padStart(2, '0')}`;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Decodes a %XX-escaped byte string (libarchive's xattr name encoding). */
function percentDecode(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function base64Bytes(s: string): Uint8Array | null {
  try {
    const bin = atob(s.replace(/\s+/g, ''));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/**
 * Xattrs from pax keywords: SCHILY.xattr.NAME (GNU tar, star, bsdtar; raw value bytes) and
 * LIBARCHIVE.xattr.NAME (%-escaped name, base64 value; used only where no SCHILY one exists).
 * Names are decoded as UTF-8, like the directory source's.
 */
export function collectXattrs(pax: Map<string, Uint8Array>, warn: (key: string, msg: string) => void): Xattr[] {
  const byName = new Map<string, Uint8Array>();
  const add = (rawName: string, value: Uint8Array, prefer: boolean): void => {
    let name: string;
    try {
      name = utf8Strict.decode(Uint8Array.from(rawName, (c) => c.charCodeAt(0)));
    } catch {
      warn('xattr-name', `extended attribute ${JSON.stringify(displayName(rawName))} skipped (name is not UTF-8)`);
      return;
    }
    if (prefer || !byName.has(name)) byName.set(name, value);
  };
  for (const [k, v] of pax) {
    if (k.startsWith('SCHILY.xattr.')) add(k.slice(13), v, true);
    else if (k.startsWith('SCHILY.acl.')) warn('acl', 'POSIX ACLs in the archive (SCHILY.acl.*) are not kept');
  }
  for (const [k, v] of pax) {
    if (!k.startsWith('LIBARCHIVE.xattr.')) continue;
    const value = base64Bytes(paxString(v));
    if (value) add(percentDecode(k.slice(17)), value, false);
  }
  return sortXattrs([...byName].map(([name, value]) => ({ name, value })));
}
