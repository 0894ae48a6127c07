// Compressing units (grains, clusters) on a DeflateEngine, several in flight, handed to
// the writer in the order they were given: the bytes never depend on how many threads
// deflated them.
import type { DeflateEngine } from '../cpio/gzip.js';

export interface Compressed {
  unit: number;
  /** The uncompressed bytes. */
  data: Uint8Array;
  /** Raw deflate of `data`, complete (final block). */
  deflated: Uint8Array;
}

export interface CompressQueue {
  push(unit: number, data: Uint8Array): Promise<void>;
  /** Waits for everything pushed to be handed over. */
  drain(): Promise<void>;
}

export function compressQueue(engine: DeflateEngine, level: number, windowBits: number, take: (c: Compressed) => Promise<void>): CompressQueue {
  const queue: { unit: number; data: Uint8Array; out: Promise<Uint8Array> | Uint8Array }[] = [];
  const takeOldest = async () => {
    const q = queue.shift()!;
    await take({ unit: q.unit, data: q.data, deflated: await q.out });
  };
  return {
    async push(unit, view) {
      // Its own copy: the caller's buffer moves on, and a view sent to a worker would take its whole buffer along.
      const data = view.slice();
      queue.push({ unit, data, out: engine.deflate(data, null, true, level, windowBits) });
      while (queue.length > engine.parallelism) await takeOldest();
    },
    async drain() {
      while (queue.length) await takeOldest();
    },
  };
}
