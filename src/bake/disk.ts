// Disk assembly, for three firmwares (planning is pure; writing goes through a BlockDevice):
// - bios: the original recipe's MBR disk. syslinux's mbr.bin, one active Linux partition
//   from LBA 2048 holding ext4 with /boot (kernel, initrd, syslinux.cfg, ldlinux.*), and
//   extlinux installed by patching: the ext4 plan knows every block of /boot/ldlinux.sys,
//   so its sector list comes from the plan, not a read-back.
// - uefi: GPT; an EFI system partition (FAT, written by us) with systemd-boot, its loader
//   entry, the kernel and the initrd; then the ext4 root, untouched by boot files.
// - hybrid: the uefi disk, plus gptmbr.bin in the protective MBR, the root partition
//   marked legacy-BIOS-bootable (which gptmbr.bin looks for) and extlinux on the root as
//   for bios: one file that boots on SeaBIOS and on OVMF.
import { type ContentSource, OverlayContent } from '../io/content-source.js';
import { type BlockDevice, subDevice } from '../io/block-device.js';
import { type ByteRange, composeRanges } from '../io/byte-ranges.js';
import type { FsTree, Timestamp } from '../tree/node.js';
import { DoesNotFitError, InvalidOptionError, suggestSize } from '../util/errors.js';
import { type Ext4Plan, planExt4 } from './ext4/planner.js';
import { writeExt4, type WriteOptions } from './ext4/writer.js';
import { ext4WrittenRanges } from './ext4/written-ranges.js';
import type { Ext4Options } from './ext4/options.js';
import { addBootDir, fileSectors } from './extlinux-boot.js';
import { installExtlinux } from './extlinux/install.js';
import { type FatPlan, planFat } from './fat/planner.js';
import { writeFat } from './fat/writer.js';
import { BACKUP_SECTORS, type GptPartition, encodeGpt, lastUsable, planGpt } from './gpt/gpt.js';
import { PARTITION_TYPE } from './gpt/guid.js';
import { PARTITION_START, encodeMbr, planMbr } from './mbr/mbr.js';
import { MIB, SECTOR } from './sector.js';
import { espTree } from './uefi/esp-tree.js';

export { BOOT_FILES, syslinuxConfig } from './extlinux-boot.js';

import { FIRMWARES, type Firmware } from './firmware.js';

export { FIRMWARES, type Firmware };

export interface SyslinuxPieces {
  bootSector: Uint8Array;
  ldlinuxSys: Uint8Array;
  ldlinuxC32: Uint8Array;
  mbr: Uint8Array;
  /** gptmbr.bin: needed for hybrid disks. */
  gptmbr?: Uint8Array;
}

export interface GptIdentity {
  disk: string;
  esp: string;
  root: string;
}

export interface DiskRequest {
  /** Default bios. */
  firmware?: Firmware;
  rootfs: FsTree;
  rootContent: ContentSource;
  kernel: Uint8Array;
  initrd: Uint8Array;
  /** Needed for bios and hybrid. */
  syslinux?: SyslinuxPieces;
  /** systemd-bootx64.efi: needed for uefi and hybrid. */
  systemdBoot?: Uint8Array;
  /** Kernel command line. */
  append: string;
  /** ext4 options; `size` is the whole disk's size (or 'auto'). */
  ext4: Ext4Options;
  /** MBR disk signature (bios). */
  diskSignature: number;
  /** GPT disk and partition GUIDs (uefi, hybrid). */
  gpt?: GptIdentity;
  /** ESP size in bytes, or 'auto' (what its files need, with room, at least the FAT minimum). */
  espSize?: number | 'auto';
  time: Timestamp;
  /** Show the boot menu (systemd-boot) for a few seconds. */
  debug?: boolean;
  /** Replace files the rootfs already has where bake puts its own (/boot/vmlinux, ...); else that is an error. */
  force?: boolean;
  /** Names for messages. */
  kernelName?: string;
}

/** A partition's place and its filesystem. */
export interface PlannedRoot {
  offset: number;
  fs: Ext4Plan;
  content: ContentSource;
  /** The extlinux boot sector for the partition's first sector (bios, hybrid). */
  vbr?: Uint8Array;
}

export interface PlannedEsp {
  offset: number;
  fs: FatPlan;
  content: ContentSource;
}

export interface DiskPlan {
  firmware: Firmware;
  diskBytes: number;
  /** Written at offset 0: the MBR sector (bios), or protective MBR + GPT header + entries. */
  head: Uint8Array;
  /** The backup GPT (uefi, hybrid). */
  tail?: { offset: number; bytes: Uint8Array };
  esp?: PlannedEsp;
  root: PlannedRoot;
  /** Entries of the rootfs's /boot that bake's own files replaced (with `force`). */
  replaced: string[];
}

