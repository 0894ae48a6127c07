// Disk assembly: the rootfs plus /boot (kernel, initrd, syslinux.cfg, ldlinux.*), an ext4
// partition at LBA 2048, the MBR, and extlinux installed by patching: the ext4 plan knows
// every block of /boot/ldlinux.sys, so its sector list comes from the plan, not a
// read-back. Planning is pure; writing goes through a BlockDevice.
import { type ContentSource, OverlayContent } from '../io/content-source.js';
import { type BlockDevice, subDevice } from '../io/block-device.js';
import { type ByteRange, composeRanges } from '../io/byte-ranges.js';
import { type DirNode, type FileNode, type FsTree, type Timestamp, newDir } from '../tree/node.js';
import { CorruptInputError, DoesNotFitError, suggestSize } from '../util/errors.js';
import { type Ext4Plan, planExt4 } from './ext4/planner.js';
import { writeExt4, type WriteOptions } from './ext4/writer.js';
import { ext4WrittenRanges } from './ext4/written-ranges.js';
import type { Ext4Options } from './ext4/options.js';
import { installExtlinux } from './extlinux/install.js';
import { checkCmdline } from './kernel-cmdline.js';
import { PARTITION_START, SECTOR, encodeMbr, planMbr } from './mbr/mbr.js';

export interface SyslinuxPieces {
  bootSector: Uint8Array;
  ldlinuxSys: Uint8Array;
  ldlinuxC32: Uint8Array;
  mbr: Uint8Array;
}

export interface DiskRequest {
  rootfs: FsTree;
  rootContent: ContentSource;
  kernel: Uint8Array;
  initrd: Uint8Array;
  syslinux: SyslinuxPieces;
  /** Kernel command line. */
  append: string;
  /** ext4 options; `size` is the whole disk's size (or 'auto'). */
  ext4: Ext4Options;
  diskSignature: number;
  time: Timestamp;
  /** Replace files the rootfs already has where bake puts its own (/boot/vmlinux, ...); else that is an error. */
  force?: boolean;
}

export interface DiskPlan {
  diskBytes: number;
  mbr: Uint8Array;
  vbr: Uint8Array;
  fs: Ext4Plan;
  content: ContentSource;
  /** Entries of the rootfs's /boot that bake's own files replaced (with `force`). */
  replaced: string[];
}

/** The files bake puts in /boot. */
export const BOOT_FILES = ['vmlinux', 'initrd', 'syslinux.cfg', 'ldlinux.c32', 'ldlinux.sys'];

const FS_OFFSET = PARTITION_START * SECTOR;
const ADV_BYTES = 1024;

/** syslinux.cfg: the original recipe's, plus a serial line when the kernel logs to ttyS*. */
export function syslinuxConfig(append: string): string {
  checkCmdline(append);
  const serial = /(?:^|\s)console=ttyS(\d+)(?:,(\d+))?/.exec(append);
  return [
    ...(serial ? [`SERIAL ${serial[1]} ${serial[2] ?? 115200}`] : []),
    'DEFAULT linux',
    'LABEL linux',
    '  LINUX /boot/vmlinux',
    '  INITRD /boot/initrd',
    `  APPEND ${append}`,
    '',
  ].join('\n');
}

