// Streaming input for archive readers: sniffs the compression by magic bytes and inflates
// gzip with pako's zlib port, chunk by chunk, so neither the archive nor a member is ever held whole.
// No node: imports, so it runs in a browser too.
import * as zlibInflate from 'pako/lib/zlib/inflate.js';
import ZStreamCtor, { type ZStream } from 'pako/lib/zlib/zstream.js';
import { Decompress as ZstdDecompress } from 'fzstd';
import { CorruptInputError } from '../util/errors.js';
import { compressionOf } from './compression.js';

/** Inflated output comes in chunks of this size; the inflater stops when one is full, so memory stays bounded. */
const INFLATE_CHUNK = 256 * 1024;


/** A streaming decoder for a format this module does not decode itself. */
export type StreamDecoder = (input: AsyncIterable<Uint8Array>, label: string) => AsyncIterable<Uint8Array>;

// xz and bzip2 have no well-kept streaming decoder for JS; a backend registers one (on
// Node: the host's `xz -dc`, see io/host-decoders.ts). Unregistered formats are refused.
const extraDecoders = new Map<string, StreamDecoder>();

export function registerDecoder(format: 'xz' | 'bzip2' | 'lz4', decoder: StreamDecoder): void {
  extraDecoders.set(format, decoder);
}


/**
 * The bytes of `input`, gunzipped when they start with the gzip magic (1f 8b). Other
 * compressors are recognised and refused with a clear message. Errors name `label`.
 */
