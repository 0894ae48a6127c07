// Coalesces a writer's ascending writes into large device writes (1 MiB), so a format
// writer can emit sector-sized pieces and file chunks without a device call for each.
// Larger windows saved no measurable time and cost their first touch: 8 MiB of fresh pages
// was some 25 ms on a host that hands freed memory back (bench/README.md).
import type { BlockDevice } from '../io/block-device.js';

const WINDOW = 1 << 20;
const ZEROS = new Uint8Array(64 << 10);
const YIELD_EVERY = 64 << 20;

export class Coalescer {
  private buf = new Uint8Array(WINDOW);
  private start = 0;
  private len = 0;
  private sinceYield = 0;
  constructor(private readonly dev: BlockDevice) {}

  async put(offset: number, data: Uint8Array): Promise<void> {
    if (this.len > 0 && offset === this.start + this.len && this.len + data.length <= WINDOW) {
      this.buf.set(data, this.len);
      this.len += data.length;
      return;
    }
    await this.flush();
    if (data.length >= WINDOW) {
      await this.dev.writeAt(offset, data);
      return;
    }
    this.start = offset;
    this.buf.set(data, 0);
    this.len = data.length;
  }

  /** `n` zero bytes at `offset`. */
  async zeros(offset: number, n: number): Promise<void> {
    for (let done = 0; done < n; done += ZEROS.length) await this.put(offset + done, ZEROS.subarray(0, Math.min(ZEROS.length, n - done)));
  }

  async flush(): Promise<void> {
    if (this.len === 0) return;
    await this.dev.writeAt(this.start, this.buf.subarray(0, this.len));
    // Reused: BlockDevice.writeAt does not keep the buffer once its promise settles.
    this.buf.fill(0, 0, this.len);
    this.sinceYield += this.len;
    this.len = 0;
    // A device that writes synchronously never lets the event loop run: give it a turn
    // now and then, so a signal (Ctrl-C) is handled while a big image is written, and a
    // browser page stays responsive.
    if (this.sinceYield >= YIELD_EVERY) {
      this.sinceYield = 0;
      await new Promise((r) => setTimeout(r, 0));
    }
  }
}
