// The only way the bake core touches storage. A partition is a window onto a disk
// (subDevice), so the ext4 writer never knows where it lives.
import type { ContentRef } from '../tree/node.js';
import type { ContentSource } from '../tree/content.js';
import { CakeError } from '../util/errors.js';

/** One file of a bulk copy: `copies` are [source offset, length, device offset] triples, `zeros` [device offset, length] pairs. */
export interface CopyJob {
  ref: ContentRef;
  size: number;
  copies: number[];
  zeros: number[];
}

/**
 * A bulk copy under way. The device copies the files it can (a host file device: those
 * that are host files) and the caller writes the rest itself: a bake's rootfs is host
 * files, its /boot is made in memory.
 */
export interface BulkCopy {
  /** Whether the device copies any file. */
  taken: boolean;
  /** Whether the device copies file `i` (an index given to copyFiles). */
  copies(i: number): boolean;
  finish(): Promise<void>;
}

/** The device copies nothing: the caller writes every file. */
export const NO_BULK_COPY: BulkCopy = { taken: false, copies: () => false, finish: async () => {} };

export interface BlockDevice {
  /** Size in bytes. */
  readonly size: number;
  readAt(offset: number, length: number): Promise<Uint8Array>;
  /** Writes `data` at `offset`. The caller may reuse `data` once the promise settles. */
  writeAt(offset: number, data: Uint8Array): Promise<void>;
  flush(): Promise<void>;
  /**
   * Optional: copies `count` files of `content` to the places `job(i)` gives, its own way
   * (a host file device reads host files straight into the image on several threads).
   * `base` is added to every device offset (a sub-device passes its window's start).
   */
  copyFiles?(content: ContentSource, count: number, job: (i: number) => CopyJob, opts: { fillZeros: boolean; base?: number }): BulkCopy;
}

function checkRange(dev: { size: number }, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > dev.size) {
    throw new CakeError('ERANGE', 'write', `block device access [${offset}, +${length}) outside device of ${dev.size} bytes`);
  }
}

/** A window [offset, offset+size) of another device. */
export function subDevice(dev: BlockDevice, offset: number, size: number): BlockDevice {
  checkRange(dev, offset, size);
  return {
    size,
    readAt(o, len) {
      checkRange(this, o, len);
      return dev.readAt(offset + o, len);
    },
    writeAt(o, data) {
      checkRange(this, o, data.length);
      return dev.writeAt(offset + o, data);
    },
    flush: () => dev.flush(),
    copyFiles: dev.copyFiles
      ? (content, count, job, opts) => dev.copyFiles!(content, count, job, { ...opts, base: (opts.base ?? 0) + offset })
      : undefined,
  };
}

const CHUNK = 64 * 1024;

/**
 * An in-memory device that stores only the 64 KiB chunks written to, so a multi-GiB
 * sparse image costs only what it holds. Used by tests and in the browser.
 */
export class MemoryBlockDevice implements BlockDevice {
  readonly size: number;
  private readonly chunks = new Map<number, Uint8Array>();

  constructor(size: number) {
    this.size = size;
  }

  async readAt(offset: number, length: number): Promise<Uint8Array> {
    return this.readSync(offset, length);
  }

  readSync(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const idx = Math.floor(pos / CHUNK);
      const within = pos - idx * CHUNK;
      const n = Math.min(CHUNK - within, length - done);
      const chunk = this.chunks.get(idx);
      if (chunk) out.set(chunk.subarray(within, within + n), done);
      done += n;
    }
    return out;
  }

  async writeAt(offset: number, data: Uint8Array): Promise<void> {
    checkRange(this, offset, data.length);
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const idx = Math.floor(pos / CHUNK);
      const within = pos - idx * CHUNK;
      const n = Math.min(CHUNK - within, data.length - done);
      let chunk = this.chunks.get(idx);
      if (!chunk) {
        chunk = new Uint8Array(CHUNK);
        this.chunks.set(idx, chunk);
      }
      chunk.set(data.subarray(done, done + n), within);
      done += n;
    }
  }

  async flush(): Promise<void> {}

  /** Bytes actually stored (the "allocated" size of this sparse device). */
  get storedBytes(): number {
    return this.chunks.size * CHUNK;
  }
}
