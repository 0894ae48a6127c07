// The struct kit: each on-disk struct is declared once, as a table of [name, type,
// offset] rows; its TypeScript type, its encoder and decoder, its field offsets and its
// single-field reads and writes all come from that table.
//
// - The offset column is checked against the running sum when the struct is defined, so
//   a typo in a width fails at import time rather than corrupting images.
// - Encoding range-checks every number: a value that does not fit its field is a bug of
//   the caller (a planner that let through what the format cannot hold), never silent
//   truncation. The few fields a format defines as the low bits of something wider (the
//   16-bit halves of a crc32c) are named in `lowBits` and masked on purpose.
// - Formats split wide values into parts, often far apart (ext4's s_blocks_count_lo at
//   0x4 and s_blocks_count_hi at 0x150). `split` names such a value once, with its parts
//   from low to high; encode and `set` take the whole value and spread it, `get` joins it.
// - Decoding is for bytes from outside: a short buffer, or a value past what a
//   JavaScript number holds exactly, is a CorruptInputError naming the struct, the field
//   and the byte offset.
// - Text formats with fixed-width numbers (cpio newc: 8 ASCII hex digits) use `hexN`:
//   encoded as N lowercase hex digits, decoded only from N hex digits (either case).
import { CorruptInputError } from '../util/errors.js';

export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'u16be' | 'u32be' | 'u64be' | `bytes${number}` | `hex${number}`;
export type FieldSpec = readonly [name: string, type: FieldType, offset: number];

type FieldValue<T> = T extends `bytes${number}` ? Uint8Array : number;
/** The decoded value of a table: one property per row. */
export type FieldsValue<F extends readonly FieldSpec[]> = { -readonly [E in F[number] as E[0]]: FieldValue<E[1]> };
type NameOf<F extends readonly FieldSpec[]> = F[number][0];

export interface StructOptions<F extends readonly FieldSpec[], S> {
  /** Total size when the table ends before the struct does (reserved tail bytes). */
  size?: number;
  /** Wide values stored in parts: name → the part fields, lowest first. */
  split?: S;
  /** Fields or split values the format stores as the low bits of a wider number (checksums). */
  lowBits?: readonly (NameOf<F> | (keyof S & string))[];
}

export interface Struct<T extends object, L extends string = never> {
  readonly name: string;
  readonly size: number;
  readonly offsets: Readonly<Record<keyof T & string, number>>;
  /** Encodes `value` (missing fields are left as they are: zero in a new buffer) into `into` at `at`, or a new buffer. */
  encode(value: Partial<T & Record<L, number>>, into?: Uint8Array, at?: number): Uint8Array;
  decode(buf: Uint8Array, at?: number): T;
  /** One field or split value of the struct at `at` of `buf`. */
  get<K extends (keyof T & string) | L>(buf: Uint8Array, at: number, name: K): K extends keyof T ? T[K] : number;
  /** Writes one field or split value (range-checked like encode). */
  set<K extends (keyof T & string) | L>(buf: Uint8Array, at: number, name: K, value: K extends keyof T ? T[K] : number): void;
  /** Byte range [start, end) of a field in the struct. */
  span(name: keyof T & string): readonly [start: number, end: number];
}

interface Row {
  name: string;
  type: FieldType;
  offset: number;
  width: number;
  low: boolean;
}

function width(t: FieldType): number {
  switch (t) {
    case 'u8': return 1;
    case 'u16': case 'u16be': return 2;
    case 'u32': case 'u32be': return 4;
    case 'u64': case 'u64be': return 8;
    default: return Number(t.startsWith('hex') ? t.slice(3) : t.slice(5));
  }
}

const LIMIT: Record<number, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff, 8: Number.MAX_SAFE_INTEGER };

/** A value that does not fit its field: a bug of the encoder's caller. */
export class StructRangeError extends RangeError {
  constructor(struct: string, field: string, value: unknown, what: string) {
    super(`struct ${struct}: ${field} = ${String(value)} does not fit ${what}`);
    this.name = 'StructRangeError';
  }
}

const HEX = '0123456789abcdef';

function writeHex(s: string, r: Row, buf: Uint8Array, o: number, x: unknown): void {
  const n = x as number;
  if (!(typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n < 16 ** r.width)) throw new StructRangeError(s, r.name, x, `${r.width} hex digits`);
  let v = n;
  for (let d = r.width - 1; d >= 0; d--) {
    buf[o + d] = HEX.charCodeAt(v % 16);
    v = Math.floor(v / 16);
  }
}

