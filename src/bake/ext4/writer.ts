// writeExt4: the thin pass. Encodes every metadata block from the plan and writes it and
// the file data item by item, in ascending order of where each item starts (a file is one
// item, at its first block), through a coalescing buffer. A file is written whole at its
// turn, so the part of a file past reserved metadata (a superblock copy, a later flex
// group's bitmaps and inode tables) lands before that metadata is written: writes ascend
// by item, not strictly by byte. File contents are read in the source's content order (the
// planner placed them so). A device that copies files itself (copyFiles: host files into a
// host image, on several threads) takes the files it can, and this writes the metadata
// and the rest (a bake's /boot, made in memory).
// It decides nothing: every position comes from the plan.
import { type BlockDevice, NO_BULK_COPY } from '../../io/block-device.js';
import type { ContentSource } from '../../io/content-source.js';
import { crc32c, crc32cU32 } from '../../struct/crc32c.js';
import { byteStringToBytes } from '../../tree/names.js';
import { type ContentRef, type FileNode, dataLength } from '../../tree/node.js';
import { CorruptInputError } from '../../util/errors.js';
import { type Catalog, entryPath } from './catalog.js';
import { encodeDirBlock } from './dir-layout.js';
import { encodeInode, iBlockFor, inodeInputFor } from './encode-inode.js';
import { type ExtentNode, type Mapping, encodeExtentBlock, extentTreeBlocks } from './extent.js';
import { groupHasSuper, groupStart } from './geometry.js';
import { EXT4_EXTENTS_FL, JOURNAL_INO } from './inode.js';
import { encodeJournalSuperblock } from './journal.js';
import type { InodeLayout } from './layout.js';
import { blockBitmap, encodeGdt, encodeSuperblock, fsSeed, inodeBitmap, usedInodeTableBytes } from './metadata.js';
import { fileSegments } from './file-segments.js';
import { Coalescer } from '../coalescer.js';
import type { Ext4Plan } from './planner.js';
import { type DiskXattr, XATTR_BLOCK_HEADER, XATTR_BLOCK_NUMBER, XATTR_MAGIC, encodeXattrRegion, xattrBlockHash } from './xattr.js';

export interface WriteOptions {
  /**
   * The device reads as zeros where nothing is written (a new sparse file). Then all-zero
   * metadata (unused inode-table space) is skipped and stays a hole. False when writing
   * into an existing file at an offset.
   */
  assumeZeroed?: boolean;
  /** Called as file bytes are written, for progress. */
  onProgress?: (bytesWritten: number) => void;
}

/** A metadata block (or run of blocks) to encode and write at byte `at`. */
type Item = { at: number; encode: () => Uint8Array };

function treeBlockEncoder(node: ExtentNode, bs: number, csumSeed: number): () => Uint8Array {
  return () => encodeExtentBlock(node, bs, csumSeed);
}

function inodeSeed(fs: number, ino: number): number {
  return crc32cU32(crc32cU32(fs, ino), 0);
}

type AddMeta = (block: number, encode: () => Uint8Array) => void;

/**
 * Every metadata item of the plan, sorted by byte offset. Files are not items: they are
 * placed in content order by a cursor that only moves forward, so filesInContentOrder is
 * already in disk order and is merged in as the items are written (no object per file).
 */
function schedule(plan: Ext4Plan, assumeZeroed: boolean): Item[] {
  const bs = plan.geo.blockSize;
  const seed = fsSeed(plan);
  const items: Item[] = [];
  const meta: AddMeta = (block, encode) => items.push({ at: block * bs, encode });
  scheduleSuperblocks(plan, items);
  scheduleGroupTables(plan, meta, assumeZeroed, seed);
  if (plan.journalBlocks) {
    const { layout } = plan;
    meta(layout.journal.mappings[0]!.physical, () => encodeJournalSuperblock(bs, plan.journalBlocks, plan.options.uuid));
    if (layout.journal.tree) for (const n of extentTreeBlocks(layout.journal.tree)) meta(n.block!, treeBlockEncoder(n, bs, inodeSeed(seed, JOURNAL_INO)));
  }
  scheduleInodes(plan, meta, seed);
  // Stable sort keeps content order among files that tie (they never do: blocks are unique).
  return items.sort((a, b) => a.at - b.at);
}

