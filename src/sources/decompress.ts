// Streaming input for archive readers: sniffs the compression by magic bytes and inflates
// gzip with pako, chunk by chunk, so neither the archive nor a member is ever held whole.
// No node: imports, so it runs in a browser too.
import { Inflate } from 'pako';
import { CorruptInputError } from '../util/errors.js';

/** Compressed input is fed to the inflater in slices this big, which bounds its output per push (deflate expands at most ~1032x). */
const INFLATE_SLICE = 8 * 1024;
const INFLATE_CHUNK = 256 * 1024;

const OTHER_FORMATS: [string, number[]][] = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
];

function startsWith(buf: Uint8Array, magic: number[]): boolean {
  if (buf.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (buf[i] !== magic[i]) return false;
  return true;
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
    if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) {
      yield* gunzip(first, ended ? null : it, label);
      return;
    }
    for (const [name, magic] of OTHER_FORMATS) {
      if (startsWith(first, magic)) {
        throw new CorruptInputError(label, `${name}-compressed archives are not supported; decompress it first or use gzip`);
      }
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

interface PakoStream {
  avail_in: number;
  msg: string;
}

async function* gunzip(first: Uint8Array, rest: AsyncIterator<Uint8Array> | null, label: string): AsyncGenerator<Uint8Array> {
  let out: Uint8Array[] = [];
  let inflater: Inflate | null = null;
  let memberDone = false;
  // After a member ends: only zero padding or another gzip member may follow.
  let afterEnd: 'member' | 'zeros' = 'member';
  let compressedOffset = 0;

  const fail = (what: string): never => {
    throw new CorruptInputError(label, `corrupt gzip data near compressed byte ${compressedOffset}: ${what}`);
  };
  const newInflater = (): Inflate => {
    const inf = new Inflate({ chunkSize: INFLATE_CHUNK });
    inf.onData = (chunk) => out.push(chunk as Uint8Array);
    inf.onEnd = (status) => {
      if (status === 0) memberDone = true;
    };
    return inf;
  };

  // Feeds one slice; when a member ends mid-slice, the rest must be another member or zero padding.
  const feed = (slice: Uint8Array): void => {
    let s = slice;
    while (s.length) {
      if (inflater === null) {
        if (afterEnd === 'zeros' || s[0] === 0) {
          afterEnd = 'zeros';
          for (let i = 0; i < s.length; i++) if (s[i] !== 0) fail('trailing garbage after the gzip data');
          return;
        }
        if (s[0] !== 0x1f) fail('trailing garbage after the gzip data');
        inflater = newInflater();
        memberDone = false;
      }
      const ok = inflater.push(s, false);
      if (!ok) fail((inflater as unknown as { strm: PakoStream }).strm.msg || 'inflate failed');
      if (!memberDone) return;
      // The member (and any members pako chained within this slice) ended; the rest, if any, is unconsumed.
      const strm = (inflater as unknown as { strm: PakoStream }).strm;
      const left = strm.avail_in;
      inflater = null;
      s = s.subarray(s.length - left);
    }
  };

  const process = function* (chunk: Uint8Array): Generator<Uint8Array> {
    for (let i = 0; i < chunk.length; i += INFLATE_SLICE) {
      const slice = chunk.subarray(i, Math.min(chunk.length, i + INFLATE_SLICE));
      feed(slice);
      compressedOffset += slice.length;
      if (out.length) {
        const ready = out;
        out = [];
        yield* ready;
      }
    }
  };

  yield* process(first);
  if (rest) {
    for (;;) {
      const r = await rest.next();
      if (r.done) break;
      yield* process(r.value);
    }
  }
  if (inflater !== null) fail('unexpected end of file (truncated gzip data)');
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
