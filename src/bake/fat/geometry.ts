// Where everything goes: the FAT type and cluster size for a size, the FAT length, the
// cluster count. The type is decided by the cluster count alone, as fatgen103 defines it
// ("FAT Type Determination"): fewer than 4,085 clusters is FAT12 (never written here),
// fewer than 65,525 FAT16, else FAT32. We stay 16 clusters away from both boundaries,
// since drivers that count a little differently (fastfat counts 4,087; some firmware
// trusts FATSz16 = 0 instead) must agree with us, and we never write a FAT32 volume
// with fewer than 65,525 clusters: edk2's FatOpenDevice calls it corrupt.
export const SECTOR = 512;
/** CHS geometry in the BPB (what `extlinux --heads 64 --sectors 32` assumes too). */
export const SECTORS_PER_TRACK = 32;
export const HEADS = 64;
export const NUM_FATS = 2;
export const DIR_ENTRY_SIZE = 32;

export const FAT16_FROM = 4085;
export const FAT32_FROM = 65525;
export const MARGIN = 16;
export const FAT16_MIN_CLUSTERS = FAT16_FROM + MARGIN;
export const FAT16_MAX_CLUSTERS = FAT32_FROM - MARGIN;
export const FAT32_MIN_CLUSTERS = FAT32_FROM + MARGIN;
/** Cluster numbers run to 0x0FFFFFF6 (0x0FFFFFF7 is "bad"): 0x0FFFFFF5 clusters. */
export const FAT32_MAX_CLUSTERS = 0x0ffffff5 - MARGIN;
/** FAT16's root directory: 512 entries unless the root needs more; at most 65,520 (a u16, whole sectors). */
export const ROOT_ENTRIES = 512;
export const MAX_ROOT_ENTRIES = 65520;
/** 32 KiB: larger clusters are refused by many drivers (fatgen103 allows 32 KiB at most). */
export const MAX_SECTORS_PER_CLUSTER = 64;
/** FAT16 from mkfs.fat's choice below 512 MiB, FAT32 from it. */
export const FAT32_AUTO_FROM = 512 * 2 ** 20;
/** TotSec32 is 32 bits: 2 TiB − 512 bytes. */
export const MAX_SECTORS = 0xffffffff;

export type FatType = 16 | 32;

export interface FatGeometry {
  fatType: FatType;
  sectorsPerCluster: number;
  clusterBytes: number;
  /** Boot sector (FAT32: FSInfo, backups) up to the first FAT; a multiple of the cluster size. */
  reservedSectors: number;
  /** Sectors of one FAT; a multiple of the cluster size. */
  fatSectors: number;
  /** FAT16: root directory entries (BPB_RootEntCnt); FAT32: 0. */
  rootEntries: number;
  rootDirSectors: number;
  totalSectors: number;
  clusterCount: number;
  /** First sector of cluster 2. */
  dataStart: number;
}

const alignUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/** Sectors a volume of `bytes` uses: whole tracks, as mkfs.fat does (mtools refuses a partial last track). */
export function sectorsFor(bytes: number): number {
  const s = Math.min(MAX_SECTORS, Math.floor(bytes / SECTOR));
  return s - (s % SECTORS_PER_TRACK);
}

/**
 * The layout of `totalSectors` as FAT`type` with `spc` sectors per cluster and a root of
 * at least `rootSlots` entries (FAT16), whatever its cluster count (see inWindow); null
 * when nothing fits. Like mkfs.fat, every region is a whole number of clusters, so the
 * data region starts cluster-aligned; the FAT is the smallest that maps every cluster.
 */