/** Each superblock copy with the group descriptor table after it (encoded once, when first written). */
function scheduleSuperblocks(plan: Ext4Plan, items: Item[]): void {
  const { geo, layout } = plan;
  const bs = geo.blockSize;
  const journalIBlock = plan.journalBlocks ? iBlockFor(null, layout.journal).iBlock : null;
  let gdt: Uint8Array | null = null;
  for (let g = 0; g < geo.groups; g++) {
    if (!groupHasSuper(g)) continue;
    const start = groupStart(geo, g);
    // Group 0's superblock sits at byte 1024; the boot sector area before it is left alone.
    const sbOffset = g === 0 ? 1024 : start * bs;
    items.push({ at: sbOffset, encode: () => {
      gdt ??= encodeGdt(plan);
      const sb = encodeSuperblock(plan, g, journalIBlock);
      const sbArea = g === 0 && bs > 1024 ? bs - 1024 : bs;
      const out = new Uint8Array(sbArea + gdt.length);
      out.set(sb, 0);
      out.set(gdt, sbArea);
      return out;
    } });
  }
}

/** Each group's bitmaps and inode table (on a zeroed device, only the part that holds used inodes). */
function scheduleGroupTables(plan: Ext4Plan, meta: AddMeta, assumeZeroed: boolean, seed: number): void {
  const { geo, layout, catalog } = plan;
  const bs = geo.blockSize;
  // One buffer for every group's table: an item's bytes are written before the next item
  // is encoded, and a new table a group (2 MiB each, tens of them) was garbage that lived
  // until V8 next counted its external memory, the peak of a large tree's RSS.
  let scratch: Uint8Array | null = null;
  for (let g = 0; g < geo.groups; g++) {
    const m = layout.groups[g]!;
    meta(m.blockBitmap, () => blockBitmap(geo, layout.used, g));
    meta(m.inodeBitmap, () => inodeBitmap(geo, catalog.lastIno, g));
    const tableBytes = assumeZeroed ? usedInodeTableBytes(geo, catalog.lastIno, g) : geo.inodeTableBlocks * bs;
    if (tableBytes > 0) {
      meta(m.inodeTable, () => {
        scratch ??= new Uint8Array(geo.inodeTableBlocks * bs);
        const table = scratch.subarray(0, tableBytes);
        table.fill(0);
        return encodeInodeTable(plan, g, table, seed);
      });
    }
  }
}

/** Each inode's xattr block, extent-tree blocks, directory or symlink blocks (files are merged in when writing). */
function scheduleInodes(plan: Ext4Plan, meta: AddMeta, seed: number): void {
  const { layout, catalog } = plan;
  const bs = plan.geo.blockSize;
  // Directory leaves are encoded into one block, as the inode tables are (see above).
  const leafScratch = new Uint8Array(bs);
  for (let ino = 1; ino <= catalog.lastIno; ino++) {
    const node = catalog.nodes[ino];
    if (!node) continue;
    const xattrBlock = layout.inodes.xattrBlock(ino);
    const tree = layout.inodes.tree(ino);
    if (!xattrBlock && !tree && node.kind !== 'dir' && node.kind !== 'symlink') continue;
    const iseed = inodeSeed(seed, ino);
    if (xattrBlock) meta(xattrBlock, () => encodeXattrBlock(catalog.xattrInBlock.get(ino)!, xattrBlock, bs, seed));
    if (tree) for (const n of extentTreeBlocks(tree)) meta(n.block!, treeBlockEncoder(n, bs, iseed));
    if (node.kind === 'dir') {
      const dir = catalog.dirs.get(ino)!;
      const parent = ino === 2 ? 2 : catalog.parents[ino]!;
      for (const m of layout.inodes.mappings(ino)) {
        for (let i = 0; i < m.length; i++) {
          const logical = m.logical + i;
          meta(m.physical + i, () => encodeDirBlock(dir, logical, ino, parent, bs, iseed, leafScratch));
        }
      }
    } else if (node.kind === 'symlink' && layout.inodes.extentCount(ino)) {
      meta(layout.inodes.firstPhysical(ino), () => {
        const b = new Uint8Array(bs);
        b.set(byteStringToBytes(node.target));
        return b;
      });
    }
  }
}

