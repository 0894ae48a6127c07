// What a disk image output is asked to be (image-output.ts writes raw, formatted-output.ts
// the other formats; both read this).
import type { ByteRange } from '../io/byte-ranges.js';
import type { ImageFormat } from '../bake/image-formats/format.js';

export interface ImageSpec {
  format: ImageFormat;
  /** The guest disk's bytes. */
  size: number;
  /** Where the disk's writer may write non-zero bytes (qcow2's layout, what is streamed). */
  ranges: readonly ByteRange[] | (() => AsyncIterable<ByteRange>);
  /** Identity of the inputs: the VHD's unique id and the VMDK's CID derive from it. */
  seed: Uint8Array;
  /** Unix seconds for the VHD footer's time stamp (SOURCE_DATE_EPOCH or the inputs' own). */
  time: number;
  qcow2Compress?: boolean;
}

export interface ImageWritten {
  format: ImageFormat;
  /** The virtual size as written (a VHD's is rounded up to a MiB). */
  virtualSize: number;
  fileBytes: number;
  notes: string[];
}
