// Reads a VMDK hosted sparse extent with its descriptor embedded (monolithicSparse and
// streamOptimized), for `convert`: the grain directory (from the footer when the header
// says GD_AT_END), grain tables, plain grains, compressed grains behind markers, zeroed
// grains. A descriptor-only VMDK (its data in other files) is refused as unsupported.
import { ImageChecks, MAX_TABLE_BYTES, powerOfTwo } from '../read-checks.js';
import { type ImageReader, type ImageSource, readByUnits, unitRuns } from '../source.js';
import { inflateInto } from '../zlib.js';
import {
  COMPRESSION_DEFLATE, FLAG_COMPRESSED, FLAG_MARKERS, FLAG_ZERO_GRAIN, GTE_ZERO, MARKER_EOS, MARKER_FOOTER, VMDK_GRAIN_MARKER, VMDK_MAGIC,
  VMDK_METADATA_MARKER, VMDK_SECTOR, VMDK_SPARSE_HEADER, type VmdkSparseHeader, gdOffsetOf,
} from './header.js';

const GT_CACHE = 16;

export async function openVmdk(file: ImageSource, where: string): Promise<ImageReader> {
  const c = new ImageChecks(file, where, 'VMDK');
  const headRaw = await c.read(0, Math.min(file.size, VMDK_SECTOR), 'header');
  if (headRaw.length < VMDK_SECTOR) throw c.corrupt('header', 0, `the file has ${headRaw.length} bytes, less than a header sector`);
  let h: VmdkSparseHeader = c.decode(() => VMDK_SPARSE_HEADER.decode(headRaw), 'header', 0);
  let hAt = 0;
  if (h.magicNumber !== VMDK_MAGIC) throw c.corrupt('magicNumber', 0, 'not "KDMV" (a descriptor-only VMDK names other files: convert it with qemu-img)');
  if (h.capacity === 0 && h.descriptorOffset !== 0) throw c.unsupported('a descriptor whose extents are other files (convert it with qemu-img)');
  if (gdOffsetOf(h) === null) {
    // Stream-optimized: the footer (a marker, a header copy, the end-of-stream marker) ends the file.
    const at = file.size - 3 * VMDK_SECTOR;
    const tail = await c.read(at, 3 * VMDK_SECTOR, 'footer');
    const fm = c.decode(() => VMDK_METADATA_MARKER.decode(tail, 0), 'footer marker', at);
    const eos = c.decode(() => VMDK_METADATA_MARKER.decode(tail, 2 * VMDK_SECTOR), 'end-of-stream marker', at + 2 * VMDK_SECTOR);
    if (fm.type !== MARKER_FOOTER || fm.size !== 0) throw c.corrupt('footer marker', at, 'gdOffset is "at the end", but no footer marker precedes the last two sectors');
    if (eos.type !== MARKER_EOS || eos.size !== 0 || eos.numSectors !== 0) throw c.corrupt('end-of-stream marker', at + 2 * VMDK_SECTOR, 'the file does not end with an end-of-stream marker');
    h = c.decode(() => VMDK_SPARSE_HEADER.decode(tail, VMDK_SECTOR), 'footer', at + VMDK_SECTOR);
    hAt = at + VMDK_SECTOR;
    if (h.magicNumber !== VMDK_MAGIC) throw c.corrupt('footer magicNumber', hAt, 'the footer is not a header copy');
  }
  const off = (f: keyof typeof VMDK_SPARSE_HEADER.offsets) => hAt + VMDK_SPARSE_HEADER.offsets[f];
  if (h.version < 1 || h.version > 3) throw c.unsupported(`version ${h.version} (cake-img reads 1 to 3)`);
  if (!powerOfTwo(h.grainSize, 1, 2048)) throw c.corrupt('grainSize', off('grainSize'), `${h.grainSize} sectors is not a power of two up to 2048`);
  if (h.numGTEsPerGT < 1 || h.numGTEsPerGT > 512) throw c.corrupt('numGTEsPerGT', off('numGTEsPerGT'), `${h.numGTEsPerGT} is not 1 to 512`);
  const compressed = (h.flags & FLAG_COMPRESSED) !== 0;
  if (compressed && h.compressAlgorithm !== COMPRESSION_DEFLATE) throw c.unsupported(`compression algorithm ${h.compressAlgorithm}`);
  const markers = (h.flags & FLAG_MARKERS) !== 0;
  const zeroGrains = (h.flags & FLAG_ZERO_GRAIN) !== 0;
  const size = c.virtualSize(h.capacity * VMDK_SECTOR, 'capacity', off('capacity'));
  const grain = h.grainSize * VMDK_SECTOR;
  const perGt = h.numGTEsPerGT;
  const gts = Math.ceil(Math.ceil(h.capacity / h.grainSize) / perGt);
  const gdSector = gdOffsetOf(h);
  if (gdSector === null) throw c.corrupt('gdOffset', off('gdOffsetLo'), 'the footer says "at the end" too');
  const gd = await c.read(gdSector * VMDK_SECTOR, gts * 4, 'grain directory', off('gdOffsetLo'));
  const gdv = new DataView(gd.buffer, gd.byteOffset, gd.length);

  const cache = new Map<number, DataView>();
  const gtOf = async (t: number): Promise<{ table: DataView; at: number } | null> => {
    const sector = gdv.getUint32(t * 4, true);
    if (sector === 0) return null;
    const at = sector * VMDK_SECTOR;
    let table = cache.get(at);
    if (!table) {
      const b = await c.read(at, perGt * 4, 'grain table', gdSector * VMDK_SECTOR + t * 4);
      table = new DataView(b.buffer, b.byteOffset, b.length);
      if (cache.size >= GT_CACHE) cache.delete(cache.keys().next().value!);
      cache.set(at, table);
    }
    return { table, at };
  };
  /** The grain's sector in the file, or null when it reads as zeros. */
  const grainSector = async (g: number): Promise<{ sector: number; entryAt: number } | null> => {
    const gt = await gtOf(Math.floor(g / perGt));
    if (!gt) return null;
    const i = g % perGt;
    const sector = gt.table.getUint32(i * 4, true);
    if (sector === 0 || (zeroGrains && sector === GTE_ZERO)) return null;
    return { sector, entryAt: gt.at + i * 4 };
  };

  let last: { g: number; data: Uint8Array } | null = null;
  /** A compressed grain, inflated (the last one is kept: reads come in pieces of a grain). */
  const readGrain = async (g: number, s: { sector: number; entryAt: number }): Promise<Uint8Array> => {
    const at = s.sector * VMDK_SECTOR;
    if (at >= file.size) throw c.corrupt('grain table entry', s.entryAt, `grain ${g} at sector ${s.sector} lies past the end of the file`);
    if (last?.g === g) return last.data;
    let input: Uint8Array;
    if (markers) {
      const head = await c.read(at, VMDK_GRAIN_MARKER.size, 'grain marker', s.entryAt);
      const gm = c.decode(() => VMDK_GRAIN_MARKER.decode(head), 'grain marker', at);
      if (gm.size === 0 || gm.size > 2 * grain + 1024) throw c.corrupt('grain marker size', at + 8, `${gm.size} bytes is not the size of one compressed grain of ${grain}`);
      input = await c.read(at + VMDK_GRAIN_MARKER.size, gm.size, 'compressed grain', at);
    } else {
      input = await c.read(at, Math.min(2 * grain, file.size - at, MAX_TABLE_BYTES), 'compressed grain', s.entryAt);
    }
    const out = new Uint8Array(grain);
    const r = inflateInto(input, out, false);
    const need = Math.min(grain, size - g * grain);
    if (r.error || r.length < need) throw c.corrupt('compressed grain', at, r.error ? `does not inflate: ${r.error}` : `inflates to ${r.length} bytes, the grain needs ${need}`);
    last = { g, data: out };
    return out;
  };

  return {
    format: 'vmdk',
    size,
    readAt: (offset, length, into) => readByUnits(offset, length, into, grain, async (g, within, dest) => {
      const s = await grainSector(g);
      if (!s) return;
      if (compressed) {
        dest.set((await readGrain(g, s)).subarray(within, within + dest.length));
        return;
      }
      const at = s.sector * VMDK_SECTOR + within;
      if (at >= file.size) throw c.corrupt('grain table entry', s.entryAt, `grain ${g} at sector ${s.sector} lies past the end of the file`);
      const k = Math.min(dest.length, file.size - at);
      await file.readAt(at, k, dest.subarray(0, k));
    }),
    extents: () => unitRuns((async function* () {
      const grains = Math.ceil(size / grain);
      for (let t = 0; t < gts; t++) {
        if (!(await gtOf(t))) continue;
        for (let g = t * perGt; g < Math.min(grains, (t + 1) * perGt); g++) if (await grainSector(g)) yield g;
      }
    })(), grain, size),
  };
}
