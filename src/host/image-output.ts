// Writing a disk image output in the format asked for, through the one safe output writer
// (a temp beside the target, renamed when complete). The disk's writer gets a BlockDevice
// of the guest and never knows the format:
// - raw: a sparse file;
// - qcow2: the file laid out up front from the ranges the writer may write (metadata,
//   then data clusters in guest order);
// - vhd (fixed): the raw disk and its footer, the virtual size rounded up to a whole MiB;
// - vmdk, and qcow2 with --qcow2-compress: streamed formats whose bytes depend on what
//   comes before them, so the disk is written raw into a second temp beside the target
//   (sparse, removed on any end) and streamed from there, reading only the ranges; an
//   existing image (convert) is streamed from directly.
// The raw path is here; the other formats (and their compressors) are in
// formatted-output.ts, loaded only for them.
import type { BlockDevice } from '../io/block-device.js';
import type { ByteRange } from '../io/byte-ranges.js';
import type { ImageFormat } from '../bake/image-formats/format.js';
import type { ImageSpec, ImageWritten } from './image-spec.js';
import type { ImageSource } from '../bake/image-formats/source.js';
import { VMDK_MAX_BYTES } from '../bake/image-formats/vmdk/header.js';
import { InvalidOptionError, formatBytes } from '../util/errors.js';
import { NodeFileBlockDevice } from './node-block-device.js';
import { type OutputOptions, writeOutput } from './output-file.js';

export type { ImageSpec, ImageWritten };

/** Options a format cannot take, refused before any work. */
export function checkImageSpec(format: ImageFormat, size: number | 'auto', qcow2Compress: boolean | undefined, option = '--format'): void {
  if (qcow2Compress && format !== 'qcow2') throw new InvalidOptionError('--qcow2-compress', `compresses qcow2 output, and this output is ${format}`);
  if (format === 'vmdk' && size !== 'auto' && size > VMDK_MAX_BYTES) throw new InvalidOptionError(option, `a VMDK sparse extent holds at most ${formatBytes(VMDK_MAX_BYTES)}`);
}

/** Writes `target` in `spec.format`; `write` fills the guest disk (a device reading as zeros). */
export async function writeImage(
  target: string,
  out: OutputOptions,
  spec: ImageSpec,
  write: (dev: BlockDevice) => Promise<void>,
): Promise<ImageWritten> {
  if (spec.format === 'raw') {
    await writeOutput(target, out, async (o) => write(NodeFileBlockDevice.fromFd(o.fd, spec.size)));
    return { format: 'raw', virtualSize: spec.size, fileBytes: spec.size, notes: [] };
  }
  return (await import('./formatted-output.js')).writeFormattedImage(target, out, spec, write);
}

/** Writes `target` as a streamed format (vmdk, qcow2) from an existing image. */
export async function writeStreamedImage(target: string, out: OutputOptions, spec: ImageSpec, src: ImageSource, ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>): Promise<ImageWritten> {
  return (await import('./formatted-output.js')).writeStreamedImage(target, out, spec, src, ranges);
}
