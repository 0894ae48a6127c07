// A qcow2 written in one pass over an existing image (convert, and `--qcow2-compress`):
// cluster 0 is kept for the header, then the data in guest order, all-zero clusters left
// out; with compression each cluster is deflated (raw, 4 KiB window: what qemu inflates)
// and packed from a sector boundary, or stored whole and aligned when deflate does not
// save a sector; each L2 table follows the data it maps. (A bake knows its clusters from
// the plan and lays the file out up front instead: layout.ts.)
// The L1 table, the refcount table and blocks come after the data, when every size is
// known, and the header last. Compressed clusters share host clusters, so a host
// cluster's refcount is how many of them touch it (qemu-img check counts the same), and
// their L2 entries never carry the "copied" bit. The file must read as zeros where it is
// not written (a new file, sized by the caller to fileSize afterwards).
import type { ByteRange } from '../../../io/byte-ranges.js';
import { withoutZeroTail } from '../../../util/is-zero.js';
import { type DeflateEngine, inlineDeflate } from '../../cpio/gzip.js';
import { type Compressed, compressQueue } from '../compress-queue.js';
import { type FileWriter, type ImageSource, nonZeroRuns, nonZeroUnits } from '../source.js';
import {
  ENTRY_COPIED, QCOW2_CLUSTER_BITS, QCOW2_HEADER, QCOW2_HEADER_LENGTH, QCOW2_MAGIC, QCOW2_REFCOUNT_ORDER, QCOW2_VERSION, compressedEntry, setEntry,
} from './header.js';

const CLUSTER_BITS = QCOW2_CLUSTER_BITS;
const CS = 2 ** CLUSTER_BITS;
const SECTOR = 512;
/** zlib's default level, as qemu-img convert -c. */
export const QCOW2_LEVEL = 6;
/** qemu inflates compressed clusters with a 4 KiB window (windowBits -12). */
const WINDOW_BITS = 12;
const up = (n: number, unit: number) => Math.ceil(n / unit) * unit;

export interface Qcow2StreamResult {
  fileSize: number;
  clusters: number;
  compressed: number;
}

/** Refcounts of the file's clusters, grown as the file does. */
class Refcounts {
  counts = new Uint16Array(1024);
  add(from: number, to: number): void {
    const last = Math.floor((to - 1) / CS);
    if (last >= this.counts.length) {
      const bigger = new Uint16Array(Math.max(last + 1, this.counts.length * 2));
      bigger.set(this.counts);
      this.counts = bigger;
    }
    for (let c = Math.floor(from / CS); c <= last; c++) this.counts[c]!++;
  }
}


