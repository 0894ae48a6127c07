// A qcow2 image as a BlockDevice: the guest's bytes are mapped into a file (itself a
// BlockDevice) laid out up front by planQcow2. The metadata is written first, then each
// guest write goes to its data cluster; since data clusters are in guest order, the
// writer's ascending writes make one ascending pass over the file. A guest write of
// non-zero bytes outside the planned clusters is a bug of the planned ranges (thrown);
// zeros there are dropped (they read as zeros anyway).
import type { BlockDevice, BulkCopy, CopyJob } from '../../../io/block-device.js';
import type { ContentSource } from '../../../tree/content.js';
import { isZero, withoutZeroTail } from '../../../util/is-zero.js';
import { findRange } from '../../../io/byte-ranges.js';
import { type Qcow2Layout, qcow2Metadata } from './layout.js';

export class Qcow2Device implements BlockDevice {
  readonly size: number;
  copyFiles?: BlockDevice['copyFiles'];

  private constructor(private readonly file: BlockDevice, readonly layout: Qcow2Layout) {
    this.size = layout.virtualSize;
    if (file.copyFiles) this.copyFiles = (content, count, job, opts) => this.copyThrough(content, count, job, opts);
  }

  /**
   * Writes the metadata into `file` (at least layout.fileSize bytes, reading as zeros)
   * and returns the guest device. Metadata clusters are mostly zeros (a 104-byte header,
   * an 8-byte refcount table): only up to their last non-zero 4 KiB is written, so the
   * rest stays a hole.
   */
  static async create(file: BlockDevice, layout: Qcow2Layout): Promise<Qcow2Device> {
    if (file.size < layout.fileSize) throw new Error(`qcow2: the file device has ${file.size} bytes, the layout needs ${layout.fileSize}`);
    for (const { at, bytes } of qcow2Metadata(layout)) {
      const used = withoutZeroTail(bytes);
      if (used.length) await file.writeAt(at, used);
    }
    return new Qcow2Device(file, layout);
  }

  /** The run last found: the writer's accesses ascend, so the next is usually in it. */
  private hint = 0;

  /** The host offset of guest byte `pos` (null: not allocated) and how many bytes from there map contiguously. */
  private map(pos: number): { host: number | null; n: number } {
    const { clusterSize: cs, runs, dataOffset } = this.layout;
    const c = Math.floor(pos / cs);
    const i = this.runOf(c);
    if (i >= 0) {
      const r = runs[i]!;
      return { host: dataOffset + (r.rank + c - r.start) * cs + (pos % cs), n: r.end * cs - pos };
    }
    const next = runs[-i - 1];
    return { host: null, n: (next ? next.start * cs : this.size) - pos };
  }

  /** findRange over the runs for cluster `c`, trying the last run found first. */
  private runOf(c: number): number {
    const runs = this.layout.runs;
    const h = runs[this.hint];
    if (h && h.start <= c && c < h.end) return this.hint;
    const i = findRange(runs, c);
    if (i >= 0) this.hint = i;
    return i;
  }

  private check(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new Error(`qcow2 device access [${offset}, +${length}) outside a guest of ${this.size} bytes`);
    }
  }

  async readAt(offset: number, length: number): Promise<Uint8Array> {
    this.check(offset, length);
    const out = new Uint8Array(length);
    for (let done = 0; done < length; ) {
      const m = this.map(offset + done);
      const n = Math.min(m.n, length - done);
      if (m.host !== null) out.set(await this.file.readAt(m.host, n), done);
      done += n;
    }
    return out;
  }

  async writeAt(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length);
    for (let done = 0; done < data.length; ) {
      const m = this.map(offset + done);
      const n = Math.min(m.n, data.length - done);
      const part = data.subarray(done, done + n);
      if (m.host !== null) await this.file.writeAt(m.host, part);
      else if (!isZero(part)) throw unplanned(offset + done);
      done += n;
    }
  }

  flush(): Promise<void> {
    return this.file.flush();
  }

  /**
   * The file's own bulk copy, with every device offset mapped to the file. Called twice per
   * file by the host copier (sizing, then sharing), thousands of times a bake: plain loops,
   * no closure per segment.
   */
  private copyThrough(content: ContentSource, count: number, job: (i: number) => CopyJob, opts: { fillZeros: boolean; base?: number }): BulkCopy {
    const base = opts.base ?? 0;
    return this.file.copyFiles!(content, count, (i) => {
      const j = job(i);
      const copies: number[] = [];
      const c = j.copies;
      for (let k = 0; k < c.length; k += 3) {
        const from = c[k]!;
        const length = c[k + 1]!;
        const at = base + c[k + 2]!;
        for (let done = 0; done < length; ) {
          const m = this.map(at + done);
          if (m.host === null) throw unplanned(at + done);
          const n = Math.min(m.n, length - done);
          copies.push(from + done, n, m.host);
          done += n;
        }
      }
      const zeros: number[] = [];
      const z = j.zeros;
      for (let k = 0; k < z.length; k += 2) {
        const at = base + z[k]!;
        const length = z[k + 1]!;
        for (let done = 0; done < length; ) {
          const m = this.map(at + done);
          const n = Math.min(m.n, length - done);
          if (m.host !== null) zeros.push(m.host, n);
          done += n;
        }
      }
      return { ref: j.ref, size: j.size, copies, zeros };
    }, { fillZeros: opts.fillZeros, base: 0 });
  }
}

function unplanned(at: number): Error {
  return new Error(`qcow2: a non-zero write at guest byte ${at}, outside the ranges the plan gave (a bug of the written ranges)`);
}