/** Group g's inode table into `buf` (zeroed; its length is the bytes to encode). */
function encodeInodeTable(plan: Ext4Plan, g: number, buf: Uint8Array, seed: number): Uint8Array {
  const { geo, layout, catalog } = plan;
  const first = g * geo.inodesPerGroup + 1;
  const count = buf.length / geo.inodeSize;
  for (let i = 0; i < count; i++) {
    const ino = first + i;
    const off = i * geo.inodeSize;
    if (ino === JOURNAL_INO && plan.journalBlocks) {
      const jl = layout.journal;
      encodeInode({
        ino, mode: 0o100600, uid: 0, gid: 0, size: plan.journalBlocks * geo.blockSize, links: 1,
        times: { atime: t(plan), ctime: t(plan), mtime: t(plan) }, flags: EXT4_EXTENTS_FL,
        iBlock: iBlockFor(null, jl).iBlock, blocks: plan.journalBlocks + jl.treeBlocks.length, xattrBlock: 0,
      }, buf, off, geo.inodeSize, geo.blockSize, seed);
      continue;
    }
    if (!catalog.nodes[ino]) continue;
    encodeInode(inodeInputFor(catalog, ino, layout.inodes.get(ino), geo.blockSize), buf, off, geo.inodeSize, geo.blockSize, seed);
  }
  return buf;
}

function t(plan: Ext4Plan) {
  return { sec: plan.options.timestamp, nsec: 0 };
}

function encodeXattrBlock(xattrs: DiskXattr[], block: number, bs: number, seed: number): Uint8Array {
  const buf = new Uint8Array(bs);
  encodeXattrRegion(xattrs, buf, XATTR_BLOCK_HEADER.size, bs, 0);
  XATTR_BLOCK_HEADER.encode({ h_magic: XATTR_MAGIC, h_refcount: 1, h_blocks: 1, h_hash: xattrBlockHash(xattrs) }, buf, 0);
  // The checksum covers the block number (le64), then the block with h_checksum still zero.
  const c = crc32c(crc32c(seed, XATTR_BLOCK_NUMBER.encode({ block })), buf);
  XATTR_BLOCK_HEADER.set(buf, 0, 'h_checksum', c);
  return buf;
}