export async function writeQcow2Stream(
  src: ImageSource,
  extents: Iterable<ByteRange> | AsyncIterable<ByteRange>,
  out: FileWriter,
  opts: { compress: boolean; engine?: DeflateEngine },
): Promise<Qcow2StreamResult> {
  // QEMU counts a disk in 512-byte sectors: a size that is not a whole sector is rounded up.
  const virtualSize = up(src.size, SECTOR);
  const l2Entries = CS / 8;
  const l1Entries = Math.ceil(Math.ceil(virtualSize / CS) / l2Entries);
  const l1 = new Uint8Array(Math.max(1, Math.ceil((l1Entries * 8) / CS)) * CS);
  const l1v = new DataView(l1.buffer);
  const refs = new Refcounts();
  refs.add(0, CS); // the header
  let pos = CS;
  let table = -1;
  let l2 = new Uint8Array(CS);
  let l2v = new DataView(l2.buffer);
  let l2Used = false;
  let clusters = 0;
  let compressed = 0;

  const putCluster = async (bytes: Uint8Array, entryAt: (off: number) => void) => {
    pos = up(pos, CS);
    await out.writeAt(pos, bytes);
    refs.add(pos, pos + CS);
    entryAt(pos);
    pos += CS;
  };
  const flushTable = async () => {
    if (table < 0 || !l2Used) return;
    await putCluster(l2, (off) => setEntry(l1v, table * 8, off, ENTRY_COPIED));
    l2 = new Uint8Array(CS);
    l2v = new DataView(l2.buffer);
    l2Used = false;
  };

  const take = async ({ unit, data, deflated }: Omit<Compressed, 'deflated'> & { deflated: Uint8Array | null }) => {
    const t = Math.floor(unit / l2Entries);
    if (t !== table) {
      await flushTable();
      table = t;
    }
    const at = (unit % l2Entries) * 8;
    l2Used = true;
    clusters++;
    if (deflated && deflated.length <= CS - SECTOR) {
      const off = pos;
      await out.writeAt(off, deflated);
      const end = up(off + deflated.length, SECTOR);
      refs.add(off, end);
      const e = compressedEntry(CLUSTER_BITS, off, end / SECTOR - 1 - Math.floor(off / SECTOR));
      l2v.setUint32(at, e.hi);
      l2v.setUint32(at + 4, e.lo);
      pos = end;
      compressed++;
    } else {
      await putCluster(data, (off) => setEntry(l2v, at, off, ENTRY_COPIED));
    }
  };
  // Stored clusters: a run of them is written with one call per L2 table it spans.
  const takeRun = async (first: number, data: Uint8Array) => {
    const n = data.length / CS;
    for (let k = 0; k < n; ) {
      const u = first + k;
      const t = Math.floor(u / l2Entries);
      if (t !== table) {
        await flushTable();
        table = t;
      }
      const m = Math.min(n - k, (t + 1) * l2Entries - u);
      pos = up(pos, CS);
      for (let i = 0; i < m; i++) setEntry(l2v, ((u + i) % l2Entries) * 8, pos + i * CS, ENTRY_COPIED);
      await out.writeAt(pos, data.subarray(k * CS, (k + m) * CS));
      refs.add(pos, pos + m * CS);
      l2Used = true;
      clusters += m;
      pos += m * CS;
      k += m;
    }
  };
  if (opts.compress) {
    const queue = compressQueue(opts.engine ?? inlineDeflate, QCOW2_LEVEL, WINDOW_BITS, take);
    for await (const { unit, data } of nonZeroUnits(src, extents, CS)) await queue.push(unit, data);
    await queue.drain();
  } else {
    for await (const run of nonZeroRuns(src, extents, CS)) await takeRun(run.unit, run.data);
  }
  await flushTable();

  // L1, then the refcount table and blocks, which count themselves (fixed point).
  const l1Offset = up(pos, CS);
  refs.add(l1Offset, l1Offset + l1.length);
  await out.writeAt(l1Offset, withoutZeroTail(l1));
  const refTableOffset = l1Offset + l1.length;
  const perBlock = (CS * 8) / 2 ** QCOW2_REFCOUNT_ORDER;
  let blocks = 1;
  let tableClusters = 1;
  for (;;) {
    const total = refTableOffset / CS + tableClusters + blocks;
    const b = Math.max(blocks, Math.ceil(total / perBlock));
    const t = Math.max(tableClusters, Math.ceil((b * 8) / CS));
    if (b === blocks && t === tableClusters) break;
    blocks = b;
    tableClusters = t;
  }
  const blocksOffset = refTableOffset + tableClusters * CS;
  const fileSize = blocksOffset + blocks * CS;
  refs.add(refTableOffset, fileSize);
  const rt = new Uint8Array(tableClusters * CS);
  const rtv = new DataView(rt.buffer);
  for (let b = 0; b < blocks; b++) setEntry(rtv, b * 8, blocksOffset + b * CS);
  await out.writeAt(refTableOffset, withoutZeroTail(rt));
  for (let b = 0; b < blocks; b++) {
    const block = new Uint8Array(CS);
    const v = new DataView(block.buffer);
    for (let i = 0; i < perBlock; i++) {
      const n = refs.counts[b * perBlock + i] ?? 0;
      if (n) v.setUint16(i * 2, n);
    }
    await out.writeAt(blocksOffset + b * CS, withoutZeroTail(block));
  }
  const header = QCOW2_HEADER.encode({
    magic: QCOW2_MAGIC, version: QCOW2_VERSION, cluster_bits: CLUSTER_BITS, size: virtualSize, l1_size: l1Entries, l1_table_offset: l1Offset,
    refcount_table_offset: refTableOffset, refcount_table_clusters: tableClusters, refcount_order: QCOW2_REFCOUNT_ORDER,
    header_length: QCOW2_HEADER_LENGTH,
  });
  await out.writeAt(0, header);
  return { fileSize, clusters, compressed };
}