const ALIGN = MIB / SECTOR;
const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

export function planDisk(r: DiskRequest): DiskPlan {
  const firmware = r.firmware ?? 'bios';
  if (!FIRMWARES.includes(firmware)) throw new InvalidOptionError('--firmware', `must be bios, uefi or hybrid, not ${JSON.stringify(firmware)}`);
  return firmware === 'bios' ? planBiosDisk(r) : planGptDisk(r, firmware);
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new InvalidOptionError('--firmware', `this disk needs ${what}`);
  return v;
}

/** The ext4 root with /boot for extlinux, or the rootfs as it is. */
function rootTree(r: DiskRequest, withExtlinux: boolean) {
  const content = new OverlayContent(r.rootContent);
  if (!withExtlinux) return { tree: r.rootfs, content, boot: undefined, replaced: [] as string[] };
  const s = need(r.syslinux, 'syslinux (ldlinux.sys, ldlinux.c32)');
  const boot = addBootDir({ rootfs: r.rootfs, kernel: r.kernel, initrd: r.initrd, ldlinuxSys: s.ldlinuxSys, ldlinuxC32: s.ldlinuxC32, append: r.append, time: r.time, force: r.force }, content.extra);
  return { tree: boot.tree, content, boot, replaced: boot.replaced };
}

/** Plans the root filesystem for a partition of `bytes` (or 'auto'); a does-not-fit error counts the whole disk. */
function planRoot(r: DiskRequest, tree: FsTree, bytes: number | 'auto', overhead: number, what: string): Ext4Plan {
  try {
    if (bytes !== 'auto' && bytes < 64 * r.ext4.blockSize) throw new DoesNotFitError('the tree', 64 * r.ext4.blockSize, Math.max(0, bytes));
    return planExt4(tree, { ...r.ext4, size: bytes });
  } catch (e) {
    if (e instanceof DoesNotFitError && r.ext4.size !== 'auto') {
      const needed = e.neededBytes + overhead;
      throw new DoesNotFitError(what, needed, r.ext4.size, `use --size ${suggestSize(needed)} or --size auto`);
    }
    throw e;
  }
}

function installOnRoot(r: DiskRequest, fs: Ext4Plan, boot: NonNullable<ReturnType<typeof rootTree>['boot']>, content: OverlayContent, start: number, sectors: number): Uint8Array {
  const s = r.syslinux!;
  const sysLen = boot.ldlinuxSys.size;
  const installed = installExtlinux({
    bootSector: s.bootSector, ldlinuxSys: s.ldlinuxSys, sectors: fileSectors(fs, boot.ldlinuxSys, sysLen / SECTOR),
    partitionStart: start, partitionSectors: sectors, directory: '/boot',
  });
  content.extra.replace(boot.ldlinuxSys.content!, installed.file);
  return installed.vbr;
}

function planBiosDisk(r: DiskRequest): DiskPlan {
  const s = need(r.syslinux, 'syslinux');
  const { tree, content, boot, replaced } = rootTree(r, true);
  const fsOffset = PARTITION_START * SECTOR;
  // The filesystem fills the partition: the disk size less the 1 MiB before LBA 2048.
  const fs = planRoot(r, tree, r.ext4.size === 'auto' ? 'auto' : r.ext4.size - fsOffset, fsOffset, 'the disk (1 MiB before the partition, the rootfs and /boot)');
  const diskBytes = fsOffset + fs.geo.blocksCount * fs.geo.blockSize;
  const head = encodeMbr(planMbr(diskBytes, s.mbr, r.diskSignature));
  const vbr = installOnRoot(r, fs, boot!, content, PARTITION_START, diskBytes / SECTOR - PARTITION_START);
  return { firmware: 'bios', diskBytes, head, root: { offset: fsOffset, fs, content, vbr }, replaced };
}

