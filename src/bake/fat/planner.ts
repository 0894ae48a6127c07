// planFat: tree + options → a complete, pure description of a FAT16/FAT32 volume. No I/O,
// no clock, no randomness: the volume ID comes in the options, times from the tree.
//
// Allocation is one fixed walk: (FAT32) the root directory at cluster 2, every other
// directory in pre-order, then the files in the order their source delivers them (so the
// writer streams each source front to back), each chain contiguous; the names of a
// hard-linked file are separate copies, one after the other.
import type { FsTree } from '../../tree/node.js';
import { DoesNotFitError, InvalidOptionError, formatBytes } from '../../util/errors.js';
import { type FatStamp, fatStamp } from './dirent.js';
import { type Catalog, buildCatalog } from './catalog.js';
import {
  DIR_ENTRY_SIZE, FAT32_AUTO_FROM, type FatGeometry, type FatType, type GeometryRequest, MAX_ROOT_ENTRIES, MAX_SECTORS, MAX_SECTORS_PER_CLUSTER,
  SECTOR, chooseGeometry, clusterWindow, layoutFor, sectorsFor, typeFor,
} from './geometry.js';
import { type FatOptions, labelBytes } from './options.js';

export interface FatPlan {
  options: FatOptions;
  geo: FatGeometry;
  /** Bytes the volume covers (totalSectors × 512). */
  sizeBytes: number;
  catalog: Catalog;
  /** First cluster of each catalog directory (FAT16's root: 0, it lives before the data region). */
  dirCluster: number[];
  /** Clusters of each catalog directory. */
  dirClusters: number[];
  /** First cluster of each catalog file (0 for an empty one). */
  fileCluster: number[];
  /** Catalog file indices with data, in allocation (= writing) order. */
  fileOrder: number[];
  /** Chain lengths from cluster 2 on, in cluster order: every used cluster is in one. */
  chains: number[];
  usedClusters: number;
  freeClusters: number;
  /** FSInfo's next free cluster: the first free one, or 0xFFFFFFFF when none is. */
  nextFree: number;
  label: Uint8Array;
  hasLabel: boolean;
  labelStamp: FatStamp;
  volumeId: number;
  hiddenSectors: number;
  /** The smallest whole-MiB size the tree fits in with these options. */
  minimumBytes: number;
  warnings: string[];
}

const MIB = 2 ** 20;
const MAX_BYTES = MAX_SECTORS * SECTOR;

function validate(o: FatOptions): void {
  if (!Number.isInteger(o.volumeId) || o.volumeId < 0 || o.volumeId > 0xffffffff) throw new InvalidOptionError('--uuid', `a FAT volume ID is 32 bits, not ${o.volumeId}`);
  const hidden = o.hiddenSectors ?? 0;
  if (!Number.isInteger(hidden) || hidden < 0 || hidden > 0xffffffff) throw new InvalidOptionError('--offset', `the volume's first sector (BPB_HiddSec) must fit 32 bits, not ${hidden}`);
  const t = o.fatType ?? 'auto';
  if (t !== 'auto' && t !== 16 && t !== 32) throw new InvalidOptionError('--fat-type', `must be 16 or 32, not ${String(t)}`);
  const cs = o.clusterSize;
  if (cs !== undefined && !(Number.isInteger(cs) && cs >= SECTOR && cs <= MAX_SECTORS_PER_CLUSTER * SECTOR && (cs & (cs - 1)) === 0)) {
    throw new InvalidOptionError('--cluster-size', `must be a power of two from 512 to 32768 bytes, not ${cs}`);
  }
  if (o.size !== 'auto' && !(Number.isSafeInteger(o.size) && o.size > 0 && o.size <= MAX_BYTES)) {
    throw new InvalidOptionError('--size', `a FAT volume is at most ${formatBytes(MAX_BYTES)} (32-bit sector count), not ${o.size}`);
  }
}

