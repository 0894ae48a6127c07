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

/**
 * How much is read at a time. Large, because the writers write a run of consecutive
 * non-zero units with one call: per call, the kernel's page-cache work dominates below a
 * few MiB (1.56 GiB of 64 KiB pwrites cost about twice what 4 MiB ones do).
 */
const BATCH = 4 << 20;

/**
 * The runs of consecutive units (clusters, grains) of `unit` bytes that the ranges touch
 * and that hold a non-zero byte, ascending, each unit once: `unit` is the first, `data`
 * the bytes of all of them (a multiple of `unit`; a short last unit zero-padded). Units
 * are read up to BATCH at a time into one buffer: `data` is a view valid until the next
 * run is asked for (copy it to keep it).
 */
export async function* nonZeroRuns(
  src: ImageSource,
  ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>,
  unit: number,
): AsyncGenerator<{ unit: number; data: Uint8Array }> {
  const perBatch = Math.max(1, Math.floor(BATCH / unit));
  // Two buffers: the next batch is being read (a source that reads on another thread
  // overlaps it with the caller's writes) while the runs of this one are handed out.
  const buffers = [new Uint8Array(perBatch * unit), new Uint8Array(perBatch * unit)];
  let turn = 0;
  const todo = batches(src.size, ranges, unit, perBatch);
  const startRead = async () => {
    const next = await todo.next();
    if (next.done) return null;
    const { first, count } = next.value;
    const bytes = Math.min(count * unit, src.size - first * unit);
    const buf = buffers[turn++ & 1]!.subarray(0, count * unit);
    const read = src.readAt(first * unit, bytes, buf).then(() => buf.fill(0, bytes));
    read.catch(() => {}); // awaited below; not an unhandled rejection while the caller writes
    return { first, count, buf, read };
  };
  for (let batch = await startRead(); batch; ) {
    await batch.read;
    const following = await startRead();
    const { first, count, buf } = batch;
    let from = -1;
    for (let k = 0; k <= count; k++) {
      const nonZero = k < count && !isZero(buf.subarray(k * unit, (k + 1) * unit));
      if (nonZero && from < 0) from = k;
      if (!nonZero && from >= 0) {
        yield { unit: first + from, data: buf.subarray(from * unit, k * unit) };
        from = -1;
      }
    }
    batch = following;
  }
}

/** The batches (first unit, count) of at most `perBatch` units that the ranges touch, each unit once. */
async function* batches(size: number, ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>, unit: number, perBatch: number): AsyncGenerator<{ first: number; count: number }> {
  const last = Math.ceil(size / unit);
  let next = 0;
  for await (const r of ranges) {
    let u = Math.max(next, Math.floor(r.start / unit));
    const to = Math.min(last, Math.ceil(Math.min(r.end, size) / unit));
    for (; u < to; u += perBatch) yield { first: u, count: Math.min(perBatch, to - u) };
    next = Math.max(next, to);
  }
}

/** nonZeroRuns one unit at a time (for writers that treat each unit on its own). */
export async function* nonZeroUnits(
  src: ImageSource,
  ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>,
  unit: number,
): AsyncGenerator<{ unit: number; data: Uint8Array }> {
  for await (const run of nonZeroRuns(src, ranges, unit)) {
    for (let k = 0; k * unit < run.data.length; k++) yield { unit: run.unit + k, data: run.data.subarray(k * unit, (k + 1) * unit) };
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
