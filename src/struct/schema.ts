// A tiny schema kit: each on-disk struct is declared once as a table of
// [name, type, offset]; encode and decode both come from it. The offset column is
// checked against the running sum when the struct is defined, so a typo in a width
// fails at import time rather than corrupting images.
import { CorruptInputError } from '../util/errors.js';

export type FieldType = 'u8' | 'u16' | 'u32' | 'u16be' | 'u32be' | `bytes${number}`;
export type FieldSpec = readonly [name: string, type: FieldType, offset: number];

export interface Struct<T> {
  readonly name: string;
  readonly size: number;
  readonly offsets: Readonly<Record<keyof T & string, number>>;
  /** Encodes `value` (missing fields are zero) into `into` at `at`, or a new buffer. */
  encode(value: Partial<T>, into?: Uint8Array, at?: number): Uint8Array;
  decode(buf: Uint8Array, at?: number): T;
}

function width(t: FieldType): number {
  switch (t) {
    case 'u8': return 1;
    case 'u16': case 'u16be': return 2;
    case 'u32': case 'u32be': return 4;
    default: return Number(t.slice(5));
  }
}

export function defineStruct<T extends object>(name: string, fields: readonly FieldSpec[], size?: number): Struct<T> {
  let pos = 0;
  const offsets: Record<string, number> = {};
  for (const [fname, type, offset] of fields) {
    if (offset !== pos) throw new Error(`struct ${name}: field ${fname} declared at 0x${offset.toString(16)} but falls at 0x${pos.toString(16)}`);
    offsets[fname] = offset;
    pos += width(type);
  }
  const total = size ?? pos;
  if (pos > total) throw new Error(`struct ${name}: fields end at ${pos}, past size ${total}`);

  return {
    name,
    size: total,
    offsets: offsets as Record<keyof T & string, number>,
    // Byte stores rather than a DataView: encode runs per inode and per dirent, and a
    // DataView per call was a measurable share of writing a 100,000-file tree.
    encode(value, into, at = 0) {
      const buf = into ?? new Uint8Array(total);
      const v = value as Record<string, unknown>;
      for (const [fname, type, offset] of fields) {
        const x = v[fname];
        if (x === undefined) continue;
        const o = at + offset;
        const n = x as number;
        switch (type) {
          case 'u8': buf[o] = n; break;
          case 'u16': buf[o] = n; buf[o + 1] = n >>> 8; break;
          case 'u32': buf[o] = n; buf[o + 1] = n >>> 8; buf[o + 2] = n >>> 16; buf[o + 3] = n >>> 24; break;
          case 'u16be': buf[o] = n >>> 8; buf[o + 1] = n; break;
          case 'u32be': buf[o] = n >>> 24; buf[o + 1] = n >>> 16; buf[o + 2] = n >>> 8; buf[o + 3] = n; break;
          default: {
            const bytes = x as Uint8Array;
            const w = width(type);
            if (bytes.length > w) throw new Error(`struct ${name}: ${fname} is ${bytes.length} bytes, field holds ${w}`);
            buf.set(bytes, at + offset);
          }
        }
      }
      return buf;
    },
    decode(buf, at = 0) {
      if (at < 0 || at + total > buf.length) {
        throw new CorruptInputError(name, `needs ${total} bytes at offset ${at}, only ${Math.max(0, buf.length - at)} available`);
      }
      const dv = new DataView(buf.buffer, buf.byteOffset + at, total);
      const out: Record<string, unknown> = {};
      for (const [fname, type, offset] of fields) {
        switch (type) {
          case 'u8': out[fname] = dv.getUint8(offset); break;
          case 'u16': out[fname] = dv.getUint16(offset, true); break;
          case 'u32': out[fname] = dv.getUint32(offset, true); break;
          case 'u16be': out[fname] = dv.getUint16(offset, false); break;
          case 'u32be': out[fname] = dv.getUint32(offset, false); break;
          default: out[fname] = buf.slice(at + offset, at + offset + width(type));
        }
      }
      return out as T;
    },
  };
}
