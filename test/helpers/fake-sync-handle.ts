// A FileSystemSyncAccessHandle in memory, with OPFS's semantics (reads past the end return
// fewer bytes, writes past it grow the file, truncate zero-fills): the OPFS BlockDevice's
// unit tests run against it in Node; the browser test runs the real one.
import type { SyncHandle } from '../../web/opfs-device.js';

export class FakeSyncHandle implements SyncHandle {
  bytes = new Uint8Array(0);
  closed = false;
  flushes = 0;

  private live(): void {
    if (this.closed) throw new DOMException('The access handle was closed', 'InvalidStateError');
  }

  read(buffer: Uint8Array, { at }: { at: number }): number {
    this.live();
    const n = Math.max(0, Math.min(buffer.length, this.bytes.length - at));
    buffer.set(this.bytes.subarray(at, at + n));
    return n;
  }

  write(buffer: Uint8Array, { at }: { at: number }): number {
    this.live();
    if (at + buffer.length > this.bytes.length) this.truncate(at + buffer.length);
    this.bytes.set(buffer, at);
    return buffer.length;
  }

  truncate(size: number): void {
    this.live();
    const b = new Uint8Array(size);
    b.set(this.bytes.subarray(0, size));
    this.bytes = b;
  }

  getSize(): number {
    return this.bytes.length;
  }

  flush(): void {
    this.flushes++;
  }

  close(): void {
    this.closed = true;
  }
}
