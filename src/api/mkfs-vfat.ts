// `cake-img mkfs --type vfat`: a source tree → a FAT16/FAT32 image (or a volume at an
// offset inside an existing file). Options, a derived volume ID, plan, write.
import { type FatPlan, planFat } from '../bake/fat/planner.js';
import { writeFat } from '../bake/fat/writer.js';
import { fatWrittenRanges } from '../bake/fat/written-ranges.js';
import { plannedSize } from './output-format.js';
import { FAT_MAX_TIME } from '../bake/fat/dirent.js';
import { formatVolumeId, labelBytes, parseVolumeId } from '../bake/fat/options.js';
import { parseSize } from '../bake/ext4/options.js';
import { deriveIdentity } from '../tree/identity.js';
import type { LoadedTree } from '../sources/directory.js';
import { InvalidOptionError, inSource } from '../util/errors.js';
import { type MkfsRequest, checkEpoch, checkOffset, startMkfs, writeFilesystem } from './mkfs.js';

export interface MkfsVfatResult {
  plan: FatPlan;
  format: string;
  notes: string[];
  volumeId: string;
  sizeBytes: number;
  summary: MkfsVfatSummary;
  warnings: string[];
  /** Milliseconds per stage: load (read the source tree), plan, write. */
  timings: { load: number; plan: number; write: number };
}

export interface MkfsVfatSummary {
  fatType: 16 | 32;
  clusterBytes: number;
  files: number;
  directories: number;
  freeBytes: number;
  /** The smallest volume the tree fits in. */
  minimumBytes: number;
}

/** ext4 options that mean nothing for FAT: the option name for each request field. */
const EXT4_ONLY: [keyof MkfsRequest, string][] = [
  ['owner', '--owner'], ['blockSize', '--block-size'], ['inodeSize', '--inode-size'], ['journalBlocks', '--journal-blocks'],
  ['noJournal', '--no-journal'], ['features', '--features'],
];

/** The volume ID: the one asked for, or the first 32 bits of the tree's derived identity. */
function volumeIdFor(req: MkfsRequest, loaded: LoadedTree): number {
  if (req.uuid !== undefined) return parseVolumeId(req.uuid);
  const { uuid } = deriveIdentity(loaded.tree, `mkfs-vfat\0${req.label ?? ''}\0${req.size ?? 'auto'}\0${req.fatType ?? 'auto'}`);
  return ((uuid[0]! << 24) | (uuid[1]! << 16) | (uuid[2]! << 8) | uuid[3]!) >>> 0;
}

export async function mkfsVfat(req: MkfsRequest): Promise<MkfsVfatResult> {
  const offset = checkOffset(req);
  for (const [field, option] of EXT4_ONLY) {
    if (req[field] !== undefined && req[field] !== false) throw new InvalidOptionError(option, 'has no meaning for --type vfat (FAT has no owners, inodes, journal or features)');
  }
  checkEpoch(req.sourceDateEpoch, FAT_MAX_TIME, 'FAT', '2107-12-31');
  // Option values are checked before the source is read.
  if (req.uuid !== undefined) parseVolumeId(req.uuid);
  labelBytes(req.label);
  const size = parseSize(req.size ?? 'auto');
  const start = await startMkfs(req, size);
  const { loaded } = start;
  try {
    let plan: FatPlan;
    try {
      plan = planFat(loaded.tree, {
        size: plannedSize(start.chosen.format, size, start.notes), fatType: req.fatType ?? 'auto', label: req.label, volumeId: volumeIdFor(req, loaded),
        hiddenSectors: offset / 512, epoch: req.sourceDateEpoch, lenient: req.lenient,
      });
    } catch (e) {
      throw inSource(req.source, e);
    }
    const t2 = performance.now();
    const seed = Uint8Array.of(plan.volumeId >>> 24, plan.volumeId >>> 16, plan.volumeId >>> 8, plan.volumeId, ...new Uint8Array(12));
    await writeFilesystem(req, start, plan.sizeBytes, fatWrittenRanges(plan), seed, (dev) => writeFat(plan, dev, loaded.content, { assumeZeroed: true }));
    const timings = { load: start.t1 - start.t0, plan: t2 - start.t1, write: performance.now() - t2 };
    const summary: MkfsVfatSummary = {
      fatType: plan.geo.fatType, clusterBytes: plan.geo.clusterBytes, files: plan.catalog.files.length,
      directories: plan.catalog.dirs.length, freeBytes: plan.freeClusters * plan.geo.clusterBytes, minimumBytes: plan.minimumBytes,
    };
    return {
      plan, format: start.chosen.format, notes: start.notes, volumeId: formatVolumeId(plan.volumeId), sizeBytes: plan.sizeBytes, summary,
      warnings: [...loaded.warnings, ...plan.warnings.map((w) => `${req.source}: ${w}`)], timings,
    };
  } finally {
    await loaded.content.close();
  }
}
