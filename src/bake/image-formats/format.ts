// The disk image formats cake-img writes and reads, how an output name selects one, how
// an input is recognised (by its bytes, not its name), and what QEMU calls each.
import { InvalidOptionError, quote } from '../../util/errors.js';

export const IMAGE_FORMATS = ['raw', 'qcow2', 'vhd', 'vmdk'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

const BY_EXTENSION: Record<string, ImageFormat> = { img: 'raw', raw: 'raw', qcow2: 'qcow2', vhd: 'vhd', vmdk: 'vmdk' };

/** The file extension a format's output gets (recipes name their outputs with it). */
export const FORMAT_EXTENSION: Record<ImageFormat, string> = { raw: 'img', qcow2: 'qcow2', vhd: 'vhd', vmdk: 'vmdk' };

/** QEMU's driver name for each format (`-drive format=`, `qemu-img -f`). */
export const QEMU_FORMAT: Record<ImageFormat, string> = { raw: 'raw', qcow2: 'qcow2', vhd: 'vpc', vmdk: 'vmdk' };

/** The format an output name asks for by its extension, or null (any other name is raw). */
export function formatOfName(name: string): ImageFormat | null {
  const m = /\.([A-Za-z0-9]+)$/.exec(name);
  return m ? BY_EXTENSION[m[1]!.toLowerCase()] ?? null : null;
}

export function parseFormat(value: string, option = '--format'): ImageFormat {
  if ((IMAGE_FORMATS as readonly string[]).includes(value)) return value as ImageFormat;
  throw new InvalidOptionError(option, `must be one of ${IMAGE_FORMATS.join(', ')}, not ${JSON.stringify(value)}`);
}

/**
 * The format to write `output` in: `--format` when given (a name whose extension names
 * another format is refused: a qcow2 called disk.vhd is a mistake), else the extension's,
 * else raw.
 */
export function outputFormat(output: string, format: string | undefined, option = '--format'): ImageFormat {
  const byName = formatOfName(output);
  if (format === undefined) return byName ?? 'raw';
  const f = parseFormat(format, option);
  if (byName && byName !== f) throw new InvalidOptionError(option, `${f} does not match the output name ${quote(output)} (a .${FORMAT_EXTENSION[byName]} file is ${byName}); rename it or drop ${option}`);
  return f;
}

const ascii = (b: Uint8Array, at: number, s: string) => s.split('').every((c, i) => b[at + i] === c.charCodeAt(0));

/**
 * The format of an image from its first and last 512 bytes: qcow2 "QFI\xfb" and VMDK
 * "KDMV" at 0, a dynamic VHD's footer copy "conectix" at 0, a fixed VHD's footer
 * "conectix" in the last sector; anything else is raw.
 */
export function detectFormat(head: Uint8Array, tail: Uint8Array): ImageFormat {
  if (ascii(head, 0, 'QFI\xfb')) return 'qcow2';
  if (ascii(head, 0, 'KDMV')) return 'vmdk';
  if (ascii(head, 0, 'conectix')) return 'vhd';
  if (tail.length >= 512 && ascii(tail, tail.length - 512, 'conectix')) return 'vhd';
  return 'raw';
}
