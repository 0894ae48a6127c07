// What every command that writes ext4 does to a loaded tree before planning, and how its
// ext4 options are resolved: shared by the CLI (api/mkfs.ts, api/bake.ts) and the browser,
// so the same inputs give the same bytes on both.
import { deriveIdentity } from '../tree/identity.js';
import type { FsTree } from '../tree/node.js';
import { applyFormatLimits } from '../tree/limits.js';
import { clampTimes, overrideOwner, parseOwner } from '../tree/transforms.js';
import { InvalidOptionError } from '../util/errors.js';
import { MAX_TIME, MIN_TIME } from './ext4/inode.js';
import { DEFAULT_FEATURES, type Ext4Options, parseFeatures, parseSize, parseUuid } from './ext4/options.js';

/** A loaded tree as these steps see it (sources/directory.ts's LoadedTree is one). */
export interface LoadedTree {
  tree: FsTree;
  warnings: string[];
}

/** The ext4 options a request may give (the rest are derived). */
export interface Ext4Request {
  size?: string;
  uuid?: string;
  label?: string;
  blockSize?: number;
  inodeSize?: number;
  journalBlocks?: number;
  noJournal?: boolean;
  features?: string;
  /** SOURCE_DATE_EPOCH, when set. */
  sourceDateEpoch?: number;
}

/** The times ext4 (256-byte inodes, extra time fields) can store: 1901-12-13 to 2446-05-10. */
export const EXT4_TIME_RANGE = { min: MIN_TIME, max: MAX_TIME, describe: '1901-12-13 to 2446-05-10' };

/** SOURCE_DATE_EPOCH must be a time the format can store, or every clamped time would be wrong. */
export function checkEpoch(epoch: number | undefined, max: number, format: string, until: string): void {
  if (epoch !== undefined && epoch > max) {
    throw new InvalidOptionError('SOURCE_DATE_EPOCH', `${epoch} is after ${until}, the last time ${format} can store`);
  }
}

/** Resolves ext4 options from a request and a loaded tree: UUID and hash seed derived from the tree and `salt` unless given. */
export function resolveExt4Options(req: Ext4Request, loaded: LoadedTree, salt: string): Ext4Options {
  const features = parseFeatures(req.features, DEFAULT_FEATURES);
  if (req.noJournal) features.hasJournal = false;
  const id = deriveIdentity(loaded.tree, `${salt}\0${req.label ?? ''}\0${req.size ?? 'auto'}`);
  return {
    size: parseSize(req.size ?? 'auto'),
    blockSize: req.blockSize ?? 4096,
    inodeSize: req.inodeSize ?? 256,
    uuid: req.uuid ? parseUuid(req.uuid) : id.uuid,
    hashSeed: id.hashSeed,
    label: req.label ?? '',
    journalBlocks: req.journalBlocks,
    features,
    timestamp: req.sourceDateEpoch ?? 0,
    inodeRatio: 16384,
  };
}

/** Applies --owner and SOURCE_DATE_EPOCH to a loaded tree. */
export function applyTreeOptions(loaded: LoadedTree, owner: string | undefined, epoch: number | undefined): void {
  if (owner !== undefined) {
    const o = parseOwner(owner);
    if (!o) throw new InvalidOptionError('--owner', `expected UID:GID, numbers up to 4294967294, not ${JSON.stringify(owner)}`);
    overrideOwner(loaded.tree.root, o.uid, o.gid);
  }
  if (epoch !== undefined) clampTimes(loaded.tree.root, epoch);
}

/** The ext4 limits over a loaded tree: owners it cannot store are errors (or 65534 under lenient), times clamped. */
export function applyExt4Limits(loaded: LoadedTree, label: string, lenient: boolean | undefined): void {
  loaded.warnings.push(...applyFormatLimits(loaded.tree, { label, format: 'ext4', lenient, timeRange: EXT4_TIME_RANGE }));
}
