// Streaming gzip with pako: a faithful port of zlib, so the same input and level give
// the same bytes on every host (Node's bundled zlib chooses its match-finding hash by
// CPU, so its output can differ between machines). Header: no name, mtime 0, OS "Unix".
import pako from 'pako';
import type { ChunkSink } from '../../io/content-source.js';
import { InvalidOptionError } from '../../util/errors.js';

const STAGE = 256 * 1024;

export interface GzipSink {
  sink: ChunkSink;
  /** Flushes the deflate stream and the gzip trailer. */
  finish(): Promise<void>;
}

export function gzipSink(out: ChunkSink, level = 9): GzipSink {
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new InvalidOptionError('--gzip-level', `must be 1..9, not ${level}`);
  const deflate = new pako.Deflate({ level: level as pako.DeflateOptions['level'], gzip: true, header: { os: 3, time: 0 } as pako.Header });
  const pending: Uint8Array[] = [];
  deflate.onData = (chunk: Uint8Array) => {
    pending.push(chunk);
  };
  // Small records (110-byte headers) are staged so deflate sees large pushes.
  const stage = new Uint8Array(STAGE);
  let staged = 0;
  const drain = async () => {
    while (pending.length) await out(pending.shift()!);
  };
  const pushStage = async (final: boolean) => {
    deflate.push(stage.subarray(0, staged), final);
    staged = 0;
    if (deflate.err) throw new Error(`gzip: ${deflate.msg}`);
    await drain();
  };
  return {
    async sink(chunk) {
      let c = 0;
      while (c < chunk.length) {
        const n = Math.min(STAGE - staged, chunk.length - c);
        stage.set(chunk.subarray(c, c + n), staged);
        staged += n;
        c += n;
        if (staged === STAGE) await pushStage(false);
      }
    },
    async finish() {
      await pushStage(true);
    },
  };
}