export function planDisk(r: DiskRequest): DiskPlan {
  const content = new OverlayContent(r.rootContent);
  const boot = content.extra;
  const t = r.time;
  const file = (data: Uint8Array, perm: number, attributes?: FileNode['attributes']): FileNode => ({
    kind: 'file', perm, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size: data.length,
    content: data.length ? boot.add(data) : null, attributes,
  });
  const sysLen = r.syslinux.ldlinuxSys.length + ADV_BYTES;
  const ldlinuxSys = file(new Uint8Array(sysLen), 0o444, { immutable: true });

  // The rootfs with /boot added (a copy of the root's entry map: the caller's tree is left as it was).
  const root: DirNode = { ...r.rootfs.root, entries: new Map(r.rootfs.root.entries) };
  const existing = root.entries.get('boot');
  if (existing && existing.kind !== 'dir') throw new CorruptInputError('/boot', 'exists in the rootfs but is not a directory');
  const bootDir: DirNode = existing ? { ...existing, entries: new Map(existing.entries) } : newDir(0o755, 0, 0, t);
  const replaced = BOOT_FILES.filter((n) => bootDir.entries.has(n)).map((n) => `/boot/${n}`);
  if (replaced.length && !r.force) {
    throw new CorruptInputError(replaced.join(', '), `${replaced.length === 1 ? 'is' : 'are'} in the rootfs already, where bake puts its own boot files; remove ${replaced.length === 1 ? 'it' : 'them'} from the tree, or pass --force to replace ${replaced.length === 1 ? 'it' : 'them'}`);
  }
  root.entries.set('boot', bootDir);
  bootDir.entries.set('vmlinux', file(r.kernel, 0o644));
  bootDir.entries.set('initrd', file(r.initrd, 0o644));
  bootDir.entries.set('syslinux.cfg', file(new TextEncoder().encode(syslinuxConfig(r.append)), 0o644));
  bootDir.entries.set('ldlinux.c32', file(r.syslinux.ldlinuxC32, 0o444));
  bootDir.entries.set('ldlinux.sys', ldlinuxSys);
  const tree: FsTree = { root };

  // The filesystem fills the partition: the disk size less the 1 MiB before LBA 2048.
  const fsSize = r.ext4.size === 'auto' ? 'auto' : r.ext4.size - FS_OFFSET;
  let fs: Ext4Plan;
  try {
    if (fsSize !== 'auto' && fsSize < 64 * r.ext4.blockSize) throw new DoesNotFitError('the tree', 64 * r.ext4.blockSize, Math.max(0, fsSize));
    fs = planExt4(tree, { ...r.ext4, size: fsSize });
  } catch (e) {
    // The partition starts at 1 MiB: what the disk needs, and the advice, count that too.
    if (e instanceof DoesNotFitError && r.ext4.size !== 'auto') {
      const need = e.neededBytes + FS_OFFSET;
      throw new DoesNotFitError('the disk (1 MiB before the partition, the rootfs and /boot)', need, r.ext4.size, `use --size ${suggestSize(need)} or --size auto`);
    }
    throw e;
  }
  const diskBytes = FS_OFFSET + fs.geo.blocksCount * fs.geo.blockSize;
  const mbr = encodeMbr(planMbr(diskBytes, r.syslinux.mbr, r.diskSignature));

  // ldlinux.sys's sectors, from the plan.
  const entry = fs.catalog.entries.find((e) => e?.node === ldlinuxSys)!;
  const maps = fs.layout.inodes[entry.ino]!.mappings;
  const per = fs.geo.blockSize / SECTOR;
  const sectors: number[] = [];
  for (const m of maps) for (let b = 0; b < m.length; b++) for (let k = 0; k < per; k++) sectors.push((m.physical + b) * per + k);
  const installed = installExtlinux({
    bootSector: r.syslinux.bootSector, ldlinuxSys: r.syslinux.ldlinuxSys, sectors: sectors.slice(0, sysLen / SECTOR),
    partitionStart: PARTITION_START, partitionSectors: diskBytes / SECTOR - PARTITION_START, directory: '/boot',
  });
  boot.replace(ldlinuxSys.content!, installed.file);
  return { diskBytes, mbr, vbr: installed.vbr, fs, content, replaced };
}

/** Writes a planned disk: MBR, the filesystem at 1 MiB, then the boot sector over its first 512 bytes. */
export async function writeDisk(p: DiskPlan, dev: BlockDevice, opts: WriteOptions = {}): Promise<void> {
  await dev.writeAt(0, p.mbr);
  const part = subDevice(dev, FS_OFFSET, p.diskBytes - FS_OFFSET);
  await writeExt4(p.fs, part, p.content, opts);
  await part.writeAt(0, p.vbr);
  await dev.flush();
}

/**
 * The byte ranges writeDisk may write non-zero, from the plan (what qcow2 and VMDK size
 * their tables from): one part per partition table sector and per partition (its boot
 * sector and its filesystem's ranges), shifted to where each lives.
 */
export function diskWrittenRanges(p: DiskPlan): ByteRange[] {
  return composeRanges([
    { offset: 0, ranges: [{ start: 0, end: SECTOR }] },
    { offset: FS_OFFSET, ranges: [{ start: 0, end: p.vbr.length }, ...ext4WrittenRanges(p.fs)] },
  ]);
}
