// A SpillStore in a temporary file (removed on close): where a tar source keeps entries
// it had to read ahead of their turn, when there are too many bytes to hold in memory.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SpillStore } from '../sources/tar.js';

export function tempFileSpill(): SpillStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-spill-'));
  const file = path.join(dir, 'spill');
  const fd = fs.openSync(file, 'w+', 0o600);
  fs.unlinkSync(file); // gone from the directory at once; the descriptor keeps it
  fs.rmdirSync(dir);
  let size = 0;
  const buf = new Uint8Array(1 << 20);
  return {
    get size() {
      return size;
    },
    append(chunk) {
      let w = 0;
      while (w < chunk.length) w += fs.writeSync(fd, chunk, w, chunk.length - w, size + w);
      size += chunk.length;
    },
    async read(offset, length, sink) {
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, length - done), offset + done);
        if (n <= 0) throw new Error('spill file shorter than written');
        await sink(buf.subarray(0, n));
        done += n;
      }
    },
    close() {
      fs.closeSync(fd);
    },
  };
}
