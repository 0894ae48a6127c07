// `cake-img mkfs`: a source tree → an ext4 image file (or a filesystem at an offset
// inside an existing file). Validates options, derives identity, plans, writes.
import * as fs from 'node:fs';
import { subDevice } from '../io/block-device.js';
import { NodeFileBlockDevice } from '../host/node-block-device.js';
import { type Ext4Plan, planExt4 } from '../bake/ext4/planner.js';
import { writeExt4 } from '../bake/ext4/writer.js';
import { formatUuid, parseSize } from '../bake/ext4/options.js';
import { MAX_TIME } from '../bake/ext4/inode.js';
import { type Ext4Request, applyExt4Limits, applyTreeOptions, checkEpoch, resolveExt4Options } from '../bake/tree-options.js';
import { loadSource } from '../host/load-source.js';
import { InvalidOptionError, OutputError, inSource, quote } from '../util/errors.js';
import { checkOutputPath, writeOutput } from '../host/output-file.js';
import { copyRange } from '../host/sparse-copy.js';
import { faultPoint } from '../host/fault.js';

/** What `cake-img mkfs` takes: the ext4 options (bake/tree-options.ts) and where from and to. */
export interface MkfsRequest extends Ext4Request {
  source: string;
  image: string;
  offset?: number;
  owner?: string;
  xattrs?: boolean;
  /** Container image sources. */
  platform?: string;
  lenient?: boolean;
}

export interface MkfsResult {
  plan: Ext4Plan;
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

export async function mkfs(req: MkfsRequest): Promise<MkfsResult> {
  const offset = req.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOptionError('--offset', `must be a byte count >= 0, not ${req.offset}`);
  if (offset % 512 !== 0) throw new InvalidOptionError('--offset', `must be a multiple of 512, not ${offset}`);
  checkEpoch(req.sourceDateEpoch, MAX_TIME, 'ext4', '2446-05-10');
  const output = { option: 'IMG', inputs: [req.source] };
  checkOutputPath(req.image, output); // before any work
  const existing = offset > 0 ? existingTarget(req.image) : null;
  const size = parseSize(req.size ?? 'auto');
  const t0 = performance.now();
  const loaded = await loadSource(req.source, { xattrs: req.xattrs, platform: req.platform, lenient: req.lenient, sizeLimit: size === 'auto' ? undefined : size });
  const t1 = performance.now();
  faultPoint('loaded');
  try {
    applyTreeOptions(loaded, req.owner, req.sourceDateEpoch);
    applyExt4Limits(loaded, req.source, req.lenient);
    const options = resolveExt4Options(req, loaded, 'mkfs');
    let plan: Ext4Plan;
    try {
      plan = planExt4(loaded.tree, options); // throws before any byte is written
    } catch (e) {
      throw inSource(req.source, e);
    }
    const t2 = performance.now();
    const fsBytes = plan.geo.blocksCount * plan.geo.blockSize;
    // Into an existing file: the file is copied into the temp with the filesystem written
    // over its range, then renamed over it — the update is whole or not at all.
    await writeOutput(req.image, { ...output, mode: existing ? existing.mode & 0o7777 : undefined }, async (out) => {
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
      await writeExt4(plan, subDevice(dev, offset, fsBytes), loaded.content, { assumeZeroed: true });
    });
    const timings = { load: t1 - t0, plan: t2 - t1, write: performance.now() - t2 };
    return { plan, uuid: formatUuid(options.uuid), sizeBytes: fsBytes, summary: summarise(plan), warnings: loaded.warnings, timings };
  } finally {
    await loaded.content.close();
  }
}
