// Deterministic gzip that can use every core. The input is cut into fixed 1 MiB blocks;
// each is deflated raw (pako, a faithful zlib port) with the previous block's last 32 KiB
// as its dictionary and ends with a sync flush, the last with a final block (pigz's
// scheme). The bytes depend only on the input and the level, never on how many threads
// compressed it, and never on the host (Node's bundled zlib picks its hash by CPU).
import pako from 'pako';
import type { ChunkSink } from '../../io/content-source.js';
import { crc32 } from '../../struct/crc32.js';
import { InvalidOptionError } from '../../util/errors.js';

export const GZIP_BLOCK = 1 << 20;
const DICT = 32 * 1024;

/** Compresses one block; an engine may run it elsewhere (a worker pool on Node). */
export interface DeflateEngine {
  /** `windowBits` (8..15, default 15) bounds the distances the stream uses (qcow2's reader takes 12). */
  deflate(data: Uint8Array, dict: Uint8Array | null, last: boolean, level: number, windowBits?: number): Promise<Uint8Array> | Uint8Array;
  /** Blocks it can have in flight before the sink waits for the oldest. */
  readonly parallelism: number;
  close?(): void;
}

/**
 * One block, raw deflate, ending byte-aligned (sync flush: 2) or final (finish: 4).
 * Self-contained (pako comes in as an argument) because worker threads run its source.
 */
export function deflateBlockWith(z: typeof pako, data: Uint8Array, dict: Uint8Array | null, last: boolean, level: number, windowBits = 15): Uint8Array {
  const d = new z.Deflate({ level: level as pako.DeflateOptions['level'], raw: true, windowBits, ...(dict ? { dictionary: dict } : {}) });
  const parts: Uint8Array[] = [];
  d.onData = (c: Uint8Array) => void parts.push(c);
  d.push(data, last ? 4 : 2);
  if (d.err) throw new Error(`deflate: ${d.msg}`);
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
}

export function deflateBlock(data: Uint8Array, dict: Uint8Array | null, last: boolean, level: number, windowBits = 15): Uint8Array {
  return deflateBlockWith(pako, data, dict, last, level, windowBits);
}

/** Compresses on the calling thread (browsers, small inputs). */
export const inlineDeflate: DeflateEngine = { deflate: deflateBlock, parallelism: 1 };

export interface GzipSink {
  sink: ChunkSink;
  /** Compresses what is left and writes the gzip trailer. */
  finish(): Promise<void>;
}

// Header: magic, deflate, no flags, mtime 0, no extra flags, OS 3 (Unix).
const HEADER = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);

export function gzipSink(out: ChunkSink, level = 9, engine: DeflateEngine = inlineDeflate): GzipSink {
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new InvalidOptionError('--gzip-level', `must be 1..9, not ${level}`);
  let block = new Uint8Array(GZIP_BLOCK);
  let used = 0;
  let dict: Uint8Array | null = null;
  let crc = 0;
  let size = 0;
  let started = false;
  const inFlight: (Promise<Uint8Array> | Uint8Array)[] = [];

  const emitOldest = async () => {
    const next = await inFlight.shift()!;
    if (next.length) await out(next);
  };
  const submit = async (data: Uint8Array, last: boolean) => {
    if (!started) {
      started = true;
      await out(HEADER);
    }
    crc = crc32(crc, data);
    size += data.length;
    inFlight.push(engine.deflate(data, dict, last, level));
    dict = data.length >= DICT ? data.slice(data.length - DICT) : null;
    while (inFlight.length > engine.parallelism) await emitOldest();
  };

  return {
    async sink(chunk) {
      let c = 0;
      while (c < chunk.length) {
        const n = Math.min(GZIP_BLOCK - used, chunk.length - c);
        block.set(chunk.subarray(c, c + n), used);
        used += n;
        c += n;
        if (used === GZIP_BLOCK) {
          const full = block;
          block = new Uint8Array(GZIP_BLOCK); // the engine may hold `full` until it is done
          used = 0;
          await submit(full, false);
        }
      }
    },
    async finish() {
      await submit(block.subarray(0, used), true);
      while (inFlight.length) await emitOldest();
      const trailer = new Uint8Array(8);
      const dv = new DataView(trailer.buffer);
      dv.setUint32(0, crc, true);
      dv.setUint32(4, size >>> 0, true);
      await out(trailer);
      engine.close?.();
    },
  };
}
