// gzip inflated chunk by chunk with pako's zlib port: every member of a multi-member
// stream, output in bounded pieces. No node: imports, so it runs in a browser too.
import * as zlibInflate from 'pako/lib/zlib/inflate.js';
import ZStreamCtor, { type ZStream } from 'pako/lib/zlib/zstream.js';
import { CorruptInputError } from '../util/errors.js';

/** Inflated output comes in chunks of this size; the inflater stops when one is full, so memory stays bounded. */
const INFLATE_CHUNK = 256 * 1024;

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

/** The inflated bytes of a gzip stream whose first chunk is `first`; errors name `label`. */
export async function* gunzip(first: Uint8Array, rest: AsyncIterator<Uint8Array> | null, label: string): AsyncGenerator<Uint8Array> {
  const members = new GzipMembers(label);
  yield* members.feed(first);
  if (rest) {
    for (;;) {
      const r = await rest.next();
      if (r.done) break;
      yield* members.feed(r.value);
    }
  }
  members.end();
}

/**
 * gzip members one after another (zero bytes between them are skipped), each inflated by
 * its own fresh zlib stream. Errors give the compressed byte offset.
 */
class GzipMembers {
  /** The member being inflated; null between members. */
  private strm: ZStream | null = null;
  private sawMember = false;
  /** Compressed bytes before the current input chunk. */
  private consumedBefore = 0;
  private chunkStart = 0;

  constructor(private readonly label: string) {}

  private fail(what: string): never {
    const at = this.consumedBefore + (this.strm ? this.strm.next_in : this.chunkStart);
    throw new CorruptInputError(this.label, `corrupt gzip data near compressed byte ${at}: ${what}`);
  }

  /** The output of one chunk of compressed input. */
  *feed(input: Uint8Array): Generator<Uint8Array> {
    let pos = 0;
    while (pos < input.length) {
      if (this.strm === null) {
        // Between members: zero padding, or the magic of another member.
        this.chunkStart = pos;
        if (input[pos] === 0) {
          pos++;
          continue;
        }
        if (input[pos] !== 0x1f) this.fail(this.sawMember ? 'trailing garbage after the gzip data' : 'not gzip data');
        this.strm = newStream();
        this.sawMember = true;
      }
      pos = yield* this.inflate(this.strm, input, pos);
    }
    this.consumedBefore += input.length;
  }

  /** Inflates `input` from `pos` until it is used up or the member ends; returns the position reached. */
  private *inflate(strm: ZStream, input: Uint8Array, pos: number): Generator<Uint8Array, number> {
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
      if (status !== Z_OK && status !== Z_STREAM_END && status !== Z_BUF_ERROR) this.fail(strm.msg || `zlib status ${status}`);
      const full = strm.avail_out === 0;
      if (strm.next_out > 0 && (full || status === Z_STREAM_END)) {
        const out = strm.output!.subarray(0, strm.next_out);
        strm.avail_out = 0; // a fresh buffer next time: the consumer may still hold this one
        yield out;
      }
      if (status === Z_STREAM_END) {
        const end = strm.next_in;
        zlibInflate.inflateEnd(strm);
        this.strm = null;
        return end;
      }
      if (strm.avail_in === 0) return input.length;
      if (!full && status === Z_BUF_ERROR) this.fail('inflate made no progress');
    }
  }

  /** After the last chunk: a member still open means the stream was cut short. */
  end(): void {
    // consumedBefore now counts every byte: the position is the end, not "next_in" on top of it.
    if (this.strm !== null) throw new CorruptInputError(this.label, `truncated gzip data: the stream ends after ${this.consumedBefore} compressed bytes, inside a member`);
  }
}
