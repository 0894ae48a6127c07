// A BlockDevice on the Origin Private File System: a sync access handle (dedicated workers
// only) reads and writes in place at any offset, so a multi-GiB image is written block by
// block and never held in memory. The handle is truncated to the planned size first;
// ranges never written read as zeros (the writer relies on that, as on a sparse file).
import type { BlockDevice } from '../src/io/block-device.js';
import { CakeError, DoesNotFitError } from '../src/util/errors.js';

/** What the device uses of a FileSystemSyncAccessHandle (a fake in Node tests). */
export interface SyncHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

function check(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > size) {
    throw new CakeError('ERANGE', 'write', `block device access [${offset}, +${length}) outside device of ${size} bytes`);
  }
}

export class OpfsBlockDevice implements BlockDevice {
  /** Byte ranges ever written, [start, end) pairs (merged when adjacent, as the writer mostly goes forward). */
  private readonly written: [number, number][] = [];

  constructor(private readonly handle: SyncHandle, readonly size: number) {
    handle.truncate(0);
    handle.truncate(size);
  }

  /**
   * A fresh file `name` in `dir` (OPFS) of `size` bytes. The storage estimate is checked
   * first, so an image that cannot fit fails as "does not fit", not as a failed write.
   */
  static async create(dir: FileSystemDirectoryHandle, name: string, size: number, storage?: StorageManager): Promise<OpfsBlockDevice> {
    const est = await storage?.estimate();
    if (est?.quota !== undefined && est.usage !== undefined && est.quota - est.usage < size) {
      throw new DoesNotFitError('the image in this browser\'s storage (its quota for this page)', size, est.quota - est.usage);
    }
    const file = await dir.getFileHandle(name, { create: true });
    const handle = await (file as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle();
    return new OpfsBlockDevice(handle, size);
  }

  async readAt(offset: number, length: number): Promise<Uint8Array> {
    return this.readSync(offset, length);
  }

  readSync(offset: number, length: number): Uint8Array {
    check(this.size, offset, length);
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = this.handle.read(buf.subarray(done), { at: offset + done });
      if (n <= 0) break; // past what was ever written: zeros
      done += n;
    }
    return buf;
  }

  async writeAt(offset: number, data: Uint8Array): Promise<void> {
    check(this.size, offset, data.length);
    const last = this.written[this.written.length - 1];
    if (last && offset >= last[0] && offset <= last[1]) last[1] = Math.max(last[1], offset + data.length);
    else if (data.length) this.written.push([offset, offset + data.length]);
    let done = 0;
    while (done < data.length) {
      const n = this.handle.write(data.subarray(done), { at: offset + done });
      if (n <= 0) throw new CakeError('EIO', 'write', `the browser's storage took no bytes at offset ${offset + done} (full?)`);
      done += n;
    }
  }

  /** The byte ranges ever written, [start, end), ascending. */
  writtenRanges(): [number, number][] {
    return [...this.written].sort((a, b) => a[0] - b[0]).map(([a, b]) => [a, b]);
  }

  async flush(): Promise<void> {
    this.handle.flush();
  }

  close(): void {
    this.handle.flush();
    this.handle.close();
  }
}

/** How much a reader of the image takes at a time. */
export const PIECE = 8 << 20;

/**
 * [from, size) of an image as pieces of at most `chunk` bytes, in order: `zero` where no
 * written range reaches (a 1 GiB disk is mostly holes; reading them back from OPFS was most
 * of the time of hashing it), else a range to read. `written` is ascending.
 */
export function* imagePieces(written: [number, number][], size: number, from = 0, chunk = PIECE): Generator<{ at: number; length: number; zero: boolean }> {
  let r = 0;
  for (let at = from; at < size; ) {
    while (r < written.length && written[r]![1] <= at) r++;
    const run = written[r];
    const zero = !run || run[0] > at;
    const end = Math.min(size, at + chunk, zero && run ? run[0] : size);
    yield { at, length: end - at, zero };
    at = end;
  }
}
