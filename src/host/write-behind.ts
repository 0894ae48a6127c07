// Positional writes into a host file, coalesced and written behind: contiguous writes are
// gathered into buffers of a few MiB, and each full buffer is written on libuv's thread
// pool while the caller goes on reading and encoding the next one. A converter that wrote
// each 64 KiB cluster with a blocking pwrite spent most of its time waiting in the kernel
// (qemu-img writes 2 MiB requests from several threads); this overlaps the two and makes
// a twentieth of the syscalls. Memory is bounded: at most DEPTH buffers exist. Writes may
// come in any order (a converter's are ascending, its tables jump back).
import * as fs from 'node:fs';
import { faultPoint } from './fault.js';

const SIZE = 4 << 20;
const DEPTH = 4;

function pwriteAsync(fd: number, b: Uint8Array, at: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number) => {
      if (done >= b.length) return resolve();
      fs.write(fd, b, done, b.length - done, at + done, (err, n) => (err ? reject(err) : step(done + n)));
    };
    step(0);
  });
}

export class WriteBehind {
  private buf: Buffer;
  /** File offset of buf[0], and how much of buf is filled. */
  private start = 0;
  private used = 0;
  private readonly free: Buffer[] = [];
  /** Writes running, with the file range each covers. */
  private readonly inFlight = new Map<Promise<void>, [number, number]>();
  private failed: unknown = null;
  private made = 1;

  constructor(private readonly fd: number) {
    this.buf = Buffer.allocUnsafe(SIZE);
  }

  /** Copies `data` (the caller may reuse it at once); resolves when there is room for more. */
  async writeAt(offset: number, data: Uint8Array): Promise<void> {
    if (this.failed) throw this.failed;
    let from = 0;
    while (from < data.length) {
      if (this.used > 0 && offset + from !== this.start + this.used) await this.send();
      if (this.used === 0) this.start = offset + from;
      const n = Math.min(SIZE - this.used, data.length - from);
      this.buf.set(data.subarray(from, from + n), this.used);
      this.used += n;
      from += n;
      if (this.used === SIZE) await this.send();
    }
  }

  /** Everything written (or the first error thrown). */
  async flush(): Promise<void> {
    if (this.used > 0) await this.send();
    await Promise.all(this.inFlight.keys());
    if (this.failed) throw this.failed;
  }

  /** Waits for the writes in flight, never throws (for a `finally` before closing the file). */
  async settled(): Promise<void> {
    await Promise.all(this.inFlight.keys());
  }

  private async send(): Promise<void> {
    const buf = this.buf;
    const range: [number, number] = [this.start, this.start + this.used];
    // Two pwrites running at once land in either order: one that overlaps a write still
    // running waits for it, so the file ends as the writes were asked for.
    const overlapping = [...this.inFlight].filter(([, [a, b]]) => a < range[1] && range[0] < b).map(([p]) => p);
    if (overlapping.length) await Promise.all(overlapping);
    // Never rejects: a failure is kept in `failed` and thrown by the next call.
    const tracked: Promise<void> = pwriteAsync(this.fd, buf.subarray(0, this.used), this.start).then(
      () => {
        faultPoint('write');
        this.free.push(buf);
      },
      (e: unknown) => {
        this.failed ??= e;
      },
    ).finally(() => this.inFlight.delete(tracked));
    this.inFlight.set(tracked, range);
    this.used = 0;
    while (!this.free.length && this.made >= DEPTH && this.inFlight.size) await Promise.race(this.inFlight.keys());
    if (this.failed) throw this.failed;
    if (this.free.length) this.buf = this.free.pop()!;
    else {
      this.buf = Buffer.allocUnsafe(SIZE);
      this.made++;
    }
  }
}
