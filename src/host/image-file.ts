// An image file on the host, read-only, as the readers take it: its bytes, and where it
// holds data (SEEK_DATA/SEEK_HOLE, so a raw image's holes are never read).
import * as fs from 'node:fs';
import type { ByteRange } from '../io/byte-ranges.js';
import { type ImageReader, type ImageSource } from '../bake/image-formats/source.js';
import { CorruptInputError, quote } from '../util/errors.js';
import { unreadable } from './load-source.js';
import { seekDataRuns } from './node-source-fs.js';

const BIG_READ = 1 << 20;

const readAsync = (fd: number, buf: Uint8Array, at: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => fs.read(fd, buf, at, length, position, (e, n) => (e ? reject(e) : resolve(n))));

export interface ImageFile extends ImageSource {
  readonly path: string;
  readonly fd: number;
  readonly mtimeMs: number;
  close(): void;
}

/** Opens `file` for reading; a missing, unreadable or non-regular file is a one-line error. */
export function openImageFile(file: string, what = 'the image'): ImageFile {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptInputError(quote(file), `no such ${what.replace(/^the /, '')}`);
    throw unreadable(file, e, what);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new CorruptInputError(quote(file), `is not an image file (${st.isDirectory() ? 'a directory' : 'not a regular file'})`);
  }
  const size = st.size;
  return {
    path: file,
    fd,
    size,
    mtimeMs: st.mtimeMs,
    async readAt(offset, length, into) {
      // Not zeroed first: every byte is read over, or zeroed below when the file ends early.
      const buf = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
      let done = 0;
      try {
        // Big reads (a streaming copy's batches) on libuv's thread, so they overlap the
        // caller's writes; small ones (tables, headers) cost less read here.
        const big = length >= BIG_READ;
        while (done < length) {
          const n = big ? await readAsync(fd, buf, done, length - done, offset + done) : fs.readSync(fd, buf, done, length - done, offset + done);
          if (n === 0) break;
          done += n;
        }
      } catch (e) {
        throw unreadable(file, e, what);
      }
      buf.fill(0, done);
      return buf;
    },
    close: () => fs.closeSync(fd),
  };
}

/** Where the file holds data (whole file when the host cannot tell), for raw images and fixed VHDs. */
export function fileDataRanges(f: ImageFile): () => AsyncIterable<ByteRange> {
  return async function* () {
    const runs = seekDataRuns([Buffer.from(f.path)], [f.size])?.[0];
    if (!runs) {
      if (f.size) yield { start: 0, end: f.size };
      return;
    }
    for (const r of runs) yield { start: r.offset, end: r.offset + r.length };
  };
}

/** The image in `file`, in whatever format it is. Close it with `file.close()`. */
export async function readImageFile(file: string): Promise<{ file: ImageFile; reader: ImageReader }> {
  const f = openImageFile(file);
  try {
    // The format readers (qcow2's inflate among them) load only to read an image, not a kernel.
    const { openImage } = await import('../bake/image-formats/open.js');
    return { file: f, reader: await openImage(f, quote(file), { dataRanges: fileDataRanges(f) }) };
  } catch (e) {
    f.close();
    throw e;
  }
}
