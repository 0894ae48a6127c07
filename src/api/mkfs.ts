// `cake-img mkfs`: a source tree → an ext4 image file (or a filesystem at an offset
// inside an existing file). Validates options, derives identity, plans, writes.
import * as fs from 'node:fs';
import { type BlockDevice, subDevice } from '../io/block-device.js';
import { NodeFileBlockDevice } from '../host/node-block-device.js';
import { type Ext4Plan, planExt4 } from '../bake/ext4/planner.js';
import { writeExt4 } from '../bake/ext4/writer.js';
import { formatUuid, parseSize } from '../bake/ext4/options.js';
import { MAX_TIME } from '../bake/ext4/inode.js';
import { type Ext4Request, applyExt4Limits, applyTreeOptions, checkEpoch, resolveExt4Options } from '../bake/tree-options.js';
import { loadSource } from '../host/load-source.js';
import type { LoadedTree } from '../sources/directory.js';
import { InvalidOptionError, OutputError, inSource, quote } from '../util/errors.js';
import { checkOutputPath, writeOutput } from '../host/output-file.js';
import { copyRange } from '../host/sparse-copy.js';
import { writeImage } from '../host/image-output.js';
import { ext4WrittenRanges } from '../bake/ext4/written-ranges.js';
import type { ByteRange } from '../io/byte-ranges.js';
import { type FormatChoice, chooseFormat, compresses, plannedSize } from './output-format.js';
import { faultPoint } from '../host/fault.js';
import { optimizeFromNow } from '../host/jit-tiering.js';

/** What `cake-img mkfs` takes: the ext4 options (bake/tree-options.ts) and where from and to. */
export interface MkfsRequest extends Ext4Request {
  source: string;
  image: string;
  /** raw, qcow2, vhd or vmdk (default: from the image's extension, else raw). */
  format?: string;
  qcow2Compress?: boolean;
  offset?: number;
  owner?: string;
  xattrs?: boolean;
  /** Container image sources. */
  platform?: string;
  lenient?: boolean;
  /** vfat only (mkfsVfat): force FAT16 or FAT32. */
  fatType?: 16 | 32;
}

export interface MkfsResult {
  plan: Ext4Plan;
  format: string;
  /** What the format changed (a VHD's size rounded up), for a note. */
  notes: string[];
  uuid: string;
  sizeBytes: number;
  /** What the image holds, for a summary line. */
  summary: MkfsSummary;
  warnings: string[];
  /** Milliseconds per stage: load (read the source tree), plan, write. */
  timings: { load: number; plan: number; write: number };
}

export interface MkfsSummary {
  inodesUsed: number;
  inodesTotal: number;
  freeBytes: number;
  /** 0 with no journal. */
  journalBytes: number;
  /** The smallest filesystem the tree fits in (what --size auto grows from). */
  minimumBytes: number;
}

// Shared with the browser: they live in the core (bake/tree-options.ts); api/bake.ts imports them from here.
export { EXT4_TIME_RANGE, applyExt4Limits, applyTreeOptions, checkEpoch, resolveExt4Options } from '../bake/tree-options.js';

export function summarise(plan: Ext4Plan): MkfsSummary {
  const { geo } = plan;
  return {
    // Numbering is dense from 11 (lost+found); the ten reserved inodes below it are not counted.
    inodesUsed: plan.catalog.lastIno - 10,
    inodesTotal: geo.inodesPerGroup * geo.groups,
    freeBytes: plan.freeBlocks * geo.blockSize,
    journalBytes: plan.journalBlocks * geo.blockSize,
    minimumBytes: plan.minimumBytes,
  };
}

/** The existing file `--offset` writes into: a regular file the user may write. */
function existingTarget(image: string): fs.Stats | null {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(image);
  } catch {
    return null;
  }
  if (!st.isFile()) return null; // checkOutputPath says what is wrong with it
  try {
    fs.accessSync(image, fs.constants.W_OK);
  } catch {
    throw new OutputError(quote(image), 'permission denied: --offset updates this file, and you cannot write it');
  }
  return st;
}

/** What both formats do before planning: check the output and the offset, load the source. */
export interface MkfsStart {
  offset: number;
  existing: fs.Stats | null;
  loaded: LoadedTree;
  /** The image format and what choosing it said (a VHD's size rounded up). */
  chosen: FormatChoice;
  notes: string[];
  /** performance.now() at the start and after loading. */
  t0: number;
  t1: number;
}

