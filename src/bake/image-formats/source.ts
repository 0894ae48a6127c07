// What the image readers give and the streamed writers take: a guest disk that can be
// read anywhere, with the ranges that may hold data (everything else reads as zeros).
import type { ByteRange } from '../../io/byte-ranges.js';
import type { ImageFormat } from './format.js';
import { isZero } from '../../util/is-zero.js';

/** A disk to read: a host file, or a decoded image. */
export interface ImageSource {
  /** Virtual size in bytes. */
  readonly size: number;
  /**
   * The bytes [offset, +length). With `into` (at least `length` long) they are read into
   * it and the result is a view of it: a caller that reads in a loop reuses one buffer
   * (fresh megabytes per read cost more than the reads).
   */
  readAt(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
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

const BATCH = 1 << 20;

/**
 * The units (clusters, grains) of `unit` bytes that the ranges touch and that hold a
 * non-zero byte, ascending, each once, with its bytes (a short last unit zero-padded).
 * Consecutive units are read together, up to 1 MiB at a time, into one buffer: `data` is
 * a view valid until the next unit is asked for (copy it to keep it).
 */
export async function* nonZeroUnits(
  src: ImageSource,
  ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>,
  unit: number,
): AsyncGenerator<{ unit: number; data: Uint8Array }> {
  const last = Math.ceil(src.size / unit);
  const perBatch = Math.max(1, Math.floor(BATCH / unit));
  let next = 0;
  const batch = new Uint8Array(perBatch * unit);
  for await (const r of ranges) {
    let u = Math.max(next, Math.floor(r.start / unit));
    const to = Math.min(last, Math.ceil(Math.min(r.end, src.size) / unit));
    while (u < to) {
      const count = Math.min(perBatch, to - u);
      const bytes = Math.min(count * unit, src.size - u * unit);
      const buf = batch.subarray(0, count * unit);
      await src.readAt(u * unit, bytes, buf);
      buf.fill(0, bytes);
      for (let k = 0; k < count; k++) {
        const data = buf.subarray(k * unit, (k + 1) * unit);
        if (!isZero(data)) yield { unit: u + k, data };
      }
      u += count;
    }
    next = Math.max(next, to);
  }
}

/**
 * Reads [offset, +length) of a disk stored in units (clusters, grains, blocks): `piece`
 * gets each unit's number, the offset within it and where its bytes go (zeros already:
 * an unallocated unit leaves them).
 */
export async function readByUnits(
  offset: number,
  length: number,
  into: Uint8Array | undefined,
  unit: number,
  piece: (u: number, within: number, dest: Uint8Array) => Promise<void>,
): Promise<Uint8Array> {
  const out = into ? into.subarray(0, length).fill(0) : new Uint8Array(length);
  for (let done = 0; done < length; ) {
    const pos = offset + done;
    const within = pos % unit;
    const n = Math.min(unit - within, length - done);
    await piece(Math.floor(pos / unit), within, out.subarray(done, done + n));
    done += n;
  }
  return out;
}

/** Allocated units (ascending numbers) as byte ranges, consecutive units merged, cut at `size`. */
export async function* unitRuns(units: AsyncIterable<number>, unit: number, size: number): AsyncGenerator<ByteRange> {
  let run: ByteRange | null = null;
  for await (const u of units) {
    const start = u * unit;
    const end = Math.min(size, start + unit);
    if (run && run.end === start) run.end = end;
    else {
      if (run) yield run;
      run = { start, end };
    }
  }
  if (run) yield run;
}

/** Where a writer that lays out its own file writes (a host file; it grows as needed). */
export interface FileWriter {
  writeAt(offset: number, data: Uint8Array): Promise<void>;
}