/** Clusters the catalog needs with this type and cluster size (FAT16's root needs none). */
function needFor(cat: Catalog, type: FatType, cs: number): number {
  let n = 0;
  cat.dirs.forEach((d, i) => {
    if (i > 0 || type === 32) n += Math.max(1, Math.ceil((d.slots * DIR_ENTRY_SIZE) / cs));
  });
  for (const f of cat.files) n += Math.ceil(f.node.size / cs);
  return n;
}

interface Fit {
  bytes: number;
  geo: FatGeometry;
}

/** What the tree needs, per type and cluster size (memoised: a catalog pass each). */
function needs(cat: Catalog): (g: FatGeometry) => number {
  const memo = new Map<string, number>();
  return (g) => {
    const key = `${g.fatType}/${g.clusterBytes}`;
    let n = memo.get(key);
    if (n === undefined) memo.set(key, (n = needFor(cat, g.fatType, g.clusterBytes)));
    return n;
  };
}

/** Slack an automatic size leaves for what the system writes later: 10% of the used space plus 1 MiB. */
const slackFor = (usedBytes: number): number => usedBytes * 0.1 + MIB;

/**
 * The smallest whole-MiB size from `from` on that holds the tree (with slack, for 'auto'):
 * one MiB at a time, jumping ahead to what the data needs at the current cluster size.
 * Clusters only grow with the size (so the jump skips nothing) except where the automatic
 * type turns FAT32 at 512 MiB with smaller clusters: no jump goes past that.
 */
function smallestFit(req: GeometryRequest, need: (g: FatGeometry) => number, from: number, slack: boolean): Fit | null {
  const limit = req.fatType === 16 ? Math.min(MAX_BYTES, 4 * 2 ** 30) : MAX_BYTES;
  for (let bytes = from; bytes <= limit;) {
    const geo = chooseGeometry(req, sectorsFor(bytes));
    let next = bytes + MIB;
    if (geo) {
      const used = need(geo) * geo.clusterBytes;
      const room = geo.clusterCount * geo.clusterBytes;
      if (used + (slack ? slackFor(used) : 0) <= room) return { bytes, geo };
      const want = geo.dataStart * SECTOR + used + (slack ? slackFor(used) : 0);
      next = Math.max(next, Math.ceil(want / MIB) * MIB);
      if (req.fatType === 'auto' && bytes < FAT32_AUTO_FROM) next = Math.min(next, FAT32_AUTO_FROM);
    }
    bytes = next;
  }
  return null;
}

/** Why a fixed size cannot be this FAT type: a one-line InvalidOptionError. */
function noGeometry(req: GeometryRequest, totalSectors: number, size: number): InvalidOptionError {
  const type = typeFor(req, totalSectors);
  const option = req.fatType === 'auto' ? '--size' : '--fat-type';
  const [min, max] = clusterWindow(type);
  if (type === 16 && req.rootSlots > MAX_ROOT_ENTRIES) {
    return new InvalidOptionError(option, `the root directory needs ${req.rootSlots} entries; FAT16's holds at most ${MAX_ROOT_ENTRIES} (FAT32's has no such limit: --fat-type 32)`);
  }
  // Too small when even the smallest clusters (or the ones asked for) are too few.
  const g = layoutFor(totalSectors, type, req.clusterBytes !== undefined ? req.clusterBytes / SECTOR : 1, req.rootSlots);
  const clusters = req.clusterBytes !== undefined ? `${req.clusterBytes}-byte clusters` : 'any cluster size';
  const why = !g || g.clusterCount < min
    ? `too small for FAT${type} with ${clusters} (FAT${type} needs at least ${min} clusters)`
    : `too big for FAT${type} with ${clusters} (FAT${type} has at most ${max} clusters)`;
  const smallest = smallestFit(req, () => 0, MIB, false);
  const hint = !g || g.clusterCount < min ? (smallest ? `; the smallest is ${formatBytes(smallest.bytes)}` : '') : type === 16 ? '; use FAT32' : '';
  return new InvalidOptionError(option, `${formatBytes(size)} is ${why}${hint}`);
}