function readHex(s: string, r: Row, buf: Uint8Array, o: number): number {
  let v = 0;
  for (let d = 0; d < r.width; d++) {
    const c = buf[o + d]!;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (digit < 0) throw new CorruptInputError(s, `${r.name} is not ${r.width} hex digits`, { format: s, field: r.name, offset: o });
    v = v * 16 + digit;
  }
  return v;
}

function writeNumber(s: string, r: Row, buf: Uint8Array, o: number, x: unknown): void {
  if (r.type.startsWith('hex')) return writeHex(s, r, buf, o, x);
  let n = x as number;
  if (!(typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= LIMIT[r.width]!)) {
    if (!(r.low && typeof n === 'number' && Number.isInteger(n))) throw new StructRangeError(s, r.name, x, r.type);
    n = r.width === 4 ? n >>> 0 : n & LIMIT[r.width]!;
  }
  switch (r.type) {
    case 'u8': buf[o] = n; break;
    case 'u16': buf[o] = n; buf[o + 1] = n >>> 8; break;
    case 'u32': buf[o] = n; buf[o + 1] = n >>> 8; buf[o + 2] = n >>> 16; buf[o + 3] = n >>> 24; break;
    case 'u16be': buf[o] = n >>> 8; buf[o + 1] = n; break;
    case 'u32be': buf[o] = n >>> 24; buf[o + 1] = n >>> 16; buf[o + 2] = n >>> 8; buf[o + 3] = n; break;
    case 'u64': {
      const lo = n % 2 ** 32, hi = (n - lo) / 2 ** 32;
      buf[o] = lo; buf[o + 1] = lo >>> 8; buf[o + 2] = lo >>> 16; buf[o + 3] = lo >>> 24;
      buf[o + 4] = hi; buf[o + 5] = hi >>> 8; buf[o + 6] = hi >>> 16; buf[o + 7] = hi >>> 24;
      break;
    }
    case 'u64be': {
      const lo = n % 2 ** 32, hi = (n - lo) / 2 ** 32;
      buf[o] = hi >>> 24; buf[o + 1] = hi >>> 16; buf[o + 2] = hi >>> 8; buf[o + 3] = hi;
      buf[o + 4] = lo >>> 24; buf[o + 5] = lo >>> 16; buf[o + 6] = lo >>> 8; buf[o + 7] = lo;
      break;
    }
  }
}

function writeField(s: string, r: Row, buf: Uint8Array, at: number, x: unknown): void {
  if (r.type.startsWith('bytes')) {
    if (!(x instanceof Uint8Array) || x.length > r.width) throw new StructRangeError(s, r.name, x instanceof Uint8Array ? `${x.length} bytes` : x, `${r.width} bytes`);
    buf.set(x, at + r.offset);
  } else writeNumber(s, r, buf, at + r.offset, x);
}

