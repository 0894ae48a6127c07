// Reads a VHD, fixed or dynamic (the footer at the end, or its copy at 0 for a dynamic
// disk), for `convert`. The size follows qemu: current_size, except for the creators that
// size by CHS ("vpc ", "qemu") unless their geometry is the maximum. A dynamic disk's
// blocks are read through the BAT; like qemu, the sector bitmaps are not consulted (an
// allocated block's data is its data). Differencing disks are refused as unsupported.
import type { ByteRange } from '../../../io/byte-ranges.js';
import { ImageChecks, powerOfTwo } from '../read-checks.js';
import { type ImageReader, type ImageSource, readByUnits, unitRuns } from '../source.js';
import {
  VHD_COOKIE, VHD_DYNAMIC_COOKIE, VHD_DYNAMIC_HEADER, VHD_FOOTER, VHD_FOOTER_SIZE, VHD_TYPE_DIFFERENCING, VHD_TYPE_DYNAMIC, VHD_TYPE_FIXED,
  type VhdFooter, vhdChecksum,
} from './footer.js';

const text = (b: Uint8Array) => String.fromCharCode(...b);
const UNALLOCATED = 0xffffffff;

/** `dataRanges`: where a fixed disk's file holds data (the host's SEEK_DATA), when known. */
export async function openVhd(file: ImageSource, where: string, dataRanges?: () => AsyncIterable<ByteRange>): Promise<ImageReader> {
  const c = new ImageChecks(file, where, 'VHD');
  if (file.size < VHD_FOOTER_SIZE) throw c.corrupt('footer', 0, `the file has ${file.size} bytes, less than a footer`);
  const tailAt = file.size - VHD_FOOTER_SIZE;
  let footerAt = tailAt;
  let raw = await c.read(tailAt, VHD_FOOTER_SIZE, 'footer');
  if (text(raw.subarray(0, 8)) !== VHD_COOKIE) {
    footerAt = 0;
    raw = await c.read(0, VHD_FOOTER_SIZE, 'footer');
    if (text(raw.subarray(0, 8)) !== VHD_COOKIE) throw c.corrupt('cookie', tailAt, 'no "conectix" footer at the end of the file or at its start');
  }
  const f: VhdFooter = c.decode(() => VHD_FOOTER.decode(raw), 'footer', footerAt);
  const sum = vhdChecksum(raw, VHD_FOOTER.offsets.checksum);
  if (f.checksum !== sum) throw c.corrupt('checksum', footerAt + VHD_FOOTER.offsets.checksum, `0x${f.checksum.toString(16)}, but the footer sums to 0x${sum.toString(16)}`);
  const chs = f.cylinders * f.heads * f.sectorsPerTrack;
  const app = text(f.creatorApplication);
  const byChs = (app === 'vpc ' || app === 'qemu') && chs !== 65535 * 16 * 255;
  const size = c.virtualSize(byChs ? chs * 512 : f.currentSize, 'currentSize', footerAt + VHD_FOOTER.offsets.currentSize);

  if (f.diskType === VHD_TYPE_FIXED) {
    if (footerAt !== tailAt) throw c.corrupt('footer', tailAt, 'a fixed disk keeps its footer at the end of the file, and there is none');
    if (size > tailAt) throw c.corrupt('currentSize', footerAt + VHD_FOOTER.offsets.currentSize, `${size} bytes, but the file holds ${tailAt} before its footer`);
    return {
      format: 'vhd',
      size,
      readAt: (offset, length, into) => file.readAt(offset, length, into),
      // The file's data ranges hold the footer too: cut at the disk's end.
      extents: async function* () {
        if (!dataRanges) {
          if (size) yield { start: 0, end: size };
          return;
        }
        for await (const r of dataRanges()) if (r.start < size) yield { start: r.start, end: Math.min(r.end, size) };
      },
    };
  }
  if (f.diskType === VHD_TYPE_DIFFERENCING) throw c.unsupported('a differencing disk (it needs its parent); convert the chain with qemu-img');
  if (f.diskType !== VHD_TYPE_DYNAMIC) throw c.corrupt('diskType', footerAt + VHD_FOOTER.offsets.diskType, `${f.diskType} is not fixed (2), dynamic (3) or differencing (4)`);

  if (f.dataOffsetHi !== 0) throw c.corrupt('dataOffset', footerAt + VHD_FOOTER.offsets.dataOffsetHi, 'points past 4 GiB, past any dynamic header');
  const dynAt = f.dataOffsetLo;
  const dynRaw = await c.read(dynAt, VHD_DYNAMIC_HEADER.size, 'dynamic header', footerAt + VHD_FOOTER.offsets.dataOffsetLo);
  const d = c.decode(() => VHD_DYNAMIC_HEADER.decode(dynRaw), 'dynamic header', dynAt);
  if (text(d.cookie) !== VHD_DYNAMIC_COOKIE) throw c.corrupt('dynamic header cookie', dynAt, 'not "cxsparse"');
  const dsum = vhdChecksum(dynRaw, VHD_DYNAMIC_HEADER.offsets.checksum);
  if (d.checksum !== dsum) throw c.corrupt('dynamic header checksum', dynAt + VHD_DYNAMIC_HEADER.offsets.checksum, `0x${d.checksum.toString(16)}, but the header sums to 0x${dsum.toString(16)}`);
  if (!powerOfTwo(d.blockSize, 512, 256 << 20)) throw c.corrupt('blockSize', dynAt + VHD_DYNAMIC_HEADER.offsets.blockSize, `${d.blockSize} is not a power of two from 512 B to 256 MiB`);
  const blocks = Math.ceil(size / d.blockSize);
  if (d.maxTableEntries < blocks) throw c.corrupt('maxTableEntries', dynAt + VHD_DYNAMIC_HEADER.offsets.maxTableEntries, `${d.maxTableEntries} blocks of ${d.blockSize} bytes cannot hold ${size} bytes`);
  const bat = await c.read(d.tableOffset, blocks * 4, 'block allocation table', dynAt + VHD_DYNAMIC_HEADER.offsets.tableOffset);
  const batv = new DataView(bat.buffer, bat.byteOffset, bat.length);
  const bitmapBytes = Math.ceil(d.blockSize / 512 / 8 / 512) * 512;
  const blockData = (b: number): number | null => {
    const sector = batv.getUint32(b * 4);
    if (sector === UNALLOCATED) return null;
    const at = sector * 512 + bitmapBytes;
    if (at + d.blockSize > file.size) throw c.corrupt('BAT entry', d.tableOffset + b * 4, `block ${b} at sector ${sector} lies past the end of the file`);
    return at;
  };
  return {
    format: 'vhd',
    size,
    readAt: (offset, length, into) => readByUnits(offset, length, into, d.blockSize, async (b, within, dest) => {
      const at = blockData(b);
      if (at !== null) await file.readAt(at + within, dest.length, dest);
    }),
    extents: () => unitRuns((async function* () {
      for (let b = 0; b < blocks; b++) if (blockData(b) !== null) yield b;
    })(), d.blockSize, size),
  };
}
