// `cake-img mkfs`: a source tree → an ext4 image file (or a filesystem at an offset
// inside an existing file). Validates options, derives identity, plans, writes.
import * as fs from 'node:fs';
import { subDevice } from '../io/block-device.js';
import { NodeFileBlockDevice } from '../io/node-block-device.js';
import { type Ext4Plan, planExt4 } from '../bake/ext4/planner.js';
import { writeExt4 } from '../bake/ext4/writer.js';
import { DEFAULT_FEATURES, type Ext4Options, formatUuid, parseFeatures, parseSize, parseUuid } from '../bake/ext4/options.js';
import { loadSource } from '../sources/detect.js';
import type { LoadedTree } from '../sources/directory.js';
import { clampTimes, overrideOwner, parseOwner } from '../tree/transforms.js';
import { InvalidOptionError } from '../util/errors.js';
import { deriveIdentity } from './identity.js';
import { type FileCopier, hostCopier } from '../io/host-copier.js';
import type { ContentRef } from '../tree/node.js';
import { writeAtomically } from './output-file.js';

export interface MkfsRequest {
  source: string;
  image: string;
  size?: string;
  uuid?: string;
  label?: string;
  offset?: number;
  owner?: string;
  blockSize?: number;
  inodeSize?: number;
  journalBlocks?: number;
  noJournal?: boolean;
  features?: string;
  /** SOURCE_DATE_EPOCH, when set. */
  sourceDateEpoch?: number;
  xattrs?: boolean;
  /** Container image sources. */
  platform?: string;
  lenient?: boolean;
}

export interface MkfsResult {
  plan: Ext4Plan;
  uuid: string;
  sizeBytes: number;
  warnings: string[];
  /** Milliseconds per stage: load (read the source tree), plan, write. */
  timings: { load: number; plan: number; write: number };
}

/** Resolves ext4 options from a request and a loaded tree (pure apart from hashing). */
export function resolveExt4Options(req: Omit<MkfsRequest, 'source' | 'image'>, loaded: LoadedTree, salt: string): Ext4Options {
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
    if (!o) throw new InvalidOptionError('--owner', `expected UID:GID with numbers, not ${JSON.stringify(owner)}`);
    overrideOwner(loaded.tree.root, o.uid, o.gid);
  }
  if (epoch !== undefined) clampTimes(loaded.tree.root, epoch);
}

/** Direct host-to-image copies on two threads, when the source is a host directory. */
function copierFor(loaded: LoadedTree, image: string, offset: number, zeroFill: boolean): FileCopier | undefined {
  const c = loaded.content as { hostPath?: (ref: ContentRef) => Uint8Array | null };
  return c.hostPath ? hostCopier(image, offset, (ref) => c.hostPath!(ref), zeroFill) : undefined;
}

export async function mkfs(req: MkfsRequest): Promise<MkfsResult> {
  const offset = req.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOptionError('--offset', `must be a byte count >= 0, not ${req.offset}`);
  if (offset % 512 !== 0) throw new InvalidOptionError('--offset', `must be a multiple of 512, not ${offset}`);
  const t0 = performance.now();
  const loaded = await loadSource(req.source, { xattrs: req.xattrs, platform: req.platform, lenient: req.lenient });
  const t1 = performance.now();
  try {
    applyTreeOptions(loaded, req.owner, req.sourceDateEpoch);
    const options = resolveExt4Options(req, loaded, 'mkfs');
    const plan = planExt4(loaded.tree, options); // throws before any byte is written
    const t2 = performance.now();
    const fsBytes = plan.geo.blocksCount * plan.geo.blockSize;
    const intoExisting = offset > 0 && fs.existsSync(req.image);
    if (intoExisting) {
      const dev = NodeFileBlockDevice.open(req.image, Math.max(fs.statSync(req.image).size, offset + fsBytes));
      try {
        await writeExt4(plan, subDevice(dev, offset, fsBytes), loaded.content, { assumeZeroed: false, copier: copierFor(loaded, req.image, offset, true) });
      } finally {
        dev.close();
      }
    } else {
      await writeAtomically(req.image, async (tmp) => {
        const dev = NodeFileBlockDevice.create(tmp, offset + fsBytes);
        try {
          await writeExt4(plan, subDevice(dev, offset, fsBytes), loaded.content, { assumeZeroed: true, copier: copierFor(loaded, tmp, offset, false) });
        } finally {
          dev.close();
        }
      });
    }
    const timings = { load: t1 - t0, plan: t2 - t1, write: performance.now() - t2 };
    return { plan, uuid: formatUuid(options.uuid), sizeBytes: fsBytes, warnings: loaded.warnings, timings };
  } finally {
    await loaded.content.close();
  }
}