export function layoutFor(totalSectors: number, type: FatType, spc: number, rootSlots = 0): FatGeometry | null {
  const reservedSectors = alignUp(type === 32 ? 32 : 1, spc);
  let rootDirSectors = 0;
  let rootEntries = 0;
  if (type === 16) {
    rootDirSectors = alignUp(Math.ceil((Math.max(ROOT_ENTRIES, rootSlots) * DIR_ENTRY_SIZE) / SECTOR), spc);
    rootEntries = (rootDirSectors * SECTOR) / DIR_ENTRY_SIZE;
    if (rootEntries > MAX_ROOT_ENTRIES) return null;
  }
  const entryBytes = type === 32 ? 4 : 2;
  const avail = totalSectors - reservedSectors - rootDirSectors;
  const clustersWith = (fat: number) => Math.floor((avail - NUM_FATS * fat) / spc);
  const holds = (fat: number) => clustersWith(fat) >= 0 && (fat * SECTOR) / entryBytes >= clustersWith(fat) + 2;
  // An upper bound (a FAT for every sector as a cluster), then down while a smaller one still maps all clusters.
  let fatSectors = alignUp(Math.ceil(((Math.max(0, avail) / spc + 2) * entryBytes) / SECTOR), spc);
  while (fatSectors > spc && holds(fatSectors - spc)) fatSectors -= spc;
  if (!holds(fatSectors) || (type === 16 && fatSectors > 0xffff)) return null;
  return {
    fatType: type, sectorsPerCluster: spc, clusterBytes: spc * SECTOR, reservedSectors, fatSectors, rootEntries, rootDirSectors,
    totalSectors, clusterCount: clustersWith(fatSectors), dataStart: reservedSectors + NUM_FATS * fatSectors + rootDirSectors,
  };
}

/** The cluster counts a type may have: [min, max], 16 clusters inside its fatgen103 range. */
export function clusterWindow(type: FatType): readonly [number, number] {
  return type === 16 ? [FAT16_MIN_CLUSTERS, FAT16_MAX_CLUSTERS] : [FAT32_MIN_CLUSTERS, FAT32_MAX_CLUSTERS];
}

const inWindow = (g: FatGeometry | null): g is FatGeometry => {
  if (!g) return false;
  const [min, max] = clusterWindow(g.fatType);
  return g.clusterCount >= min && g.clusterCount <= max;
};

/**
 * mkfs.fat's first choice of sectors per cluster (dosfstools mkfs.fat.c, establish_params
 * and setup_tables): FAT16 starts at 4 (2 KiB) and doubles while there are too many
 * clusters; FAT32 follows Microsoft's format table (fatgen103 p. 20): 512 bytes up to
 * 260 MiB, 4 KiB to 8 GiB, 8 KiB to 16 GiB, 16 KiB to 32 GiB, 32 KiB beyond.
 */
export function defaultSectorsPerCluster(type: FatType, totalSectors: number): number {
  if (type === 16) return 4;
  const mib = totalSectors / 2048;
  return mib > 32768 ? 64 : mib > 16384 ? 32 : mib > 8192 ? 16 : mib > 260 ? 8 : 1;
}

export interface GeometryRequest {
  fatType: FatType | 'auto';
  /** Bytes per cluster; undefined: as mkfs.fat. */
  clusterBytes?: number;
  /** FAT16: entries the root directory needs. */
  rootSlots: number;
}

/** The FAT type for a size: FAT16 below 512 MiB, FAT32 from 512 MiB (mkfs.fat's rule). */
export function typeFor(req: GeometryRequest, totalSectors: number): FatType {
  return req.fatType !== 'auto' ? req.fatType : totalSectors * SECTOR >= FAT32_AUTO_FROM ? 32 : 16;
}

/**
 * The geometry of a volume of `totalSectors`, or null when the type cannot have that
 * size. Without a fixed cluster size: mkfs.fat's choice, then larger clusters while
 * there are too many of them, then (small volumes, where mkfs.fat would fall back to
 * FAT12) smaller ones while there are too few.
 */
export function chooseGeometry(req: GeometryRequest, totalSectors: number): FatGeometry | null {
  const type = typeFor(req, totalSectors);
  const layout = (spc: number) => layoutFor(totalSectors, type, spc, req.rootSlots);
  if (req.clusterBytes !== undefined) {
    const g = layout(req.clusterBytes / SECTOR);
    return inWindow(g) ? g : null;
  }
  const [min, max] = clusterWindow(type);
  let spc = defaultSectorsPerCluster(type, totalSectors);
  let g = layout(spc);
  while (g && g.clusterCount > max && spc < MAX_SECTORS_PER_CLUSTER) g = layout((spc *= 2));
  while (g && g.clusterCount < min && spc > 1) g = layout((spc /= 2));
  return inWindow(g) ? g : null;
}