function readField(s: string, r: Row, buf: Uint8Array, at: number): number | Uint8Array {
  const o = at + r.offset;
  switch (r.type) {
    case 'u8': return buf[o]!;
    case 'u16': return buf[o]! | (buf[o + 1]! << 8);
    case 'u32': return (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0;
    case 'u16be': return (buf[o]! << 8) | buf[o + 1]!;
    case 'u32be': return ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
    case 'u64': {
      const lo = (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0;
      const hi = (buf[o + 4]! | (buf[o + 5]! << 8) | (buf[o + 6]! << 16) | (buf[o + 7]! << 24)) >>> 0;
      if (hi > 0x1fffff) throw new CorruptInputError(s, `${r.name} is past 2^53`, { format: s, field: r.name, offset: o });
      return hi * 2 ** 32 + lo;
    }
    case 'u64be': {
      const hi = ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
      const lo = ((buf[o + 4]! << 24) | (buf[o + 5]! << 16) | (buf[o + 6]! << 8) | buf[o + 7]!) >>> 0;
      if (hi > 0x1fffff) throw new CorruptInputError(s, `${r.name} is past 2^53`, { format: s, field: r.name, offset: o });
      return hi * 2 ** 32 + lo;
    }
    default: return r.type.startsWith('hex') ? readHex(s, r, buf, o) : buf.slice(o, o + r.width);
  }
}

export function defineStruct<const F extends readonly FieldSpec[], const S extends Record<string, readonly NameOf<F>[]> = Record<never, never>>(
  name: string,
  fields: F,
  opts: StructOptions<F, S> = {},
): Struct<FieldsValue<F>, keyof S & string> {
  type T = FieldsValue<F>;
  const low = new Set<string>(opts.lowBits ?? []);
  const { rows, byName, offsets, total } = tableRows(name, fields, low, opts.size);
  const splits = splitValues(name, opts.split ?? {}, byName, low);
  for (const l of low) if (!byName.has(l) && !splits.has(l)) throw new Error(`struct ${name}: lowBits names ${l}, which it does not have`);
  const check = (buf: Uint8Array, at: number): void => checkRoom(name, total, buf, at);
  // Made at the first encode: a command loads tables it never writes (a bake loads FAT's,
  // GPT's and the image formats' with the disk planner).
  let encodeInto: EncodeInto | undefined;
  return {
    name,
    size: total,
    offsets: offsets as Record<keyof T & string, number>,
    encode(value, into, at = 0) {
      const buf = into ?? new Uint8Array(total);
      (encodeInto ??= compileEncoder(name, rows, splits))(value as Record<string, unknown>, buf, at);
      return buf;
    },
    decode(buf, at = 0) {
      check(buf, at);
      const out: Record<string, unknown> = {};
      for (const r of rows) out[r.name] = readField(name, r, buf, at);
      return out as T;
    },
    get(buf, at, fname) {
      check(buf, at);
      const sp = splits.get(fname);
      if (!sp) return readField(name, byName.get(fname)!, buf, at) as never;
      let n = 0;
      for (const { row, scale } of sp.parts) n += (readField(name, row, buf, at) as number) * scale;
      if (!Number.isSafeInteger(n)) throw new CorruptInputError(name, `${fname} is past 2^53`, { format: name, field: fname, offset: at });
      return n as never;
    },
    set(buf, at, fname, value) {
      check(buf, at);
      const sp = splits.get(fname);
      if (sp) writeSplit(name, fname, sp, buf, at, value);
      else writeField(name, byName.get(fname)!, buf, at, value);
    },
    span(fname) {
      const r = byName.get(fname)!;
      return [r.offset, r.offset + r.width];
    },
  };
}

type EncodeInto = (v: Record<string, unknown>, buf: Uint8Array, at: number) => void;

/** Whether this host lets code be made from text (undefined: not tried yet). */
let canMakeCode: boolean | undefined;

/**
 * The encoder of a table: rows in table order, then split values (which take precedence
 * over their parts). Made as straight-line code, one statement per row with its field
 * name and offset written in: the generic loop looked each value up by a name held in a
 * variable (a megamorphic lookup per field) and walked the splits through a Map iterator,
 * and ext4's inode tables spent more time there than in their own code. Where the host
 * forbids making code (a page whose CSP has no 'unsafe-eval'), the loop does the same.
 */
function compileEncoder(name: string, rows: readonly Row[], splits: Map<string, Split>): EncodeInto {
  const splitList = [...splits];
  const generic: EncodeInto = (v, buf, at) => {
    for (const r of rows) {
      const x = v[r.name];
      if (x !== undefined) writeField(name, r, buf, at, x);
    }
    for (const [sname, sp] of splitList) if (v[sname] !== undefined) writeSplit(name, sname, sp, buf, at, v[sname]);
  };
  const lines: string[] = [];
  rows.forEach((r, i) => {
    const key = JSON.stringify(r.name);
    const o = `at + ${r.offset}`;
    // Little-endian fields in range are stored here; anything else (out of range, low
    // bits, other kinds) goes to writeField, which checks and says what is wrong.
    const store = r.type === 'u8' ? `buf[${o}] = x;`
      : r.type === 'u16' ? `buf[${o}] = x; buf[${o} + 1] = x >>> 8;`
      : r.type === 'u32' ? `buf[${o}] = x; buf[${o} + 1] = x >>> 8; buf[${o} + 2] = x >>> 16; buf[${o} + 3] = x >>> 24;`
      : null;
    if (store) {
      lines.push(`x = v[${key}]; if (x !== undefined) { if (typeof x === 'number' && x <= ${LIMIT[r.width]} && x === x >>> 0) { ${store} } else writeField(name, rows[${i}], buf, at, x); }`);
    } else {
      lines.push(`x = v[${key}]; if (x !== undefined) writeField(name, rows[${i}], buf, at, x);`);
    }
  });
  splitList.forEach(([sname, sp], i) => {
    // Parts of u16/u32 (all but checksums' low bits): each stored here when the whole
    // value is in range; writeSplit checks and says what is wrong otherwise.
    const stores = sp.parts.map(({ row, scale }) => {
      const o = `at + ${row.offset}`;
      const part = scale === 1 ? `p = x % ${2 ** (row.width * 8)};` : `p = Math.floor(x / ${scale}) % ${2 ** (row.width * 8)};`;
      return row.type === 'u16' ? `${part} buf[${o}] = p; buf[${o} + 1] = p >>> 8;`
        : row.type === 'u32' ? `${part} buf[${o}] = p; buf[${o} + 1] = p >>> 8; buf[${o} + 2] = p >>> 16; buf[${o} + 3] = p >>> 24;`
        : null;
    });
    const key = JSON.stringify(sname);
    const slow = `writeSplit(name, ${key}, splitList[${i}][1], buf, at, x);`;
    if (stores.every((x) => x !== null)) {
      lines.push(`x = v[${key}]; if (x !== undefined) { if (typeof x === 'number' && x >= 0 && x < ${2 ** sp.bits} && Number.isInteger(x)) { ${stores.join(' ')} } else ${slow} }`);
    } else {
      lines.push(`x = v[${key}]; if (x !== undefined) ${slow}`);
    }
  });
  if (canMakeCode === false) return generic;
  try {
    const make = new Function('name', 'rows', 'splitList', 'writeField', 'writeSplit', `return function encode(v, buf, at) { let x, p; ${lines.join(' ')} };`);
    canMakeCode = true;
    return make(name, rows, splitList, writeField, writeSplit) as EncodeInto;
  } catch {
    // Asked once: a browser reports each refusal as a CSP violation.
    canMakeCode = false;
    return generic;
  }
}

/** The rows of a table, each offset checked against the running sum (a wrong width fails at import time). */
function tableRows(name: string, fields: readonly FieldSpec[], low: Set<string>, size: number | undefined): { rows: Row[]; byName: Map<string, Row>; offsets: Record<string, number>; total: number } {
  let pos = 0;
  const rows: Row[] = [];
  const byName = new Map<string, Row>();
  const offsets: Record<string, number> = {};
  for (const [fname, type, offset] of fields) {
    if (offset !== pos) throw new Error(`struct ${name}: field ${fname} declared at 0x${offset.toString(16)} but falls at 0x${pos.toString(16)}`);
    if (byName.has(fname)) throw new Error(`struct ${name}: field ${fname} declared twice`);
    const row = { name: fname, type, offset, width: width(type), low: low.has(fname) };
    rows.push(row);
    byName.set(fname, row);
    offsets[fname] = offset;
    pos += row.width;
  }
  const total = size ?? pos;
  if (pos > total) throw new Error(`struct ${name}: fields end at ${pos}, past size ${total}`);
  return { rows, byName, offsets, total };
}

/** A wide value stored in parts: the part rows lowest first, with the bit position each part starts at. */
interface Split {
  parts: { row: Row; scale: number }[];
  bits: number;
  low: boolean;
}

function splitValues(name: string, split: Record<string, readonly string[]>, byName: Map<string, Row>, low: Set<string>): Map<string, Split> {
  const splits = new Map<string, Split>();
  for (const [sname, partNames] of Object.entries(split)) {
    if (byName.has(sname)) throw new Error(`struct ${name}: split ${sname} has the name of a field`);
    let bits = 0;
    const parts = partNames.map((p) => {
      const row = byName.get(p);
      if (!row || row.type.startsWith('bytes') || row.type.startsWith('hex') || row.width === 8) throw new Error(`struct ${name}: split ${sname}: ${p} is not an integer field of it`);
      const part = { row, scale: 2 ** bits };
      bits += row.width * 8;
      return part;
    });
    splits.set(sname, { parts, bits: Math.min(bits, 53), low: low.has(sname) });
  }
  return splits;
}

/** Writes a split value across its parts, range-checked against their bits (or masked, for a low-bits value). */
function writeSplit(name: string, sname: string, sp: Split, buf: Uint8Array, at: number, x: unknown): void {
  let n = x as number;
  if (!(typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 2 ** sp.bits)) {
    if (!(sp.low && typeof n === 'number' && Number.isInteger(n) && sp.bits <= 32)) throw new StructRangeError(name, sname, x, `${sp.bits} bits (${sp.parts.map((p) => p.row.name).join(' + ')})`);
    n = sp.bits === 32 ? n >>> 0 : n & (2 ** sp.bits - 1);
  }
  for (const { row, scale } of sp.parts) writeNumber(name, row, buf, at + row.offset, Math.floor(n / scale) % 2 ** (row.width * 8));
}

function checkRoom(name: string, total: number, buf: Uint8Array, at: number): void {
  if (!(at >= 0 && at + total <= buf.length)) {
    throw new CorruptInputError(name, `needs ${total} bytes at offset ${at}, only ${Math.max(0, buf.length - at)} available`, { format: name, offset: at });
  }
}

/** The decoded type of a struct: `type Inode = StructValue<typeof INODE>`. */
export type StructValue<S> = S extends Struct<infer T, string> ? T : never;