function planGptDisk(r: DiskRequest, firmware: 'uefi' | 'hybrid'): DiskPlan {
  const ids = need(r.gpt, 'GPT GUIDs');
  const hybrid = firmware === 'hybrid';
  const gptmbr = hybrid ? need(r.syslinux?.gptmbr, 'gptmbr.bin (syslinux-common) for its protective MBR') : undefined;
  // The ESP first (LBA 2048), the root after it up to the backup GPT.
  const espStart = PARTITION_START;
  const espFiles = espTree({ loader: need(r.systemdBoot, 'systemd-boot'), kernel: r.kernel, initrd: r.initrd, append: r.append, time: r.time, debug: r.debug, kernelName: r.kernelName });
  const espFs = planEsp(espFiles.tree, r.espSize ?? 'auto', volumeIdOf(ids.esp), espStart, r.time.sec);
  const espSectors = roundUp(espFs.sizeBytes / SECTOR, ALIGN);
  const rootStart = espStart + espSectors;
  const { tree, content, boot, replaced } = rootTree(r, hybrid);
  const before = rootStart * SECTOR, after = BACKUP_SECTORS * SECTOR;
  const what = `the disk (1 MiB, the ${espSectors / ALIGN} MiB ESP, the rootfs${hybrid ? ' and /boot' : ''}, and the backup GPT)`;
  const fsBytes = r.ext4.size === 'auto' ? 'auto' : r.ext4.size - before - after;
  const fs = planRoot(r, tree, fsBytes, before + after, what);
  const diskBytes = r.ext4.size === 'auto' ? roundUp(before + fs.geo.blocksCount * fs.geo.blockSize + after, MIB) : r.ext4.size;
  const sectors = diskBytes / SECTOR;
  const rootLast = lastUsable(sectors);
  const partitions: GptPartition[] = [
    { type: PARTITION_TYPE.esp, guid: ids.esp, name: 'esp', first: espStart, last: rootStart - 1 },
    { type: PARTITION_TYPE.rootX86_64, guid: ids.root, name: 'root-x86-64', first: rootStart, last: rootLast, attributes: hybrid ? [2] : [] },
  ];
  const gpt = encodeGpt(planGpt({ sectors, diskGuid: ids.disk, partitions, bootCode: gptmbr }));
  const vbr = hybrid ? installOnRoot(r, fs, boot!, content, rootStart, rootLast - rootStart + 1) : undefined;
  return {
    firmware, diskBytes, head: gpt.head, tail: { offset: gpt.tailOffset, bytes: gpt.tail },
    esp: { offset: espStart * SECTOR, fs: espFs, content: espFiles.content },
    root: { offset: before, fs, content, vbr }, replaced,
  };
}

/** The ESP's FAT; its size errors speak of --esp-size and the ESP, not the disk. */
function planEsp(tree: FsTree, size: number | 'auto', volumeId: number, start: number, epoch: number): FatPlan {
  try {
    return planFat(tree, { size, label: 'ESP', volumeId, hiddenSectors: start, epoch });
  } catch (e) {
    if (e instanceof DoesNotFitError) {
      throw new DoesNotFitError('the EFI system partition (systemd-boot, its entry, the kernel and the initrd)', e.neededBytes, e.availableBytes, `use --esp-size ${suggestSize(e.neededBytes)} or --esp-size auto`);
    }
    if (e instanceof InvalidOptionError && e.data.option === '--size') {
      throw new InvalidOptionError('--esp-size', e.message.replace(/^--size: /, ''));
    }
    throw e;
  }
}

/** The FAT volume id: the first 32 bits of the ESP's partition GUID, as systemd-repart does. */
function volumeIdOf(guid: string): number {
  return parseInt(guid.slice(0, 8), 16) >>> 0;
}

/** Writes a planned disk in ascending order: the table, the ESP, the root, its boot sector, the backup table. */
export async function writeDisk(p: DiskPlan, dev: BlockDevice, opts: WriteOptions = {}): Promise<void> {
  await dev.writeAt(0, p.head);
  if (p.esp) await writeFat(p.esp.fs, subDevice(dev, p.esp.offset, p.esp.fs.sizeBytes), p.esp.content);
  const rootBytes = p.root.fs.geo.blocksCount * p.root.fs.geo.blockSize;
  const part = subDevice(dev, p.root.offset, rootBytes);
  await writeExt4(p.root.fs, part, p.root.content, opts);
  if (p.root.vbr) await part.writeAt(0, p.root.vbr);
  if (p.tail) await dev.writeAt(p.tail.offset, p.tail.bytes);
  await dev.flush();
}

/**
 * The byte ranges writeDisk may write non-zero, from the plan (what qcow2 and VMDK size
 * their tables from): the partition table sectors, each partition (the ESP whole, for its
 * FAT is small and mostly its files; the root's boot sector and its filesystem's ranges),
 * shifted to where each lives.
 */
export function diskWrittenRanges(p: DiskPlan): ByteRange[] {
  const parts = [{ offset: 0, ranges: [{ start: 0, end: p.head.length }] }];
  if (p.esp) parts.push({ offset: p.esp.offset, ranges: [{ start: 0, end: p.esp.fs.sizeBytes }] });
  parts.push({ offset: p.root.offset, ranges: [...(p.root.vbr ? [{ start: 0, end: p.root.vbr.length }] : []), ...ext4WrittenRanges(p.root.fs)] });
  if (p.tail) parts.push({ offset: p.tail.offset, ranges: [{ start: 0, end: p.tail.bytes.length }] });
  return composeRanges(parts);
}
