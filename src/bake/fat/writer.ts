// writeFat: the thin pass. Encodes the reserved sectors, both FATs, the directories and
// streams every file from the ContentSource, in ascending offset order, through a
// coalescing buffer. It decides nothing: every position comes from the plan.
import { type BlockDevice, type CopyJob, NO_BULK_COPY } from '../../io/block-device.js';
import type { ContentSource } from '../../tree/content.js';
import { type FileNode, dataLength } from '../../tree/node.js';
import { CorruptInputError } from '../../util/errors.js';
import { Coalescer } from '../coalescer.js';
import { BACKUP_BOOT_SECTOR, FSINFO_SECTOR, encodeBootSector } from './boot-sector.js';
import { ATTR_DIRECTORY, ATTR_VOLUME_ID, type FatEntry, encodeEntry } from './dirent.js';
import { FatEncoder, fatEntryBytes } from './fat-table.js';
import { encodeFsInfo } from './fsinfo.js';
import { NUM_FATS, SECTOR } from './geometry.js';
import type { FatPlan } from './planner.js';
import { shortNameBytes } from './short-name.js';

export interface FatWriteOptions {
  /**
   * The device reads as zeros where nothing is written (a new sparse file): then zero
   * runs (the free end of each FAT, holes in files, the slack after a file's end) are
   * skipped and stay holes. False when writing into an existing file at an offset.
   */
  assumeZeroed?: boolean;
  /** Called as file bytes are written, for progress. */
  onProgress?: (bytesWritten: number) => void;
}

const PIECE = 1 << 20;
const DOT = shortNameBytes('.          ');
const DOTDOT = shortNameBytes('..         ');

/** Sectors 0 to the first FAT: the boot sector, and on FAT32 FSInfo and their backups in 6 and 7. */
export function encodeReserved(plan: FatPlan): Uint8Array {
  const g = plan.geo;
  const out = new Uint8Array(g.reservedSectors * SECTOR);
  const boot = encodeBootSector({ geo: g, volumeId: plan.volumeId, volumeLabel: plan.label, hiddenSectors: plan.hiddenSectors });
  out.set(boot, 0);
  if (g.fatType === 32) {
    const info = encodeFsInfo(plan.freeClusters, plan.nextFree);
    out.set(info, FSINFO_SECTOR * SECTOR);
    out.set(boot, BACKUP_BOOT_SECTOR * SECTOR);
    out.set(info, (BACKUP_BOOT_SECTOR + FSINFO_SECTOR) * SECTOR);
  }
  return out;
}

