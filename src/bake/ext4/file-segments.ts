// Where each byte of a file goes: the data runs split at extent boundaries into
// (file offset, length, device offset) copies, plus the zero fills a partial block needs
// (gaps between runs inside one block, and the tail of the last block). Pure, so a copier
// on another thread can do the I/O the plan describes.
import type { FileNode } from '../../tree/node.js';
import type { Mapping } from './extent.js';

export interface FileSegments {
  /** Flat triples: file offset, length, device byte offset. */
  copies: number[];
  /** Flat pairs: device byte offset, length. */
  zeros: number[];
}

export function fileSegments(node: FileNode, maps: Mapping[], bs: number): FileSegments {
  // Most files: no holes, one extent from block 0. Asked twice per file by the host
  // copier, the general walk below (its closures, an object per step) was a visible
  // share of a bake's garbage; this is the same answer without it.
  const m0 = maps[0];
  if (!node.dataRuns && maps.length === 1 && m0!.logical === 0 && node.size > 0 && node.size <= m0!.length * bs) {
    const at = m0!.physical * bs;
    const tail = node.size % bs;
    return { copies: [0, node.size, at], zeros: tail ? [at + node.size, bs - tail] : [] };
  }
  return segmentsOf(node, maps, bs);
}

/** The general case: any data runs, any extents. */
export function segmentsOf(node: FileNode, maps: Mapping[], bs: number): FileSegments {
  const runs = node.dataRuns ?? [{ offset: 0, length: node.size }];
  const copies: number[] = [];
  const zeros: number[] = [];
  let mi = 0;
  const dev = (p: number): { at: number; room: number } => {
    const b = Math.floor(p / bs);
    while (mi < maps.length && maps[mi]!.logical + maps[mi]!.length <= b) mi++;
    const m = maps[mi]!;
    return { at: (m.physical + (b - m.logical)) * bs + (p % bs), room: (m.logical + m.length) * bs - p };
  };
  let pos = 0; // file position up to which blocks are accounted for
  const fillTo = (p: number) => {
    if (pos % bs === 0 || p <= pos) return;
    const end = Math.min(p, (Math.floor(pos / bs) + 1) * bs);
    zeros.push(dev(pos).at, end - pos);
    pos = end;
  };
  for (const r of runs) {
    if (r.length <= 0) continue;
    fillTo(r.offset);
    let p = r.offset;
    const end = r.offset + r.length;
    while (p < end) {
      const d = dev(p);
      const n = Math.min(end - p, d.room);
      const last = copies.length - 3;
      // Adjacent in the file and on disk: one copy.
      if (last >= 0 && copies[last]! + copies[last + 1]! === p && copies[last + 2]! + copies[last + 1]! === d.at) copies[last + 1]! += n;
      else copies.push(p, n, d.at);
      p += n;
    }
    pos = end;
  }
  if (pos % bs) fillTo(Math.ceil(pos / bs) * bs);
  return { copies, zeros };
}
