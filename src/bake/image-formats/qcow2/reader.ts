// Reads a qcow2 image (versions 2 and 3; standard, zero and compressed clusters, zlib),
// for `convert`. Untrusted bytes: every table and cluster must lie in the file, clusters
// are aligned, L2 tables are read one at a time through a small cache, compressed
// clusters inflate into one cluster's buffer. Backing files, encryption, external data
// files, extended L2 entries and zstd are refused as unsupported.
import { ImageChecks, MAX_TABLE_BYTES } from '../read-checks.js';
import { type ImageReader, type ImageSource, readByUnits, unitRuns } from '../source.js';
import { inflateInto } from '../zlib.js';
import {
  ENTRY_COMPRESSED, ENTRY_ZERO, type Entry, QCOW2_HEADER, QCOW2_MAGIC, QCOW2_V2_HEADER_LENGTH, entryOffset, entryReservedBits, getEntry,
  parseCompressedEntry,
} from './header.js';

const KNOWN_INCOMPATIBLE = 0b11; // dirty, corrupt: both readable
const L2_CACHE = 16;

type Mapping = { kind: 'zero' } | { kind: 'data'; host: number } | { kind: 'compressed'; offset: number; sectors: number };

export async function openQcow2(file: ImageSource, where: string): Promise<ImageReader> {
  const c = new ImageChecks(file, where, 'qcow2');
  const head = await c.read(0, Math.min(file.size, 4096), 'header');
  if (head.length < QCOW2_V2_HEADER_LENGTH) throw c.corrupt('header', 0, `the file has ${head.length} bytes, a header needs ${QCOW2_V2_HEADER_LENGTH}`);
  const padded = new Uint8Array(QCOW2_HEADER.size);
  padded.set(head.subarray(0, QCOW2_HEADER.size));
  const h = c.decode(() => QCOW2_HEADER.decode(padded), 'header', 0);
  const at = (f: keyof typeof QCOW2_HEADER.offsets) => QCOW2_HEADER.offsets[f];
  if (h.magic !== QCOW2_MAGIC) throw c.corrupt('magic', 0, 'not QFI\\xfb');
  if (h.version !== 2 && h.version !== 3) throw c.unsupported(`version ${h.version} (cake-img reads 2 and 3)`);
  if (h.version === 3) {
    if (head.length < QCOW2_HEADER.size || h.header_length < QCOW2_HEADER.size) throw c.corrupt('header_length', at('header_length'), `${h.header_length} is shorter than a version 3 header`);
    const unknown = h.incompatible_features_hi !== 0 || (h.incompatible_features_lo & ~KNOWN_INCOMPATIBLE) !== 0;
    if (unknown) throw c.unsupported(`incompatible features 0x${h.incompatible_features_hi.toString(16)}${h.incompatible_features_lo.toString(16).padStart(8, '0')} (external data file, a compression other than zlib, or extended L2 entries)`);
  }
  if (h.cluster_bits < 9 || h.cluster_bits > 21) throw c.corrupt('cluster_bits', at('cluster_bits'), `${h.cluster_bits} is not 9 to 21`);
  if (h.backing_file_offset !== 0) throw c.unsupported('it has a backing file; convert the whole chain with qemu-img');
  if (h.crypt_method !== 0) throw c.unsupported('it is encrypted');
  const size = c.virtualSize(h.size, 'size', at('size'));
  const cs = 2 ** h.cluster_bits;
  const l2Entries = cs / 8;
  const needL1 = Math.ceil(Math.ceil(size / cs) / l2Entries);
  if (h.l1_size < needL1) throw c.corrupt('l1_size', at('l1_size'), `${h.l1_size} entries cannot map ${size} bytes (it needs ${needL1})`);
  if (h.l1_table_offset % cs) throw c.corrupt('l1_table_offset', at('l1_table_offset'), `${h.l1_table_offset} is not aligned to a cluster`);
  const l1 = await c.read(h.l1_table_offset, needL1 * 8, 'L1 table', at('l1_table_offset'));
  const l1v = new DataView(l1.buffer, l1.byteOffset, l1.length);

  const l2Cache = new Map<number, DataView>();
  const l2Table = async (index: number): Promise<DataView | null> => {
    const e = getEntry(l1v, index * 8);
    const off = entryOffset(e);
    const where = h.l1_table_offset + index * 8;
    if (entryReservedBits(e) || (e.hi & ENTRY_COMPRESSED)) throw c.corrupt('L1 entry', where, 'reserved bits are set');
    if (off === 0) return null;
    if (off % cs) throw c.corrupt('L1 entry', where, `L2 table offset ${off} is not aligned to a cluster`);
    let t = l2Cache.get(off);
    if (!t) {
      const b = await c.read(off, cs, 'L2 table', where);
      t = new DataView(b.buffer, b.byteOffset, b.length);
      if (l2Cache.size >= L2_CACHE) l2Cache.delete(l2Cache.keys().next().value!);
      l2Cache.set(off, t);
    }
    return t;
  };

  const mapping = (e: Entry, where: number): Mapping => {
    if (e.hi & ENTRY_COMPRESSED) {
      const m = parseCompressedEntry(h.cluster_bits, e);
      if (m.offset + 1 > file.size) throw c.corrupt('L2 entry', where, `compressed cluster at ${m.offset} lies past the end of the file`);
      return { kind: 'compressed', offset: m.offset, sectors: m.sectors };
    }
    if (entryReservedBits(e)) throw c.corrupt('L2 entry', where, 'reserved bits are set');
    const host = entryOffset(e);
    if (h.version === 3 && e.lo & ENTRY_ZERO) return { kind: 'zero' };
    if (host === 0) return { kind: 'zero' };
    if (host % cs) throw c.corrupt('L2 entry', where, `data cluster offset ${host} is not aligned to a cluster`);
    if (host >= file.size) throw c.corrupt('L2 entry', where, `data cluster ${host} lies past the end of the file`);
    return { kind: 'data', host };
  };

  const clusterMapping = async (cluster: number): Promise<Mapping> => {
    const t = await l2Table(Math.floor(cluster / l2Entries));
    if (!t) return { kind: 'zero' };
    const i = cluster % l2Entries;
    const tableAt = entryOffset(getEntry(l1v, Math.floor(cluster / l2Entries) * 8));
    return mapping(getEntry(t, i * 8), tableAt + i * 8);
  };

  let lastCompressed: { offset: number; data: Uint8Array } | null = null;
  const inflateCluster = async (m: { offset: number; sectors: number }): Promise<Uint8Array> => {
    if (lastCompressed?.offset === m.offset) return lastCompressed.data;
    const end = Math.min(file.size, Math.floor(m.offset / 512) * 512 + m.sectors * 512);
    const input = await c.read(m.offset, Math.min(end - m.offset, MAX_TABLE_BYTES), 'compressed cluster');
    const out = new Uint8Array(cs);
    const r = inflateInto(input, out, true);
    if (r.error || r.length !== cs) throw c.corrupt('compressed cluster', m.offset, r.error ? `does not inflate: ${r.error}` : `inflates to ${r.length} bytes, not a cluster of ${cs}`);
    lastCompressed = { offset: m.offset, data: out };
    return out;
  };

  return {
    format: 'qcow2',
    size,
    readAt(offset, length, into) {
      if (offset < 0 || length < 0 || offset + length > size) throw new Error(`qcow2 reader: [${offset}, +${length}) outside ${size} bytes`);
      return readByUnits(offset, length, into, cs, async (cluster, within, dest) => {
        const m = await clusterMapping(cluster);
        if (m.kind === 'data') {
          const k = Math.min(dest.length, file.size - m.host - within);
          await file.readAt(m.host + within, k, dest.subarray(0, k));
        } else if (m.kind === 'compressed') {
          dest.set((await inflateCluster(m)).subarray(within, within + dest.length));
        }
      });
    },
    extents: () => unitRuns((async function* () {
      for (let t = 0; t < needL1; t++) {
        const table = await l2Table(t);
        if (!table) continue;
        const tableAt = entryOffset(getEntry(l1v, t * 8));
        for (let i = 0; i < l2Entries && (t * l2Entries + i) * cs < size; i++) {
          if (mapping(getEntry(table, i * 8), tableAt + i * 8).kind !== 'zero') yield t * l2Entries + i;
        }
      }
    })(), cs, size),
  };
}
