// An image file of any format as an ImageReader: the format is recognised by its bytes
// (qcow2 and VMDK magics at 0, a VHD footer at the end or its copy at 0), else raw.
import type { ByteRange } from '../../io/byte-ranges.js';
import { type ImageFormat, detectFormat } from './format.js';
import { openQcow2 } from './qcow2/reader.js';
import { ImageChecks } from './read-checks.js';
import type { ImageReader, ImageSource } from './source.js';
import { openVhd } from './vhd/reader.js';
import { openVmdk } from './vmdk/reader.js';

export interface OpenOptions {
  /** Where a raw file (or a fixed VHD's disk) holds data, when the host can tell (SEEK_DATA). */
  dataRanges?: () => AsyncIterable<ByteRange>;
}

/** The format of an image file, from its first and last sectors. */
export async function imageFormatOf(file: ImageSource): Promise<ImageFormat> {
  const n = Math.min(512, file.size);
  const head = await file.readAt(0, n);
  const tail = await file.readAt(file.size - n, n);
  return detectFormat(head, tail);
}

export function rawReader(file: ImageSource, where: string, opts: OpenOptions = {}): ImageReader {
  new ImageChecks(file, where, 'raw').virtualSize(file.size, 'size', 0);
  return {
    format: 'raw',
    size: file.size,
    readAt: (offset, length, into) => file.readAt(offset, length, into),
    extents: opts.dataRanges ?? (async function* () {
      if (file.size) yield { start: 0, end: file.size };
    }),
  };
}

/** `where` names the file in messages. */
export async function openImage(file: ImageSource, where: string, opts: OpenOptions = {}): Promise<ImageReader> {
  switch (await imageFormatOf(file)) {
    case 'qcow2':
      return openQcow2(file, where);
    case 'vmdk':
      return openVmdk(file, where);
    case 'vhd':
      return openVhd(file, where, opts.dataRanges);
    default:
      return rawReader(file, where, opts);
  }
}