/** --offset: a byte count, whole sectors. Checked first, before any other option. */
export function checkOffset(req: MkfsRequest): number {
  const offset = req.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOptionError('--offset', `must be a byte count >= 0, not ${req.offset}`);
  if (offset % 512 !== 0) throw new InvalidOptionError('--offset', `must be a multiple of 512, not ${offset}`);
  return offset;
}

export async function startMkfs(req: MkfsRequest, size: number | 'auto'): Promise<MkfsStart> {
  const offset = checkOffset(req);
  checkOutputPath(req.image, { option: 'IMG', inputs: [req.source] }); // before any work
  const chosen = chooseFormat(req.image, req.format, req.qcow2Compress, size);
  if (compresses(chosen)) optimizeFromNow(); // per-byte loops: zero scans and deflate (host/jit-tiering.ts)
  if (offset > 0 && chosen.format !== 'raw') throw new InvalidOptionError('--offset', `writes into an existing raw image, not a ${chosen.format} one (make the disk raw, then convert it)`);
  const existing = offset > 0 ? existingTarget(req.image) : null;
  const t0 = performance.now();
  const loaded = await loadSource(req.source, { xattrs: req.xattrs, platform: req.platform, lenient: req.lenient, sizeLimit: size === 'auto' ? undefined : size });
  const t1 = performance.now();
  faultPoint('loaded');
  return { offset, existing, loaded, chosen, notes: [], t0, t1 };
}

/**
 * Writes a filesystem of `fsBytes` at the start's offset of the image. In another format
 * than raw, through that format's writer, sized from `ranges` (where the writer may write
 * non-zero). Into an existing raw file, the file is copied into the temp with the
 * filesystem written over its range, then renamed over it: the update is whole or not at all.
 */
export async function writeFilesystem(
  req: MkfsRequest, start: MkfsStart, fsBytes: number, ranges: ByteRange[], seed: Uint8Array, write: (dev: BlockDevice) => Promise<void>,
): Promise<void> {
  const { offset, existing, chosen } = start;
  if (chosen.format !== 'raw') {
    const written = await writeImage(req.image, { option: 'IMG', inputs: [req.source] }, {
      ...chosen, size: fsBytes, ranges, seed, time: req.sourceDateEpoch ?? 0,
    }, write);
    start.notes.push(...written.notes);
    return;
  }
  await writeOutput(req.image, { option: 'IMG', inputs: [req.source], mode: existing ? existing.mode & 0o7777 : undefined, readsTarget: !!existing }, async (out) => {
    const total = existing ? Math.max(existing.size, offset + fsBytes) : offset + fsBytes;
    const dev = NodeFileBlockDevice.fromFd(out.fd, total);
    if (existing) {
      const src = fs.openSync(req.image, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        copyRange(src, out.fd, 0, offset);
        copyRange(src, out.fd, offset + fsBytes, existing.size);
      } finally {
        fs.closeSync(src);
      }
      fs.fchmodSync(out.fd, existing.mode & 0o7777);
    }
    await write(subDevice(dev, offset, fsBytes));
  });
}

export async function mkfs(req: MkfsRequest): Promise<MkfsResult> {
  checkOffset(req);
  if (req.fatType !== undefined) throw new InvalidOptionError('--fat-type', 'is for --type vfat');
  checkEpoch(req.sourceDateEpoch, MAX_TIME, 'ext4', '2446-05-10');
  const size = parseSize(req.size ?? 'auto');
  const start = await startMkfs(req, size);
  const { loaded } = start;
  try {
    applyTreeOptions(loaded, req.owner, req.sourceDateEpoch);
    applyExt4Limits(loaded, req.source, req.lenient);
    const options = resolveExt4Options(req, loaded, 'mkfs');
    options.size = plannedSize(start.chosen.format, options.size, start.notes);
    let plan: Ext4Plan;
    try {
      plan = planExt4(loaded.tree, options); // throws before any byte is written
    } catch (e) {
      throw inSource(req.source, e);
    }
    const t2 = performance.now();
    const fsBytes = plan.geo.blocksCount * plan.geo.blockSize;
    await writeFilesystem(req, start, fsBytes, ext4WrittenRanges(plan), options.uuid, (dev) => writeExt4(plan, dev, loaded.content, { assumeZeroed: true }));
    const timings = { load: start.t1 - start.t0, plan: t2 - start.t1, write: performance.now() - t2 };
    return { plan, format: start.chosen.format, notes: start.notes, uuid: formatUuid(options.uuid), sizeBytes: fsBytes, summary: summarise(plan), warnings: loaded.warnings, timings };
  } finally {
    await loaded.content.close();
  }
}