export async function* maybeDecompress(input: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<Uint8Array> {
  const it = input[Symbol.asyncIterator]();
  try {
    // Gather enough bytes to sniff (chunks may be tiny).
    const head: Uint8Array[] = [];
    let headLen = 0;
    let ended = false;
    while (headLen < 8) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      head.push(r.value);
      headLen += r.value.length;
    }
    const first = concat(head, headLen);
    const kind = compressionOf(first);
    if (kind === 'gzip') {
      yield* gunzip(first, ended ? null : it, label);
      return;
    }
    if (kind === 'zstd') {
      yield* unzstd(first, ended ? null : it, label);
      return;
    }
    if (kind) {
      const decoder = extraDecoders.get(kind);
      if (decoder) {
        yield* decoder(prepend(first, ended ? null : it), label);
        return;
      }
      throw new CorruptInputError(label, `${kind}-compressed archives are not supported; decompress it first or use gzip`);
    }
    if (first.length) yield first;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      if (r.value.length) yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

/** zstd with fzstd's streaming decoder (image layers, .tar.zst rootfs tarballs). */
async function* unzstd(first: Uint8Array, rest: AsyncIterator<Uint8Array> | null, label: string): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let produced = 0;
  const z = new ZstdDecompress((chunk) => {
    produced += chunk.length;
    out.push(chunk);
  });
  const frames = new ZstdFrames(label, () => produced);
  const push = (chunk: Uint8Array, final: boolean): void => {
    frames.check(chunk);
    try {
      z.push(chunk, final);
    } catch (e) {
      throw new CorruptInputError(label, `corrupt zstd data: ${(e as Error).message}`);
    }
  };
  push(first, false);
  while (out.length) yield out.shift()!;
  if (rest) {
    for (;;) {
      const r = await rest.next();
      if (r.done) break;
      push(r.value, false);
      while (out.length) yield out.shift()!;
    }
  }
  push(new Uint8Array(0), true);
  while (out.length) yield out.shift()!;
}

/** zstd's own default decoding limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT, 2^27 bytes). */
const MAX_ZSTD_WINDOW = 1 << 27;
const ZSTD_MAGIC = 0xfd2fb528;

/**
 * fzstd allocates each frame's whole window when it reads the frame header (up to 2 GiB,
 * zero-filled), so a few bytes of header would cost seconds and gigabytes. This walks
 * the frames ahead of it (frame headers, block headers, checksums, skippable frames) and
 * refuses a window over zstd's default limit, or windows adding up to far more than the
 * data decoded so far (many tiny frames each asking for a big one). Anything that is not
 * zstd framing is left to fzstd's own error.
 */
class ZstdFrames {
  private head: Uint8Array = EMPTY;
  private skip = 0;
  private inFrame = false;
  private checksum = false;
  private off = false;
  private windows = 0;

  constructor(private readonly label: string, private readonly produced: () => number) {}

  check(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && !this.off) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      const want = this.wanted();
      const n = Math.min(want - this.head.length, chunk.length - at);
      const head = new Uint8Array(this.head.length + n);
      head.set(this.head);
      head.set(chunk.subarray(at, at + n), this.head.length);
      this.head = head;
      at += n;
      if (this.head.length === want && this.wanted() === want) this.parse();
    }
  }

  /** Bytes the header being read needs, as far as its first bytes tell. */
  private wanted(): number {
    const h = this.head;
    if (this.inFrame) return 3;
    if (h.length < 4) return 4;
    const magic = u32le(h, 0);
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) return 8;
    if (magic !== ZSTD_MAGIC) return 4;
    if (h.length < 5) return 5;
    const fhd = h[4]!;
    const single = (fhd >> 5) & 1;
    return 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + [single, 2, 4, 8][fhd >> 6]!;
  }

  private parse(): void {
    const h = this.head;
    this.head = EMPTY;
    if (this.inFrame) {
      const v = h[0]! | (h[1]! << 8) | (h[2]! << 16);
      const type = (v >> 1) & 3;
      if (type === 3) this.off = true; // reserved block type: fzstd says so
      this.skip = type === 1 ? 1 : v >>> 3; // an RLE block stores one byte
      if (v & 1) {
        this.inFrame = false;
        if (this.checksum) this.skip += 4;
      }
      return;
    }
    const magic = u32le(h, 0);
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
      this.skip = u32le(h, 4);
      return;
    }
    if (magic !== ZSTD_MAGIC) {
      this.off = true;
      return;
    }
    const fhd = h[4]!;
    const single = (fhd >> 5) & 1;
    let window: number;
    if (!single) {
      const base = 2 ** (10 + (h[5]! >> 3));
      window = base + (base / 8) * (h[5]! & 7);
    } else {
      const at = 5 + [0, 1, 2, 4][fhd & 3]!;
      const len = [1, 2, 4, 8][fhd >> 6]!;
      window = len === 2 ? 256 : 0;
      for (let i = 0; i < len; i++) window += h[at + i]! * 2 ** (8 * i);
    }
    if (window > MAX_ZSTD_WINDOW) {
      throw new CorruptInputError(this.label, `a zstd frame needs a ${window}-byte window, over zstd's default limit of ${MAX_ZSTD_WINDOW} (decompress it with zstd --long first)`);
    }
    this.windows += window;
    if (this.windows > MAX_ZSTD_WINDOW + 16 * this.produced()) {
      throw new CorruptInputError(this.label, `zstd frames ask for ${this.windows} bytes of windows for ${this.produced()} bytes of data`);
    }
    this.checksum = ((fhd >> 2) & 1) === 1;
    this.inFrame = true;
  }
}

const u32le = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

