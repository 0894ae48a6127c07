// Encodes one planned inode (fields, extent root or fast symlink or device number,
// in-inode xattrs, checksum) into its slot of an inode-table buffer.
import { crc32c, crc32cU32 } from '../../struct/crc32c.js';
import { byteStringToBytes } from '../../tree/names.js';
import { type FsNode, type Timestamp, kindTypeBits } from '../../tree/node.js';
import type { Catalog } from './catalog.js';
import { encodeExtentNode, ROOT_EXTENTS } from './extent.js';
import {
  EXT4_EXTENTS_FL, EXT4_IMMUTABLE_FL, EXT4_INDEX_FL, EXTRA_ISIZE, DEVICE_IBLOCK, GOOD_OLD_INODE_SIZE, INODE, MAX_TIME, MIN_TIME, encodeTime,
} from './inode.js';
import type { InodeLayout } from './layout.js';
import { type DiskXattr, IBODY_XATTR_HEADER, XATTR_MAGIC, encodeXattrRegion } from './xattr.js';

export interface InodeInput {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  links: number;
  times: { atime: Timestamp; ctime: Timestamp; mtime: Timestamp };
  flags: number;
  /** i_block: the extent root, a fast symlink target or a device number. */
  iBlock: Uint8Array;
  /** Filesystem blocks charged to the inode (data, tree, xattr block). */
  blocks: number;
  xattrBlock: number;
  /** Xattrs stored in the inode body. */
  xattrInInode?: DiskXattr[];
}

function clampTime(t: Timestamp): Timestamp {
  if (t.sec < MIN_TIME) return { sec: MIN_TIME, nsec: 0 };
  if (t.sec > MAX_TIME) return { sec: MAX_TIME, nsec: 0 };
  return t;
}

/** i_block for a node: extent root, fast symlink target, or device number. */
export function iBlockFor(node: FsNode | null, l: InodeLayout | undefined): { iBlock: Uint8Array; extents: boolean } {
  const iBlock = new Uint8Array(60);
  if (node?.kind === 'symlink' && node.target.length < 60) {
    iBlock.set(byteStringToBytes(node.target));
    return { iBlock, extents: false };
  }
  if (node && (node.kind === 'chardev' || node.kind === 'blockdev')) {
    const { major, minor } = node;
    // The kernel's old_encode_dev / new_encode_dev (catalog.ts keeps major < 2^12, minor < 2^20).
    if (major < 256 && minor < 256) DEVICE_IBLOCK.set(iBlock, 0, 'old_dev', (major << 8) | minor);
    else DEVICE_IBLOCK.set(iBlock, 0, 'new_dev', ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0);
    return { iBlock, extents: false };
  }
  if (node && (node.kind === 'fifo' || node.kind === 'socket')) return { iBlock, extents: false };
  encodeExtentNode(l!.tree ?? { depth: 0, extents: l!.mappings, firstLogical: 0 }, iBlock, ROOT_EXTENTS);
  return { iBlock, extents: true };
}

export function inodeInputFor(cat: Catalog, ino: number, l: InodeLayout, bs: number): InodeInput {
  const n = cat.nodes[ino]!;
  const dir = cat.dirs.get(ino);
  const { iBlock, extents } = iBlockFor(n, l);
  let size = 0;
  if (n.kind === 'file') size = n.size;
  else if (n.kind === 'dir') size = dir!.blocks * bs;
  else if (n.kind === 'symlink') size = n.target.length;
  let flags = extents ? EXT4_EXTENTS_FL : 0;
  if (n.attributes?.immutable) flags |= EXT4_IMMUTABLE_FL;
  if (n.kind === 'dir' && dir!.indexed) flags |= EXT4_INDEX_FL;
  const blocks = cat.blockCounts[ino]! + l.treeBlocks.length + (l.xattrBlock ? 1 : 0);
  return {
    ino, mode: kindTypeBits(n.kind) | n.perm, uid: n.uid, gid: n.gid, size, links: cat.links[ino]!,
    times: { atime: n.atime, ctime: n.ctime, mtime: n.mtime }, flags, iBlock, blocks, xattrBlock: l.xattrBlock, xattrInInode: cat.xattrInInode.get(ino),
  };
}

/** Writes the inode at `off` of `buf` (inodeSize bytes, assumed zero) and its checksum. */
export function encodeInode(inp: InodeInput, buf: Uint8Array, off: number, inodeSize: number, bs: number, fsSeed: number): void {
  const a = encodeTime(clampTime(inp.times.atime).sec, clampTime(inp.times.atime).nsec);
  const c = encodeTime(clampTime(inp.times.ctime).sec, clampTime(inp.times.ctime).nsec);
  const m = encodeTime(clampTime(inp.times.mtime).sec, clampTime(inp.times.mtime).nsec);
  INODE.encode({
    i_mode: inp.mode,
    uid: inp.uid,
    gid: inp.gid,
    size: inp.size,
    i_atime: a.lo, i_atime_extra: a.extra,
    i_ctime: c.lo, i_ctime_extra: c.extra,
    i_mtime: m.lo, i_mtime_extra: m.extra,
    i_crtime: c.lo, i_crtime_extra: c.extra,
    i_links_count: inp.links,
    blocks: inp.blocks * (bs / 512),
    i_flags: inp.flags,
    i_block: inp.iBlock,
    file_acl: inp.xattrBlock,
    i_extra_isize: EXTRA_ISIZE,
  }, buf, off);
  const inl = inp.xattrInInode;
  if (inl?.length) {
    const hdr = off + GOOD_OLD_INODE_SIZE + EXTRA_ISIZE;
    IBODY_XATTR_HEADER.encode({ h_magic: XATTR_MAGIC }, buf, hdr);
    const first = hdr + IBODY_XATTR_HEADER.size;
    encodeXattrRegion(inl, buf, first, off + inodeSize, first);
  }
  let csum = crc32cU32(fsSeed, inp.ino);
  csum = crc32cU32(csum, 0); // i_generation
  csum = crc32c(csum, buf, off, off + inodeSize); // checksum fields are still zero here
  INODE.set(buf, off, 'checksum', csum);
}
