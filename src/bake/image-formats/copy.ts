// Moving a decoded image's data onto a device: what `convert` does between a reader and
// a raw or VHD writer. Reads go in 4 MiB pieces over the ranges
// the reader says may hold data; all-zero pieces are never written (the device reads as
// zeros already).
import type { BlockDevice } from '../../io/block-device.js';
import type { ByteRange } from '../../io/byte-ranges.js';
import { isZero } from '../../util/is-zero.js';
import type { ImageSource } from './source.js';

const PIECE = 4 << 20;

/** Copies the non-zero data of `ranges` of `src` to the same offsets of `dev`. */
export async function copyImageData(src: ImageSource, ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>, dev: BlockDevice, onBytes?: (n: number) => void): Promise<void> {
  const buf = new Uint8Array(PIECE);
  for await (const r of ranges) {
    for (let at = r.start; at < r.end; ) {
      // Pieces aligned to 4 MiB, so a device's clusters are written whole.
      const n = Math.min(r.end, (Math.floor(at / PIECE) + 1) * PIECE) - at;
      const data = await src.readAt(at, n, buf);
      if (!isZero(data)) await dev.writeAt(at, data);
      onBytes?.(n);
      at += n;
    }
  }
}
