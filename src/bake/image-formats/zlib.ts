// Deflate framing for compressed clusters and grains, with pako (a zlib port: the same
// bytes on every host) so the output is reproducible. VMDK grains are zlib streams (RFC
// 1950: a 2-byte header, raw deflate, an Adler-32), qcow2 clusters raw deflate with a
// 4 KiB window (what qemu's decompressor accepts). Inflating untrusted data writes into a
// fixed buffer of one cluster: a bomb fills it and stops.
import * as zlibInflate from 'pako/lib/zlib/inflate.js';
import ZStreamCtor from 'pako/lib/zlib/zstream.js';

/** Adler-32 of `data` (RFC 1950). */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  const NMAX = 5552; // the longest run before the sums must be reduced
  for (let i = 0; i < data.length; ) {
    const end = Math.min(data.length, i + NMAX);
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream around raw deflate `raw` of `data` (window 32 KiB), as zlib's compress() frames it. */
export function zlibWrap(raw: Uint8Array, data: Uint8Array, level: number): Uint8Array {
  const cmf = 0x78; // deflate, 32 KiB window
  const flevel = level < 2 ? 0 : level < 6 ? 1 : level === 6 ? 2 : 3;
  let flg = flevel << 6;
  flg += 31 - ((cmf * 256 + flg) % 31);
  const out = new Uint8Array(raw.length + 6);
  out[0] = cmf;
  out[1] = flg;
  out.set(raw, 2);
  new DataView(out.buffer).setUint32(raw.length + 2, adler32(data));
  return out;
}

const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5;
const Z_FINISH = 4;

export interface Inflated {
  /** Bytes written into the output buffer. */
  length: number;
  /** The stream reached its end. */
  ended: boolean;
  /** zlib's complaint, when the data is not a valid stream. */
  error?: string;
}

/** Inflates `input` (zlib stream, or raw deflate) into `out`, stopping when it is full. */
export function inflateInto(input: Uint8Array, out: Uint8Array, raw: boolean): Inflated {
  const strm = new ZStreamCtor();
  if (zlibInflate.inflateInit2(strm, raw ? -15 : 15) !== Z_OK) throw new Error('pako: inflateInit2 failed');
  strm.input = input;
  strm.next_in = 0;
  strm.avail_in = input.length;
  strm.output = out;
  strm.next_out = 0;
  strm.avail_out = out.length;
  const status = zlibInflate.inflate(strm, Z_FINISH);
  const length = strm.next_out;
  zlibInflate.inflateEnd(strm);
  if (status === Z_STREAM_END) return { length, ended: true };
  if (status === Z_OK || status === Z_BUF_ERROR) return { length, ended: false };
  return { length, ended: false, error: strm.msg || `zlib status ${status}` };
}