/** Chains in cluster order: the directories (FAT16: not the root), then the files with data. */
function allocate(cat: Catalog, geo: FatGeometry): Pick<FatPlan, 'dirCluster' | 'dirClusters' | 'fileCluster' | 'fileOrder' | 'chains'> {
  const cs = geo.clusterBytes;
  let next = 2;
  const chains: number[] = [];
  const take = (bytes: number, min: number): number => {
    const n = Math.max(min, Math.ceil(bytes / cs));
    chains.push(n);
    const first = next;
    next += n;
    return first;
  };
  const dirCluster: number[] = [];
  const dirClusters: number[] = [];
  cat.dirs.forEach((d, i) => {
    const inRegion = i === 0 && geo.fatType === 16;
    dirCluster.push(inRegion ? 0 : take(d.slots * DIR_ENTRY_SIZE, 1));
    dirClusters.push(inRegion ? 0 : chains[chains.length - 1]!);
  });
  // Source order, copies of one node together, files without source data (all holes) last.
  const orderOf = (i: number) => cat.files[cat.files[i]!.copyOf]!.node.content?.order ?? Infinity;
  const fileOrder = cat.files.map((_, i) => i).filter((i) => cat.files[i]!.node.size > 0);
  fileOrder.sort((a, b) => orderOf(a) - orderOf(b) || cat.files[a]!.copyOf - cat.files[b]!.copyOf || a - b);
  const fileCluster: number[] = new Array(cat.files.length).fill(0);
  for (const i of fileOrder) fileCluster[i] = take(cat.files[i]!.node.size, 1);
  return { dirCluster, dirClusters, fileCluster, fileOrder, chains };
}

export function planFat(tree: FsTree, o: FatOptions): FatPlan {
  validate(o);
  const label = labelBytes(o.label);
  const catalog = buildCatalog(tree, { lenient: o.lenient ?? false, epoch: o.epoch, label: label.present });
  const req: GeometryRequest = { fatType: o.fatType ?? 'auto', clusterBytes: o.clusterSize, rootSlots: catalog.dirs[0]!.slots };
  const need = needs(catalog);
  if (req.fatType === 16 && req.rootSlots > MAX_ROOT_ENTRIES) throw noGeometry(req, 0, 0);
  const least = smallestFit(req, need, MIB, false);
  if (!least) {
    // More than the type holds at any size: FAT16 ends near 2 GiB, FAT32 at 2 TiB.
    if (req.fatType === 16) throw new InvalidOptionError('--fat-type', 'the tree needs more than a FAT16 volume holds (65,509 clusters of at most 32 KiB); use FAT32');
    throw new DoesNotFitError('the tree', MAX_BYTES + 1, MAX_BYTES, null);
  }
  let fit: Fit;
  if (o.size === 'auto') {
    fit = smallestFit(req, need, Math.max(8 * MIB, least.bytes), true) ?? least;
  } else {
    const sectors = sectorsFor(o.size);
    const geo = chooseGeometry(req, sectors);
    if (!geo) throw noGeometry(req, sectors, o.size);
    if (need(geo) > geo.clusterCount) throw new DoesNotFitError('the tree', least.bytes, o.size);
    fit = { bytes: o.size, geo };
  }
  const { geo } = fit;
  const alloc = allocate(catalog, geo);
  for (const d of catalog.dirs) {
    for (const e of d.entries) {
      if (e.dir !== undefined) e.entry.cluster = alloc.dirCluster[e.dir]!;
      else if (e.file !== undefined) e.entry.cluster = alloc.fileCluster[e.file]!;
    }
  }
  const usedClusters = alloc.chains.reduce((a, b) => a + b, 0);
  const freeClusters = geo.clusterCount - usedClusters;
  return {
    options: o,
    geo,
    sizeBytes: geo.totalSectors * SECTOR,
    catalog,
    ...alloc,
    usedClusters,
    freeClusters,
    nextFree: freeClusters > 0 ? 2 + usedClusters : 0xffffffff,
    label: label.bytes,
    hasLabel: label.present,
    labelStamp: fatStamp(o.epoch ?? 0),
    volumeId: o.volumeId,
    hiddenSectors: o.hiddenSectors ?? 0,
    minimumBytes: least.bytes,
    warnings: catalog.warnings,
  };
}
