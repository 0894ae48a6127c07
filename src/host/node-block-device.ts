// BlockDevice over a host file. A new image is created sparse (ftruncate), so every
// block the writer skips stays a hole.
import * as fs from 'node:fs';
import { CakeError } from '../util/errors.js';
import { type BlockDevice, type BulkCopy, type CopyJob, NO_BULK_COPY } from '../io/block-device.js';
import type { ContentSource } from '../tree/content.js';
import { hostCopier } from './host-copier.js';
import { faultPoint } from './fault.js';

function check(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > size) {
    throw new CakeError('ERANGE', 'write', `file access [${offset}, +${length}) outside device of ${size} bytes`);
  }
}

export class NodeFileBlockDevice implements BlockDevice {
  private constructor(readonly fd: number, readonly size: number, private readonly owned = true) {}

  /**
   * A device over an open descriptor (an output's temp file), made `size` bytes long
   * (sparse when it grows). The descriptor stays the caller's: close() leaves it open.
   */
  static fromFd(fd: number, size: number): NodeFileBlockDevice {
    if (fs.fstatSync(fd).size !== size) fs.ftruncateSync(fd, size);
    return new NodeFileBlockDevice(fd, size, false);
  }

  /** Creates (or truncates) `path` as a sparse file of `size` bytes. */
  static create(path: string, size: number): NodeFileBlockDevice {
    const fd = fs.openSync(path, 'w+', 0o644);
    fs.ftruncateSync(fd, size);
    return new NodeFileBlockDevice(fd, size);
  }

  /** Opens an existing file for update; `size` defaults to its current size. */
  static open(path: string, size?: number): NodeFileBlockDevice {
    const fd = fs.openSync(path, 'r+');
    const cur = fs.fstatSync(fd).size;
    if (size !== undefined && size > cur) fs.ftruncateSync(fd, size);
    return new NodeFileBlockDevice(fd, size ?? cur);
  }

  /** With `into`, the bytes are read into it (an ImageSource reading in a loop reuses one buffer). */
  async readAt(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    check(this.size, offset, length);
    const buf = into ? into.subarray(0, length) : new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    if (into) buf.fill(0, done);
    return buf;
  }

  // Synchronous writes: the data is in hand and a thread-pool hop per write costs more
  // than it saves on a two-core machine.
  async writeAt(offset: number, data: Uint8Array): Promise<void> {
    check(this.size, offset, data.length);
    let done = 0;
    while (done < data.length) done += fs.writeSync(this.fd, data, done, data.length - done, offset + done);
    faultPoint('write');
  }

  async flush(): Promise<void> {}

  /** Host files straight into this file, on this thread and a worker (host-copier.ts). */
  copyFiles(content: ContentSource, count: number, job: (i: number) => CopyJob, opts: { fillZeros: boolean; base?: number }): BulkCopy {
    if (!content.hostPath) return NO_BULK_COPY;
    return hostCopier(this.fd, opts.base ?? 0, (ref) => content.hostPath!(ref), opts.fillZeros).begin(count, job);
  }

  close(): void {
    if (this.owned) fs.closeSync(this.fd);
  }
}