/** Streams one file's data runs to their blocks, zero-padding partial blocks. */
async function writeFile(out: Coalescer, content: ContentSource, cat: Catalog, ino: number, maps: Mapping[], bs: number, onBytes: (n: number) => void): Promise<void> {
  const node = cat.nodes[ino] as FileNode;
  const runs = node.dataRuns ?? [{ offset: 0, length: node.size }];
  let mi = 0;
  /** Device byte offset of file byte position p (p's block must be mapped). */
  const devOffset = (p: number): { at: number; room: number } => {
    const b = Math.floor(p / bs);
    while (mi < maps.length && maps[mi]!.logical + maps[mi]!.length <= b) mi++;
    const m: Mapping = maps[mi]!;
    const at = (m.physical + (b - m.logical)) * bs + (p % bs);
    const room = (m.logical + m.length) * bs - p; // bytes until this extent ends
    return { at, room };
  };
  let pos = 0; // file position up to which the disk blocks are filled
  const padTo = async (p: number) => {
    // Zero from pos to p, but never into a hole: only within pos's block.
    if (pos % bs === 0 || p <= pos) return;
    const end = Math.min(p, (Math.floor(pos / bs) + 1) * bs);
    const d = devOffset(pos);
    await out.zeros(d.at, end - pos);
    pos = end;
  };
  let runIdx = 0;
  let inRun = 0; // bytes of runs[runIdx] delivered
  let total = 0;
  const expected = dataLength(node);
  const where = () => entryPath(cat, ino);
  if (!node.content) throw new CorruptInputError(where(), 'file has data but no content source (source bug)');
  await content.read(node.content, async (chunk) => {
    let c = 0;
    total += chunk.length;
    if (total > expected) throw new CorruptInputError(where(), `file grew while reading (expected ${expected} bytes of data)`);
    while (c < chunk.length) {
      const run = runs[runIdx]!;
      if (inRun === 0) {
        await padTo(run.offset);
        pos = run.offset;
      }
      const p = run.offset + inRun;
      const d = devOffset(p);
      const n = Math.min(chunk.length - c, run.length - inRun, d.room);
      await out.put(d.at, chunk.subarray(c, c + n));
      c += n;
      inRun += n;
      pos = p + n;
      if (inRun === run.length) {
        runIdx++;
        inRun = 0;
      }
    }
    onBytes(chunk.length);
  });
  if (total !== expected) throw new CorruptInputError(where(), `file shrank while reading (got ${total} of ${expected} bytes)`);
  if (pos % bs) await padTo(Math.ceil(pos / bs) * bs);
}

export async function writeExt4(plan: Ext4Plan, device: BlockDevice, content: ContentSource, opts: WriteOptions = {}): Promise<void> {
  const bs = plan.geo.blockSize;
  if (device.size < plan.geo.blocksCount * bs) {
    throw new CorruptInputError('device', `is ${device.size} bytes, the plan needs ${plan.geo.blocksCount * bs}`);
  }
  const out = new Coalescer(device);
  let written = 0;
  const onBytes = (n: number) => {
    written += n;
    opts.onProgress?.(written);
  };
  const { catalog, layout } = plan;
  const items = schedule(plan, opts.assumeZeroed ?? false);
  const files = catalog.filesInContentOrder;
  const fileNode = (k: number) => catalog.nodes[files[k]!] as FileNode;
  // The device may copy file data its own way (host files into a host image, on several
  // threads); the writer writes the metadata and the files it declines.
  const copying = device.copyFiles?.(content, files.length, (k) => {
    const node = fileNode(k);
    return { ref: node.content!, size: node.size, ...fileSegments(node, layout.inodes.mappings(files[k]!), bs) };
  }, { fillZeros: !(opts.assumeZeroed ?? false) }) ?? NO_BULK_COPY;
  const own: ContentRef[] = [];
  for (let k = 0; k < files.length; k++) if (!copying.copies(k)) own.push(fileNode(k).content!);
  if (own.length) content.plan?.(own);
  // Metadata items and the writer's own files, merged by where they start.
  let k = 0;
  let lastFileAt = -1;
  const writeFilesBefore = async (at: number) => {
    for (; k < files.length; k++) {
      if (copying.copies(k)) continue;
      const ino = files[k]!;
      const fileAt = layout.inodes.firstPhysical(ino) * bs;
      if (fileAt >= at) return;
      if (fileAt <= lastFileAt) throw new Error('files are not in disk order (planner bug)');
      lastFileAt = fileAt;
      await writeFile(out, content, catalog, ino, layout.inodes.mappings(ino), bs, onBytes);
    }
  };
  for (const item of items) {
    await writeFilesBefore(item.at);
    await out.put(item.at, item.encode());
  }
  await writeFilesBefore(Infinity);
  await out.flush();
  if (copying.taken) {
    await copying.finish();
    let total = 0;
    for (let i = 0; i < files.length; i++) total += dataLength(fileNode(i));
    opts.onProgress?.(total);
  }
  // A filesystem shorter than its device: make sure the last block exists, so the image
  // file has its full size even when its tail is a hole.
  await device.flush();
}
