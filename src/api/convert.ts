// `cake-img convert IN OUT`: an image from one format to another (raw, qcow2, VHD fixed or
// dynamic, VMDK monolithicSparse or streamOptimized in; raw, qcow2, fixed VHD or
// streamOptimized VMDK out), streaming, without QEMU. The input's format comes from its
// bytes, the output's from --format or its extension. Only where the input may hold data
// is read, once; qcow2 and VMDK outputs are streamed (qcow2/stream-writer.ts,
// vmdk/stream-writer.ts) and store only the clusters and grains that are not all zeros.
import { createHash } from 'node:crypto';
import { copyImageData } from '../bake/image-formats/copy.js';
import type { ImageFormat } from '../bake/image-formats/format.js';
import { readImageFile } from '../host/image-file.js';
import { type ImageSpec, checkImageSpec, writeImage, writeStreamedImage } from '../host/image-output.js';
import { checkOutputPath } from '../host/output-file.js';
import { chooseFormat } from './output-format.js';

export interface ConvertRequest {
  input: string;
  output: string;
  /** raw, qcow2, vhd or vmdk (default: from the output's extension, else raw). */
  format?: string;
  qcow2Compress?: boolean;
  /** The VHD footer's time stamp (else 0: the same input always gives the same bytes). */
  sourceDateEpoch?: number;
}

export interface ConvertResult {
  from: ImageFormat;
  to: ImageFormat;
  virtualSize: number;
  fileBytes: number;
  notes: string[];
}

export async function convert(req: ConvertRequest): Promise<ConvertResult> {
  const out = { option: 'OUT', inputs: [req.input] };
  checkOutputPath(req.output, out);
  const chosen = chooseFormat(req.output, req.format, req.qcow2Compress);
  const { file, reader } = await readImageFile(req.input);
  try {
    checkImageSpec(chosen.format, reader.size, chosen.qcow2Compress);
    // Identity for the VHD id and VMDK CID: the input's format, size and first and last sectors.
    const n = Math.min(512, file.size);
    const seed = createHash('sha256').update(`${reader.format}\0${reader.size}\0`)
      .update(await file.readAt(0, n)).update(await file.readAt(file.size - n, n)).digest();
    const spec: ImageSpec = { ...chosen, size: reader.size, ranges: [], seed, time: req.sourceDateEpoch ?? 0 };
    let written;
    if (chosen.format === 'vmdk' || chosen.format === 'qcow2') {
      written = await writeStreamedImage(req.output, out, spec, reader, reader.extents());
    } else {
      written = await writeImage(req.output, out, spec, (dev) => copyImageData(reader, reader.extents(), dev));
    }
    return { from: reader.format, to: written.format, virtualSize: written.virtualSize, fileBytes: written.fileBytes, notes: written.notes };
  } finally {
    file.close();
  }
}
