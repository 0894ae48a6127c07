// What the image readers give and the streamed writers take: a guest disk that can be
// read anywhere, with the ranges that may hold data (everything else reads as zeros).
import type { ByteRange } from '../../io/byte-ranges.js';
import type { ImageFormat } from './format.js';

/** A disk to read: a host file, or a decoded image. */
export interface ImageSource {
  /** Virtual size in bytes. */
  readonly size: number;
  readAt(offset: number, length: number): Promise<Uint8Array>;
}

/** A decoded image: its format, and where its data may be (ascending, not overlapping; a superset). */
export interface ImageReader extends ImageSource {
  readonly format: ImageFormat;
  extents(): AsyncIterable<ByteRange>;
}

/** Ranges as an async iterable (the writers take either). */
export async function* rangesOf(ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>): AsyncGenerator<ByteRange> {
  for await (const r of ranges) yield r;
}

/**
 * The units (clusters, grains) of `unit` bytes that the ranges touch, ascending, each
 * once even when ranges share one, clipped to `size`.
 */
export async function* unitsOf(ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>, unit: number, size: number): AsyncGenerator<number> {
  let next = 0;
  const last = Math.ceil(size / unit);
  for await (const r of ranges) {
    const from = Math.max(next, Math.floor(r.start / unit));
    const to = Math.min(last, Math.ceil(Math.min(r.end, size) / unit));
    for (let u = from; u < to; u++) yield u;
    next = Math.max(next, to);
  }
}

/** Where a writer that lays out its own file writes (a host file; it grows as needed). */
export interface FileWriter {
  writeAt(offset: number, data: Uint8Array): Promise<void>;
}