/** A directory's bytes: `.` and `..` (subdirectories) or the label (root), its entries, zeros to the end. */
export function encodeDirectory(plan: FatPlan, index: number): Uint8Array {
  const d = plan.catalog.dirs[index]!;
  const bytes = index === 0 && plan.geo.fatType === 16 ? plan.geo.rootDirSectors * SECTOR : plan.dirClusters[index]! * plan.geo.clusterBytes;
  const out = new Uint8Array(bytes);
  let pos = 0;
  const put = (e: FatEntry) => (pos = encodeEntry(e, out, pos));
  const plain = { longName: null, ntRes: 0, size: 0 };
  if (index > 0) {
    // `..` of a child of the root is cluster 0, on FAT32 too (fatgen103).
    const parent = d.parent > 0 ? plan.dirCluster[d.parent]! : 0;
    put({ ...plain, shortName: DOT, attr: ATTR_DIRECTORY, cluster: plan.dirCluster[index]!, stamp: d.stamp });
    put({ ...plain, shortName: DOTDOT, attr: ATTR_DIRECTORY, cluster: parent, stamp: d.stamp });
  } else if (plan.hasLabel) {
    put({ ...plain, shortName: plan.label, attr: ATTR_VOLUME_ID, cluster: 0, stamp: plan.labelStamp });
  }
  for (const e of d.entries) put(e.entry);
  return out;
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** Both FATs, in pieces; all-zero pieces are skipped on a zeroed device. */
async function writeFats(plan: FatPlan, out: Coalescer, assumeZeroed: boolean): Promise<void> {
  const g = plan.geo;
  const per = PIECE / fatEntryBytes(g.fatType);
  const entries = (g.fatSectors * SECTOR) / fatEntryBytes(g.fatType);
  for (let copy = 0; copy < NUM_FATS; copy++) {
    const enc = new FatEncoder(g.fatType, plan.chains);
    const base = (g.reservedSectors + copy * g.fatSectors) * SECTOR;
    for (let first = 0; first < entries; first += per) {
      const piece = enc.entries(first, Math.min(per, entries - first));
      if (!(assumeZeroed && isZero(piece))) await out.put(base + first * fatEntryBytes(g.fatType), piece);
    }
  }
}

/** Device byte offset of a cluster. */
const clusterOffset = (plan: FatPlan, cluster: number): number => (plan.geo.dataStart + (cluster - 2) * plan.geo.sectorsPerCluster) * SECTOR;

/** Where a file's bytes go: its data runs at their offsets in its chain, and the zeros between and after them. */
export function fileJob(plan: FatPlan, index: number): CopyJob {
  const f = plan.catalog.files[index]!;
  const node = f.node;
  const at = clusterOffset(plan, plan.fileCluster[index]!);
  const end = Math.ceil(node.size / plan.geo.clusterBytes) * plan.geo.clusterBytes;
  const copies: number[] = [];
  const zeros: number[] = [];
  const zero = (from: number, to: number) => {
    for (let p = from; p < to; p += 1 << 16) zeros.push(at + p, Math.min(1 << 16, to - p));
  };
  let pos = 0;
  for (const r of node.dataRuns ?? [{ offset: 0, length: node.size }]) {
    if (r.length <= 0) continue;
    zero(pos, r.offset);
    copies.push(r.offset, r.length, at + r.offset);
    pos = r.offset + r.length;
  }
  zero(pos, end);
  return { ref: node.content!, size: node.size, copies, zeros };
}

/** Streams one file into its chain (the first copy of its node). */
async function writeFile(plan: FatPlan, out: Coalescer, content: ContentSource, index: number, assumeZeroed: boolean, onBytes: (n: number) => void): Promise<void> {
  const f = plan.catalog.files[index]!;
  const job = fileJob(plan, index);
  const expected = dataLength(f.node);
  let run = 0;
  let inRun = 0;
  let zero = 0; // next zero fill not yet written
  const zerosBefore = async (at: number) => {
    for (; zero < job.zeros.length && job.zeros[zero]! < at; zero += 2) if (!assumeZeroed) await out.zeros(job.zeros[zero]!, job.zeros[zero + 1]!);
  };
  let total = 0;
  if (expected > 0) {
    if (!f.node.content) throw new CorruptInputError(f.path, 'file has data but no content source (source bug)');
    await content.read(f.node.content, async (chunk) => {
      total += chunk.length;
      if (total > expected) throw new CorruptInputError(f.path, `file grew while reading (expected ${expected} bytes of data)`);
      for (let c = 0; c < chunk.length;) {
        const length = job.copies[run * 3 + 1]!;
        const at = job.copies[run * 3 + 2]! + inRun;
        await zerosBefore(at);
        const n = Math.min(chunk.length - c, length - inRun);
        await out.put(at, chunk.subarray(c, c + n));
        c += n;
        inRun += n;
        if (inRun === length) run++, (inRun = 0);
      }
      onBytes(chunk.length);
    });
  }
  if (total !== expected) throw new CorruptInputError(f.path, `file shrank while reading (got ${total} of ${expected} bytes)`);
  await zerosBefore(Infinity);
}

/** A further name of a hard-linked file: its first copy's clusters, read back from the device. */
async function copyClusters(plan: FatPlan, dev: BlockDevice, out: Coalescer, from: number, to: number, assumeZeroed: boolean): Promise<void> {
  await out.flush();
  const bytes = Math.ceil(plan.catalog.files[to]!.node.size / plan.geo.clusterBytes) * plan.geo.clusterBytes;
  const src = clusterOffset(plan, plan.fileCluster[from]!);
  const dst = clusterOffset(plan, plan.fileCluster[to]!);
  for (let p = 0; p < bytes; p += PIECE) {
    const piece = await dev.readAt(src + p, Math.min(PIECE, bytes - p));
    if (!(assumeZeroed && isZero(piece))) await out.put(dst + p, piece);
  }
}

export async function writeFat(plan: FatPlan, dev: BlockDevice, content: ContentSource, opts: FatWriteOptions = {}): Promise<void> {
  if (dev.size < plan.sizeBytes) throw new CorruptInputError('device', `is ${dev.size} bytes, the plan needs ${plan.sizeBytes}`);
  const assumeZeroed = opts.assumeZeroed ?? false;
  const out = new Coalescer(dev);
  let written = 0;
  const onBytes = (n: number) => {
    written += n;
    opts.onProgress?.(written);
  };
  const files = plan.fileOrder;
  const streamed = files.filter((i) => plan.catalog.files[i]!.node.content);
  // The device may copy file data its own way (host files into a host image, on several
  // threads); the writer writes the metadata and the files it declines.
  const copying = dev.copyFiles?.(content, streamed.length, (k) => fileJob(plan, streamed[k]!), { fillZeros: !assumeZeroed }) ?? NO_BULK_COPY;
  const byDevice = new Set<number>();
  streamed.forEach((i, k) => void (copying.copies(k) && byDevice.add(i)));
  content.plan?.(files.filter((i) => !byDevice.has(i) && plan.catalog.files[i]!.copyOf === i && plan.catalog.files[i]!.node.content).map((i) => plan.catalog.files[i]!.node.content!));

  await out.put(0, encodeReserved(plan));
  await writeFats(plan, out, assumeZeroed);
  for (let d = 0; d < plan.catalog.dirs.length; d++) {
    const at = d === 0 && plan.geo.fatType === 16 ? (plan.geo.dataStart - plan.geo.rootDirSectors) * SECTOR : clusterOffset(plan, plan.dirCluster[d]!);
    await out.put(at, encodeDirectory(plan, d));
  }
  for (const i of files) {
    const f = plan.catalog.files[i]!;
    if (byDevice.has(i)) continue;
    // A copy of clusters already written; not while the device copies (it may not have
    // written them yet), then the file is streamed again.
    if (f.copyOf !== i && !copying.taken) await copyClusters(plan, dev, out, f.copyOf, i, assumeZeroed);
    else await writeFile(plan, out, content, i, assumeZeroed, onBytes);
  }
  await out.flush();
  if (copying.taken) {
    await copying.finish();
    opts.onProgress?.(streamed.reduce((n, i) => n + dataLength(plan.catalog.files[i]!.node as FileNode), 0));
  }
  await dev.flush();
}
