// Filesystem geometry: groups, inodes per group, where the superblock backups and each
// flex group's bitmaps and inode tables go. Pure arithmetic, no tree knowledge.

export interface GeometryInput {
  blocksCount: number;
  blockSize: number;
  inodeSize: number;
  /** Inodes the tree needs (reserved inodes excluded). */
  minInodes: number;
  /** One inode per this many bytes, at least (mke2fs's inode_ratio). */
  inodeRatio: number;
  descSize: number;
  logGroupsPerFlex: number;
}

export interface Geometry {
  blockSize: number;
  blocksCount: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  groups: number;
  inodesPerGroup: number;
  inodeSize: number;
  inodeTableBlocks: number;
  descSize: number;
  gdtBlocks: number;
  logGroupsPerFlex: number;
}

const FIRST_INO = 11;

function isPowerOf(n: number, base: number): boolean {
  while (n > 1 && n % base === 0) n /= base;
  return n === 1;
}

/** sparse_super: superblock copies in groups 0, 1 and powers of 3, 5 and 7. */
export function groupHasSuper(g: number): boolean {
  return g <= 1 || isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
}

export function groupStart(geo: Geometry, g: number): number {
  return geo.firstDataBlock + g * geo.blocksPerGroup;
}

export function groupBlocks(geo: Geometry, g: number): number {
  return Math.min(geo.blocksPerGroup, geo.blocksCount - groupStart(geo, g));
}

/** Computes the geometry, or null when even the inode tables cannot be made to fit. */
export function computeGeometry(inp: GeometryInput): Geometry | null {
  const { blockSize, inodeSize, descSize } = inp;
  const firstDataBlock = blockSize === 1024 ? 1 : 0;
  const blocksPerGroup = blockSize * 8;
  let blocksCount = inp.blocksCount;
  let groups = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  if (groups < 1) return null;
  let gdtBlocks = Math.ceil((groups * descSize) / blockSize);
  // Like mke2fs: drop a last group too small to be worth its overhead.
  const last = blocksCount - firstDataBlock - (groups - 1) * blocksPerGroup;
  const lastOverhead = groupHasSuper(groups - 1) ? 1 + gdtBlocks : 0;
  if (groups > 1 && last < lastOverhead + 50) {
    blocksCount -= last;
    groups--;
    gdtBlocks = Math.ceil((groups * descSize) / blockSize);
  }
  const perBlock = blockSize / inodeSize;
  const wanted = Math.max(inp.minInodes + FIRST_INO, Math.ceil((blocksCount * blockSize) / inp.inodeRatio));
  let ipg = Math.ceil(wanted / groups);
  ipg = Math.ceil(ipg / perBlock) * perBlock;
  ipg = Math.ceil(ipg / 8) * 8;
  if (ipg > blocksPerGroup) {
    // The ratio asked for more than a group can hold: settle for the most a group can hold,
    // as long as that still covers what the tree needs.
    ipg = Math.floor(blocksPerGroup / perBlock) * perBlock;
    if (ipg * groups < inp.minInodes + FIRST_INO) return null;
  }
  if (ipg * groups > 0xffffffff) ipg = Math.floor(0xffffffff / groups / perBlock) * perBlock;
  return {
    blockSize, blocksCount, firstDataBlock, blocksPerGroup, groups,
    inodesPerGroup: ipg, inodeSize, inodeTableBlocks: (ipg * inodeSize) / blockSize,
    descSize, gdtBlocks, logGroupsPerFlex: inp.logGroupsPerFlex,
  };
}
