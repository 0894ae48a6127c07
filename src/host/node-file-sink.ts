// A ChunkSink into a host file through a 1 MiB buffer (chunks are copied: sources reuse
// their buffers).
import * as fs from 'node:fs';
import { faultPoint } from './fault.js';

const SIZE = 1 << 20;

export class NodeFileSink {
  private readonly fd: number;
  private readonly owned: boolean;
  private readonly buf = Buffer.allocUnsafe(SIZE);
  private used = 0;
  bytes = 0;

  /** A path is opened (and closed by close()); a descriptor stays the caller's. */
  constructor(target: string | number) {
    this.owned = typeof target === 'string';
    this.fd = typeof target === 'string' ? fs.openSync(target, 'w', 0o644) : target;
  }

  readonly write = (chunk: Uint8Array): void => {
    this.bytes += chunk.length;
    if (this.used + chunk.length > SIZE) this.flush();
    if (chunk.length >= SIZE) {
      fs.writeSync(this.fd, chunk);
      return;
    }
    this.buf.set(chunk, this.used);
    this.used += chunk.length;
  };

  private flush(): void {
    let done = 0;
    while (done < this.used) done += fs.writeSync(this.fd, this.buf, done, this.used - done);
    this.used = 0;
    faultPoint('write');
  }

  close(): void {
    this.flush();
    if (this.owned) fs.closeSync(this.fd);
  }
}
