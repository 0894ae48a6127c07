// Moving a decoded image's data onto a device, and finding where it really has data: what
// `convert` does between a reader and a writer. Reads go in 1 MiB pieces over the ranges
// the reader says may hold data; all-zero pieces are never written (the device reads as
// zeros already).
import type { BlockDevice } from '../../io/block-device.js';
import type { ByteRange } from '../../io/byte-ranges.js';
import { isZero } from '../../util/is-zero.js';
import type { ImageSource } from './source.js';

const PIECE = 1 << 20;

/** Copies the non-zero data of `ranges` of `src` to the same offsets of `dev`. */
export async function copyImageData(src: ImageSource, ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>, dev: BlockDevice, onBytes?: (n: number) => void): Promise<void> {
  for await (const r of ranges) {
    for (let at = r.start; at < r.end; ) {
      // Pieces aligned to 1 MiB, so a device's clusters are written whole.
      const n = Math.min(r.end, (Math.floor(at / PIECE) + 1) * PIECE) - at;
      const data = await src.readAt(at, n);
      if (!isZero(data)) await dev.writeAt(at, data);
      onBytes?.(n);
      at += n;
    }
  }
}

/** The units of `unit` bytes (clusters) within `ranges` that hold a non-zero byte, as merged ranges. */
export async function nonZeroUnits(src: ImageSource, ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>, unit: number): Promise<ByteRange[]> {
  const out: ByteRange[] = [];
  let done = 0; // units below this were looked at
  for await (const r of ranges) {
    const from = Math.max(done, Math.floor(r.start / unit) * unit);
    const to = Math.min(src.size, Math.ceil(r.end / unit) * unit);
    for (let at = from; at < to; ) {
      const n = Math.min(to - at, Math.max(unit, Math.floor(PIECE / unit) * unit));
      const data = await src.readAt(at, n);
      for (let u = 0; u < n; u += unit) {
        if (isZero(data.subarray(u, u + unit))) continue;
        const last = out[out.length - 1];
        const start = at + u;
        const end = Math.min(src.size, start + unit);
        if (last && last.end === start) last.end = end;
        else out.push({ start, end });
      }
      at += n;
    }
    done = Math.max(done, to);
  }
  return out;
}
