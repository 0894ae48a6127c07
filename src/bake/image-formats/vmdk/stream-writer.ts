// A streamOptimized VMDK, written front to back in one pass (the format is a stream:
// VMware "Virtual Disk Format 5.0", "Stream-Optimized Compressed Sparse Extents"):
//   header (gdOffset = GD_AT_END) | descriptor | grains, each a marker + zlib data padded
//   to a sector, each grain table after its grains (marker, 4 sectors) | grain directory
//   (marker) | footer marker + a header copy with the real gdOffset | end-of-stream sector.
// All-zero grains and grain tables without grains are left out. Grains are deflated at a
// fixed level by pako, so the same disk gives the same bytes.
import type { ByteRange } from '../../../io/byte-ranges.js';
import type { ChunkSink } from '../../../tree/content.js';
import { type DeflateEngine, inlineDeflate } from '../../cpio/gzip.js';
import { compressQueue } from '../compress-queue.js';
import { type ImageSource, nonZeroUnits } from '../source.js';
import { zlibWrap } from '../zlib.js';
import { vmdkDescriptor } from './descriptor.js';
import {
  COMPRESSION_DEFLATE, FLAG_COMPRESSED, FLAG_MARKERS, FLAG_NL_DETECT, GRAIN_SECTORS, GTES_PER_GT, LINE_END_CHARS, MARKER_FOOTER,
  MARKER_GD, MARKER_GT, VMDK_GRAIN_MARKER, VMDK_MAGIC, VMDK_MAX_BYTES, VMDK_METADATA_MARKER, VMDK_SECTOR, VMDK_SPARSE_HEADER, VMDK_VERSION_STREAM,
  gdOffsetFields,
} from './header.js';

/** Descriptor sectors (qemu's size: room for edits), and where grains start (64 KiB). */
const DESCRIPTOR_SECTORS = 20;
const OVERHEAD_SECTORS = 128;
const GRAIN = GRAIN_SECTORS * VMDK_SECTOR;
/** zlib's default level, what qemu's compress() and VMware use. */
export const VMDK_LEVEL = 6;

export interface VmdkStreamOptions {
  cid: number;
  fileName: string;
  engine?: DeflateEngine;
}

export interface VmdkStreamResult {
  bytes: number;
  grains: number;
}

function header(capacity: number, gdSector: number | null): Uint8Array {
  return VMDK_SPARSE_HEADER.encode({
    magicNumber: VMDK_MAGIC, version: VMDK_VERSION_STREAM, flags: FLAG_NL_DETECT | FLAG_COMPRESSED | FLAG_MARKERS, capacity,
    grainSize: GRAIN_SECTORS, descriptorOffset: 1, descriptorSize: DESCRIPTOR_SECTORS, numGTEsPerGT: GTES_PER_GT, rgdOffset: 0,
    ...gdOffsetFields(gdSector), overHead: OVERHEAD_SECTORS, ...LINE_END_CHARS, compressAlgorithm: COMPRESSION_DEFLATE,
  });
}

function marker(type: number, sectors: number): Uint8Array {
  return VMDK_METADATA_MARKER.encode({ numSectors: sectors, size: 0, type });
}

/** Streams `src` as a streamOptimized VMDK into `sink`; only grains touched by `extents` are read. */
export async function writeVmdkStream(
  src: ImageSource,
  extents: Iterable<ByteRange> | AsyncIterable<ByteRange>,
  sink: ChunkSink,
  o: VmdkStreamOptions,
): Promise<VmdkStreamResult> {
  if (src.size > VMDK_MAX_BYTES) throw new Error(`vmdk: ${src.size} bytes is past what one sparse extent holds`);
  const capacity = Math.ceil(src.size / VMDK_SECTOR);
  const grainTables = Math.ceil(Math.ceil(capacity / GRAIN_SECTORS) / GTES_PER_GT);
  let pos = 0;
  const put = async (b: Uint8Array) => {
    await sink(b);
    pos += b.length;
  };
  const sector = () => pos / VMDK_SECTOR;

  await put(header(capacity, null));
  const area = new Uint8Array((OVERHEAD_SECTORS - 1) * VMDK_SECTOR);
  area.set(new TextEncoder().encode(vmdkDescriptor({ cid: o.cid, capacitySectors: capacity, fileName: o.fileName })));
  await put(area);

  const gd = new Uint8Array(Math.ceil((grainTables * 4) / VMDK_SECTOR) * VMDK_SECTOR);
  const gdv = new DataView(gd.buffer);
  const gt = new Uint8Array(GTES_PER_GT * 4);
  const gtv = new DataView(gt.buffer);
  let table = -1;
  let tableUsed = false;
  let grains = 0;
  const flushTable = async () => {
    if (table < 0 || !tableUsed) return;
    await put(marker(MARKER_GT, gt.length / VMDK_SECTOR));
    gdv.setUint32(table * 4, sector(), true);
    await put(gt);
    gt.fill(0);
    tableUsed = false;
  };

  const queue = compressQueue(o.engine ?? inlineDeflate, VMDK_LEVEL, 15, async ({ unit, data, deflated }) => {
    const t = Math.floor(unit / GTES_PER_GT);
    if (t !== table) {
      await flushTable();
      table = t;
    }
    const z = zlibWrap(deflated, data, VMDK_LEVEL);
    const out = new Uint8Array(Math.ceil((VMDK_GRAIN_MARKER.size + z.length) / VMDK_SECTOR) * VMDK_SECTOR);
    VMDK_GRAIN_MARKER.encode({ lba: unit * GRAIN_SECTORS, size: z.length }, out, 0);
    out.set(z, VMDK_GRAIN_MARKER.size);
    gtv.setUint32((unit % GTES_PER_GT) * 4, sector(), true);
    tableUsed = true;
    grains++;
    await put(out);
  });
  // Every grain inflates to 64 KiB: a short last grain is stored zero-padded.
  for await (const { unit, data } of nonZeroUnits(src, extents, GRAIN)) await queue.push(unit, data);
  await queue.drain();
  await flushTable();

  await put(marker(MARKER_GD, gd.length / VMDK_SECTOR));
  const gdSector = sector();
  await put(gd);
  await put(marker(MARKER_FOOTER, 1));
  await put(header(capacity, gdSector));
  await put(new Uint8Array(VMDK_SECTOR)); // end of stream: a marker of all zeros
  return { bytes: pos, grains };
}
