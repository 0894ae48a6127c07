// Page-cache warming for a cold source tree. A worker thread opens and reads the files
// the writer will need, a bounded distance ahead of it, and throws the bytes away; the
// main thread's own synchronous reads then hit the cache. The main thread pays nothing
// per file (async reads cost several callbacks each, which measured slower than plain
// sync reads on a warm cache), and the disk latency of a cold tree overlaps with encoding.
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { paths, cum, shared, windowBytes } = workerData;
const ctl = new Int32Array(shared); // [0]: files the consumer has finished, [1]: stop
const buf = Buffer.allocUnsafe(1 << 20);
for (let i = 0; i < paths.length; i++) {
  for (;;) {
    if (Atomics.load(ctl, 1)) return;
    const done = Atomics.load(ctl, 0);
    if (cum[i] - cum[done] <= windowBytes) break;
    Atomics.wait(ctl, 0, done, 200);
  }
  try {
    const fd = fs.openSync(Buffer.from(paths[i]), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try { while (fs.readSync(fd, buf, 0, buf.length, null) > 0); } finally { fs.closeSync(fd); }
  } catch {}
}
`;

export interface ReadAhead {
  /** The consumer finished file `index` of the list. */
  done(index: number): void;
  stop(): void;
}

/** Starts warming, or returns null when it would not pay (one core, few bytes). */
export function startReadAhead(paths: Uint8Array[], sizes: number[], windowBytes = 64 << 20): ReadAhead | null {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (os.availableParallelism() < 2 || paths.length < 256 || total < 16 << 20) return null;
  const cum = new Float64Array(sizes.length + 1);
  for (let i = 0; i < sizes.length; i++) cum[i + 1] = cum[i]! + sizes[i]!;
  const shared = new SharedArrayBuffer(8);
  const ctl = new Int32Array(shared);
  const worker = new Worker(WORKER, { eval: true, workerData: { paths, cum, shared, windowBytes } });
  worker.unref(); // never keeps the process alive
  worker.on('error', () => {}); // warming is best effort
  return {
    done(index) {
      Atomics.store(ctl, 0, index + 1);
      Atomics.notify(ctl, 0);
    },
    stop() {
      Atomics.store(ctl, 1, 1);
      Atomics.notify(ctl, 0);
      void worker.terminate();
    },
  };
}