async function* prepend(first: Uint8Array, rest: AsyncIterator<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  yield first;
  if (!rest) return;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// pako's high-level Inflate mishandles a second gzip member that starts inside a pushed
// chunk ("invalid distance too far back"), so this drives its zlib port directly: one
// fresh stream per member, and we see exactly where each member ends.
const Z_NO_FLUSH = 0;
const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5;
const GZIP_ONLY = 15 + 16;

function newStream(): ZStream {
  const strm = new ZStreamCtor();
  strm.avail_out = 0;
  if (zlibInflate.inflateInit2(strm, GZIP_ONLY) !== Z_OK) throw new Error('pako: inflateInit2 failed');
  return strm;
}

async function* gunzip(first: Uint8Array, rest: AsyncIterator<Uint8Array> | null, label: string): AsyncGenerator<Uint8Array> {
  let strm: ZStream | null = null; // null between members
  let sawMember = false;
  let consumedBefore = 0; // compressed bytes before the current input chunk
  let chunkStart = 0;

  const fail = (what: string): never => {
    const at = consumedBefore + (strm ? strm.next_in : chunkStart);
    throw new CorruptInputError(label, `corrupt gzip data near compressed byte ${at}: ${what}`);
  };

  const process = function* (input: Uint8Array): Generator<Uint8Array> {
    let pos = 0;
    while (pos < input.length) {
      if (strm === null) {
        // Between members: zero padding, or the magic of another member.
        chunkStart = pos;
        if (input[pos] === 0) {
          pos++;
          continue;
        }
        if (input[pos] !== 0x1f) fail(sawMember ? 'trailing garbage after the gzip data' : 'not gzip data');
        strm = newStream();
        sawMember = true;
      }
      strm.input = input;
      strm.next_in = pos;
      strm.avail_in = input.length - pos;
      for (;;) {
        if (strm.avail_out === 0) {
          strm.output = new Uint8Array(INFLATE_CHUNK);
          strm.next_out = 0;
          strm.avail_out = INFLATE_CHUNK;
        }
        const status = zlibInflate.inflate(strm, Z_NO_FLUSH);
        if (status !== Z_OK && status !== Z_STREAM_END && status !== Z_BUF_ERROR) fail(strm.msg || `zlib status ${status}`);
        const full = strm.avail_out === 0;
        if (strm.next_out > 0 && (full || status === Z_STREAM_END)) {
          const out = strm.output!.subarray(0, strm.next_out);
          strm.avail_out = 0; // a fresh buffer next time: the consumer may still hold this one
          yield out;
        }
        if (status === Z_STREAM_END) {
          pos = strm.next_in;
          zlibInflate.inflateEnd(strm);
          strm = null;
          break;
        }
        if (strm.avail_in === 0) {
          pos = input.length;
          break;
        }
        if (!full && status === Z_BUF_ERROR) fail('inflate made no progress');
      }
    }
    consumedBefore += input.length;
  };

  yield* process(first);
  if (rest) {
    for (;;) {
      const r = await rest.next();
      if (r.done) break;
      yield* process(r.value);
    }
  }
  // consumedBefore now counts every byte: the position is the end, not "next_in" on top of it.
  if (strm !== null) throw new CorruptInputError(label, `truncated gzip data: the stream ends after ${consumedBefore} compressed bytes, inside a member`);
}

const EMPTY = new Uint8Array(0);

/** Sequential reads over a chunk stream: exact reads, skips and pass-throughs, tracking the offset. */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  private eof = false;
  /** Offset of the next byte in the stream. */
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async more(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.eof) return false;
      const r = await this.it.next();
      if (r.done) {
        this.eof = true;
        this.chunk = EMPTY;
        this.pos = 0;
        return false;
      }
      this.chunk = r.value;
      this.pos = 0;
    }
    return true;
  }

  /** Fills `dest`; returns the bytes read, fewer than dest.length only at end of stream. */
  async read(dest: Uint8Array): Promise<number> {
    let got = 0;
    while (got < dest.length && (await this.more())) {
      const take = Math.min(dest.length - got, this.chunk.length - this.pos);
      dest.set(this.chunk.subarray(this.pos, this.pos + take), got);
      this.pos += take;
      got += take;
      this.offset += take;
    }
    return got;
  }

  /** Passes the next `n` bytes to `sink` in pieces (valid only during the call); returns how many there were. */
  async pipe(n: number, sink: ((chunk: Uint8Array) => void | Promise<void>) | null): Promise<number> {
    let done = 0;
    while (done < n && (await this.more())) {
      const take = Math.min(n - done, this.chunk.length - this.pos);
      const piece = this.chunk.subarray(this.pos, this.pos + take);
      this.pos += take;
      done += take;
      this.offset += take;
      if (sink) await sink(piece);
    }
    return done;
  }

  /** Discards the next `n` bytes; returns how many there were. */
  skip(n: number): Promise<number> {
    return this.pipe(n, null);
  }

  async close(): Promise<void> {
    this.eof = true;
    await this.it.return?.();
  }
}
