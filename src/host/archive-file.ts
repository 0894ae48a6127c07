// Archives read from files on this host: a tar (plain or compressed) and a .deb's
// data.tar, with entries read ahead of their turn spilled to a temporary file when too
// many to hold in memory.
import { createReadStream } from 'node:fs';
import { loadDeb } from '../sources/deb.js';
import type { LoadedTree } from '../sources/directory.js';
import { loadTar } from '../sources/tar.js';
import { tempFileSpill } from './temp-spill.js';

export interface ArchiveFileOptions {
  lenient?: boolean;
  sizeLimit?: number;
}

export function loadTarFile(path: string, opts: ArchiveFileOptions = {}): Promise<LoadedTree> {
  const open = (): AsyncIterable<Uint8Array> => createReadStream(path, { highWaterMark: 1 << 20 });
  return loadTar(open, { label: path, spill: tempFileSpill, lenient: opts.lenient, sizeLimit: opts.sizeLimit });
}

export function loadDebFile(path: string, opts: ArchiveFileOptions = {}): Promise<LoadedTree> {
  return loadDeb(path, { ...opts, spill: tempFileSpill });
}
