// The whole qcow2 file planned up front from the guest ranges that can hold data:
//   header | refcount table | refcount blocks | L1 | L2 tables | data clusters
// with data clusters in guest order, L2 tables only for the 512 MiB regions that have
// data, and every cluster of the file used once (refcount 1). The refcount blocks count
// themselves, so their number is found by fixed point. Guest clusters outside the ranges
// are never allocated: they read as zeros (no backing file).
import { type ByteRange, clipRanges, roundOutRanges } from '../../../io/byte-ranges.js';
import {
  ENTRY_COPIED, QCOW2_CLUSTER_BITS, QCOW2_HEADER, QCOW2_HEADER_LENGTH, QCOW2_MAGIC, QCOW2_REFCOUNT_ORDER, QCOW2_VERSION, setEntry,
} from './header.js';

/** Guest clusters [start, end) stored from data cluster `rank` on. */
export interface ClusterRun {
  start: number;
  end: number;
  rank: number;
}

export interface Qcow2Layout {
  virtualSize: number;
  clusterBits: number;
  clusterSize: number;
  refTableOffset: number;
  refTableClusters: number;
  refBlocksOffset: number;
  refBlocks: number;
  l1Offset: number;
  l1Entries: number;
  l1Clusters: number;
  l2Offset: number;
  /** L1 indices that have an L2 table, ascending; the k-th table is at l2Offset + k clusters. */
  l2Tables: number[];
  dataOffset: number;
  runs: ClusterRun[];
  dataClusters: number;
  fileSize: number;
}

/** Plans a file for a guest of `virtualSize` bytes whose non-zero bytes all lie in `ranges`. */
export function planQcow2(virtualSize: number, ranges: readonly ByteRange[], clusterBits = QCOW2_CLUSTER_BITS): Qcow2Layout {
  const cs = 2 ** clusterBits;
  const runs: ClusterRun[] = [];
  let dataClusters = 0;
  for (const r of roundOutRanges(clipRanges(ranges, virtualSize), cs)) {
    runs.push({ start: r.start / cs, end: r.end / cs, rank: dataClusters });
    dataClusters += (r.end - r.start) / cs;
  }
  const l2Entries = cs / 8;
  const l1Entries = Math.ceil(Math.ceil(virtualSize / cs) / l2Entries);
  const l2Tables: number[] = [];
  for (const r of runs) {
    for (let t = Math.floor(r.start / l2Entries); t <= Math.floor((r.end - 1) / l2Entries); t++) {
      if (l2Tables[l2Tables.length - 1] !== t) l2Tables.push(t);
    }
  }
  const l1Clusters = Math.max(1, Math.ceil((l1Entries * 8) / cs));
  const perRefBlock = (cs * 8) / 2 ** QCOW2_REFCOUNT_ORDER;
  const fixed = 1 + l1Clusters + l2Tables.length + dataClusters;
  let refBlocks = 1;
  let refTableClusters = 1;
  for (;;) {
    const total = fixed + refTableClusters + refBlocks;
    const blocks = Math.ceil(total / perRefBlock);
    const table = Math.ceil((blocks * 8) / cs);
    if (blocks === refBlocks && table === refTableClusters) break;
    refBlocks = Math.max(refBlocks, blocks);
    refTableClusters = Math.max(refTableClusters, table);
  }
  const refTableOffset = cs;
  const refBlocksOffset = refTableOffset + refTableClusters * cs;
  const l1Offset = refBlocksOffset + refBlocks * cs;
  const l2Offset = l1Offset + l1Clusters * cs;
  const dataOffset = l2Offset + l2Tables.length * cs;
  return {
    virtualSize, clusterBits, clusterSize: cs, refTableOffset, refTableClusters, refBlocksOffset, refBlocks, l1Offset, l1Entries,
    l1Clusters, l2Offset, l2Tables, dataOffset, runs, dataClusters, fileSize: dataOffset + dataClusters * cs,
  };
}

/** The file's metadata, in file order: the header cluster, refcount table and blocks, L1, each L2 table. */
export function* qcow2Metadata(l: Qcow2Layout): Generator<{ at: number; bytes: Uint8Array }> {
  const cs = l.clusterSize;
  const header = new Uint8Array(cs);
  QCOW2_HEADER.encode({
    magic: QCOW2_MAGIC, version: QCOW2_VERSION, cluster_bits: l.clusterBits, size: l.virtualSize, crypt_method: 0,
    l1_size: l.l1Entries, l1_table_offset: l.l1Offset, refcount_table_offset: l.refTableOffset,
    refcount_table_clusters: l.refTableClusters, refcount_order: QCOW2_REFCOUNT_ORDER, header_length: QCOW2_HEADER_LENGTH,
  }, header, 0);
  // The header extensions that follow are none: eight zero bytes end them.
  yield { at: 0, bytes: header };

  const table = new Uint8Array(l.refTableClusters * cs);
  const tv = new DataView(table.buffer);
  for (let b = 0; b < l.refBlocks; b++) setEntry(tv, b * 8, l.refBlocksOffset + b * cs);
  yield { at: l.refTableOffset, bytes: table };

  // Every cluster of the file is used once: refcount 1 up to its end, 0 after.
  const totalClusters = l.fileSize / cs;
  const perBlock = cs / 2;
  for (let b = 0; b < l.refBlocks; b++) {
    const block = new Uint8Array(cs);
    const n = Math.min(perBlock, totalClusters - b * perBlock);
    for (let i = 0; i < n; i++) block[i * 2 + 1] = 1;
    yield { at: l.refBlocksOffset + b * cs, bytes: block };
  }

  const l1 = new Uint8Array(l.l1Clusters * cs);
  const l1v = new DataView(l1.buffer);
  l.l2Tables.forEach((t, k) => setEntry(l1v, t * 8, l.l2Offset + k * cs, ENTRY_COPIED));
  yield { at: l.l1Offset, bytes: l1 };

  const l2Entries = cs / 8;
  let ri = 0;
  for (let k = 0; k < l.l2Tables.length; k++) {
    const first = l.l2Tables[k]! * l2Entries;
    const last = first + l2Entries;
    const l2 = new Uint8Array(cs);
    const v = new DataView(l2.buffer);
    while (ri < l.runs.length && l.runs[ri]!.end <= first) ri++;
    for (let j = ri; j < l.runs.length && l.runs[j]!.start < last; j++) {
      const r = l.runs[j]!;
      for (let c = Math.max(first, r.start); c < Math.min(last, r.end); c++) {
        setEntry(v, (c - first) * 8, l.dataOffset + (r.rank + c - r.start) * cs, ENTRY_COPIED);
      }
    }
    yield { at: l.l2Offset + k * cs, bytes: l2 };
  }
}
