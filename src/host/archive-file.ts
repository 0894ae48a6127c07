// Archives read from files on this host: a tar (plain or compressed) and a .deb's
// data.tar, with entries read ahead of their turn spilled to a temporary file when too
// many to hold in memory.
import * as fs from 'node:fs';
import type { ByteFile } from '../io/byte-file.js';
import { loadDeb } from '../sources/deb.js';
import type { LoadedTree } from '../sources/directory.js';
import { loadTar } from '../sources/tar.js';
import { tempFileSpill } from './temp-spill.js';

export interface ArchiveFileOptions {
  lenient?: boolean;
  sizeLimit?: number;
}

/** A host file as a ByteFile: positioned reads, and ranges streamed in 1 MiB reads. */
export function hostByteFile(path: string): ByteFile {
  const size = fs.statSync(path).size;
  return {
    label: path,
    size,
    async read(offset, length) {
      const fd = fs.openSync(path, 'r');
      try {
        const b = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
        return b.subarray(0, fs.readSync(fd, b, 0, b.length, offset));
      } finally {
        fs.closeSync(fd);
      }
    },
    stream: (start, end) => (end > start ? fs.createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 }) : (async function* () {})()),
  };
}

export function loadTarFile(path: string, opts: ArchiveFileOptions = {}): Promise<LoadedTree> {
  const open = (): AsyncIterable<Uint8Array> => fs.createReadStream(path, { highWaterMark: 1 << 20 });
  return loadTar(open, { label: path, spill: tempFileSpill, lenient: opts.lenient, sizeLimit: opts.sizeLimit });
}

export function loadDebFile(path: string, opts: ArchiveFileOptions = {}): Promise<LoadedTree> {
  return loadDeb(hostByteFile(path), { ...opts, spill: tempFileSpill });
}
