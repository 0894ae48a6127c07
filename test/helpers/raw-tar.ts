// Tar headers written by hand, for what no archiver writes: base-256 fields (negative
// sizes and ids), ids past 2^32 in pax records, sizes that lie. Each entry is one header
// block (plus a pax block before it when given) and its data.
import { headerSum } from '../../src/sources/tar-headers.js';

export interface RawEntry {
  name: string;
  type?: string;
  mode?: number;
  /** A number (octal field), or a bigint written base-256 (negative allowed). */
  uid?: number | bigint;
  gid?: number | bigint;
  size?: number | bigint;
  mtime?: number | bigint;
  linkname?: string;
  body?: Buffer;
  /** pax records for this entry ("uid" → "1099511627776"). */
  pax?: Record<string, string>;
}

function field(b: Buffer, off: number, len: number, v: number | bigint): void {
  if (typeof v === 'bigint') {
    // GNU base-256: big-endian two's complement with the top bit of the first byte set.
    let x = v < 0n ? (1n << BigInt(len * 8)) + v : v;
    for (let i = len - 1; i >= 0; i--) {
      b[off + i] = Number(x & 0xffn);
      x >>= 8n;
    }
    b[off] = (b[off]! & 0x7f) | 0x80;
    if (v < 0n) b[off] = b[off]! | 0x40;
    return;
  }
  b.write(`${v.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
}

function header(name: string, type: string, o: { mode?: number; uid?: number | bigint; gid?: number | bigint; size?: number | bigint; mtime?: number | bigint; linkname?: string }): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'latin1');
  field(b, 100, 8, o.mode ?? 0o644);
  field(b, 108, 8, o.uid ?? 0);
  field(b, 116, 8, o.gid ?? 0);
  field(b, 124, 12, o.size ?? 0);
  field(b, 136, 12, o.mtime ?? 1_700_000_000);
  b[156] = type.charCodeAt(0);
  if (o.linkname) b.write(o.linkname, 157, 100, 'latin1');
  b.write('ustar\u000000', 257, 'latin1');
  b.write(`${headerSum(b).toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

function paxBlock(records: Record<string, string>): Buffer {
  let body = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = rest.length + String(rest.length).length;
    if (String(len).length !== String(rest.length).length) len = rest.length + String(len).length;
    body += `${len}${rest}`;
  }
  const data = Buffer.from(body, 'latin1');
  return Buffer.concat([header('PaxHeaders/x', 'x', { size: data.length }), data, pad(data.length)]);
}

export function rawTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) parts.push(paxBlock(e.pax));
    const body = e.body ?? Buffer.alloc(0);
    parts.push(header(e.name, e.type ?? (e.body ? '0' : '5'), { ...e, size: e.size ?? body.length }));
    parts.push(body, pad(body.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
