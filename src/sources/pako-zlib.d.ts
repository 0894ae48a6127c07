// Types for the parts of pako's zlib port that decompress.ts uses (pako ships no types for them).
declare module 'pako/lib/zlib/zstream.js' {
  export interface ZStream {
    input: Uint8Array | null;
    next_in: number;
    avail_in: number;
    total_in: number;
    output: Uint8Array | null;
    next_out: number;
    avail_out: number;
    total_out: number;
    msg: string;
    state: unknown;
  }
  const ZStreamCtor: { new (): ZStream };
  export default ZStreamCtor;
}

declare module 'pako/lib/zlib/inflate.js' {
  import type { ZStream } from 'pako/lib/zlib/zstream.js';
  export function inflateInit2(strm: ZStream, windowBits: number): number;
  export function inflate(strm: ZStream, flush: number): number;
  export function inflateEnd(strm: ZStream): number;
}
