// The output format of a command that writes a disk image (mkfs, bake, convert): from
// --format or the output's extension, checked before any work.
import { type ImageFormat, outputFormat } from '../bake/image-formats/format.js';
import { vhdSize } from '../bake/image-formats/vhd/footer.js';
import { checkImageSpec } from '../host/image-output.js';

export interface FormatChoice {
  format: ImageFormat;
  qcow2Compress: boolean;
}

export function chooseFormat(output: string, format: string | undefined, qcow2Compress: boolean | undefined, size: number | 'auto' = 'auto'): FormatChoice {
  const f = outputFormat(output, format);
  checkImageSpec(f, size, qcow2Compress);
  return { format: f, qcow2Compress: Boolean(qcow2Compress) };
}

/** A format whose writer compresses (a VMDK, a compressed qcow2): its stream scans and deflates every byte. */
export function compresses(choice: FormatChoice): boolean {
  return choice.format === 'vmdk' || choice.qcow2Compress;
}

/**
 * The size to plan a disk at: a fixed VHD's is rounded up to a whole MiB before planning
 * (so the partition fills it), and a note says so.
 */
export function plannedSize(format: ImageFormat, size: number | 'auto', notes: string[]): number | 'auto' {
  if (format !== 'vhd' || size === 'auto' || vhdSize(size) === size) return size;
  notes.push(`the size is rounded up from ${size} to ${vhdSize(size)} bytes: a fixed VHD is a whole number of MiB (Azure requires it)`);
  return vhdSize(size);
}
