// Streaming input for archive readers: sniffs the compression by magic bytes and inflates
// gzip (gunzip.ts) and zstd (fzstd) chunk by chunk, so neither the archive nor a member
// is ever held whole; xz, bzip2 and lz4 go to a registered decoder. No node: imports, so
// it runs in a browser too.
import { Decompress as ZstdDecompress } from 'fzstd';
import { CorruptInputError } from '../util/errors.js';
import { compressionOf } from './compression.js';
import { gunzip } from './gunzip.js';


/** A streaming decoder for a format this module does not decode itself. */
export type StreamDecoder = (input: AsyncIterable<Uint8Array>, label: string) => AsyncIterable<Uint8Array>;

// xz and bzip2 have no well-kept streaming decoder for JS; a backend registers one (on
// Node: the host's `xz -dc`, see host/host-decoders.ts). Unregistered formats are refused.
const extraDecoders = new Map<string, StreamDecoder>();

export function registerDecoder(format: 'xz' | 'bzip2' | 'lz4', decoder: StreamDecoder): void {
  extraDecoders.set(format, decoder);
}


/**
 * The bytes of `input`, decompressed when they start with the magic of gzip or zstd, or of
 * a format with a registered decoder; other compressors are recognised and refused with
 * a clear message. Errors name `label`.
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

const EMPTY = new Uint8Array(0);

/** Sequential reads over a chunk stream: exact reads, skips and pass-throughs, tracking the offset. */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  private eof = false;
  private scratch: Uint8Array = EMPTY;
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

  /**
   * The next `n` bytes (fewer only at end of stream), valid until the next read: a view of
   * the chunk they arrived in when they lie in one (no copy: a kernel package's 400 MB of
   * modules are parsed and mostly dropped), else copied into a scratch buffer.
   */
  async readTransient(n: number): Promise<Uint8Array> {
    if ((await this.more()) && this.chunk.length - this.pos >= n) {
      const view = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.offset += n;
      return view;
    }
    if (this.scratch.length < n) this.scratch = new Uint8Array(Math.max(n, this.scratch.length * 2));
    const b = this.scratch.subarray(0, n);
    return b.subarray(0, await this.read(b));
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
