// `cake-img bake`: a rootfs and a kernel → a bootable disk image (raw, qcow2, VHD or VMDK), without root: an MBR
// disk with extlinux (--firmware bios), a GPT disk with an ESP and systemd-boot (uefi), or
// one GPT disk that boots either way (hybrid).
import { type DiskPlan, type Firmware, FIRMWARES, diskWrittenRanges, planDisk, writeDisk } from '../bake/disk.js';
import { parseGuid } from '../bake/gpt/guid.js';
import { findSystemdBoot } from '../host/systemd-boot.js';
import { MAX_TIME } from '../bake/ext4/inode.js';
import { formatUuid, parseSize, parseUuid } from '../bake/ext4/options.js';
import { checkCmdline } from '../bake/kernel-cmdline.js';
import { checkOutputPath } from '../host/output-file.js';
import { faultPoint } from '../host/fault.js';
import { writeImage } from '../host/image-output.js';
import { loadSource } from '../host/load-source.js';
import { CorruptInputError, InvalidOptionError, inSource, quote } from '../util/errors.js';
import { openImageFile } from '../host/image-file.js';
import { cacheDir } from '../host/cache.js';
import { initrdBytes } from './initrd.js';
import { resolveKernel } from '../host/kernel.js';
import { applyExt4Limits, applyTreeOptions, checkEpoch } from './mkfs.js';
import { bakeExt4Options, bakeStamp, diskSignature, gptIdentity } from '../bake/bake-identity.js';
import { findSyslinux } from '../host/syslinux.js';
import { chooseFormat, compresses, plannedSize } from './output-format.js';
import { optimizeFromNow } from '../host/jit-tiering.js';

export interface BakeRequest {
  rootfs: string;
  kernel: string;
  kernelModules?: string;
  modules: string[];
  options: string;
  size?: string;
  uuid?: string;
  debug?: boolean;
  busybox?: string;
  syslinux?: string;
  output: string;
  /** raw, qcow2, vhd or vmdk (default: from the output's extension, else raw). */
  format?: string;
  qcow2Compress?: boolean;
  sourceDateEpoch?: number;
  owner?: string;
  /** Container image rootfs. */
  platform?: string;
  lenient?: boolean;
  /** Replace files the rootfs has where bake puts its own (/boot/vmlinux, /boot/initrd, /boot/syslinux.cfg, /boot/ldlinux.*). */
  force?: boolean;
  /** hybrid (default: boots on BIOS and UEFI), uefi or bios (the original recipe's MBR disk). */
  firmware?: Firmware;
  /** The ESP's size (uefi, hybrid): a size or 'auto'. */
  espSize?: string;
  /** The GPT disk GUID (the partitions' GUIDs derive from it); default: derived from the inputs. */
  diskGuid?: string;
  /** `--systemd-boot PATH`. */
  systemdBoot?: string;
  /** Which step is running (and bytes written while writing the disk). */
  onPhase?: (phase: string, bytes?: number) => void;
}

export interface BakeResult {
  diskBytes: number;
  format: string;
  fileBytes: number;
  uuid: string;
  kernel: string;
  modules: string[];
  syslinux: string;
  firmware: Firmware;
  notes: string[];
  warnings: string[];
  /** Milliseconds per stage: load (read the rootfs), initrd, plan, write. */
  timings: { load: number; initrd: number; plan: number; write: number };
}

export async function bake(req: BakeRequest): Promise<BakeResult> {
  checkCmdline(req.options);
  const firmware = req.firmware ?? 'hybrid';
  if (!FIRMWARES.includes(firmware)) throw new InvalidOptionError('--firmware', `must be bios, uefi or hybrid, not ${JSON.stringify(firmware)}`);
  const espSize = req.espSize === undefined ? 'auto' : parseSize(req.espSize, '--esp-size');
  if (firmware === 'bios' && (req.espSize !== undefined || req.diskGuid !== undefined)) {
    throw new InvalidOptionError(req.espSize !== undefined ? '--esp-size' : '--disk-guid', 'is for GPT disks (--firmware uefi or hybrid)');
  }
  if (req.diskGuid !== undefined) parseGuid(req.diskGuid, '--disk-guid');
  checkEpoch(req.sourceDateEpoch, MAX_TIME, 'ext4', '2446-05-10');
  if (req.size !== undefined) parseSize(req.size);
  if (req.uuid !== undefined) parseUuid(req.uuid);
  const output = { option: '-o', inputs: [req.rootfs, req.kernel] };
  checkOutputPath(req.output, output); // before any work
  const chosen = chooseFormat(req.output, req.format, req.qcow2Compress, req.size === undefined ? 'auto' : parseSize(req.size));
  if (compresses(chosen)) optimizeFromNow(); // per-byte loops: zero scans and deflate (host/jit-tiering.ts)
  const formatNotes: string[] = [];
  const phase = req.onPhase ?? (() => {});
  phase('kernel and boot loader');
  const kernel = await resolveKernel(req.kernel, req.kernelModules, () => cacheDir());
  if (req.modules.length && !kernel.modules) {
    throw new InvalidOptionError('--kernel-modules', `--modules needs the kernel's lib/modules/<version> (the kernel ${req.kernel} came without one)`);
  }
  const syslinux = firmware === 'uefi' ? undefined : await findSyslinux({ path: req.syslinux, cacheDir: cacheDir() });
  if (firmware === 'hybrid' && !syslinux!.gptmbr) {
    throw new InvalidOptionError('--syslinux', `${syslinux!.source} has no gptmbr.bin beside mbr.bin, which a hybrid disk needs (Debian: syslinux-common)`);
  }
  const systemdBoot = firmware === 'bios' ? undefined : await findSystemdBoot({ path: req.systemdBoot, cacheDir: cacheDir() });
  // The kernel (some 8 MB) is read on libuv's thread while this one reads the rootfs.
  // An unreadable kernel is still said after a bad rootfs, as before.
  const kernelBytes = readKernel(kernel.image);
  kernelBytes.catch(() => {}); // awaited below; not when reading the rootfs fails first
  phase('reading the rootfs');
  const size = parseSize(req.size ?? 'auto');
  const t0 = performance.now();
  const loaded = await loadSource(req.rootfs, { platform: req.platform, lenient: req.lenient, sizeLimit: size === 'auto' ? undefined : size });
  faultPoint('loaded');
  try {
    applyTreeOptions(loaded, req.owner, req.sourceDateEpoch);
    applyExt4Limits(loaded, req.rootfs, req.lenient);
    // The bootable feature set (never 64bit) and identity, as the browser derives them.
    const ext4 = bakeExt4Options(loaded, { size: req.size, uuid: req.uuid, options: req.options, firmware });
    ext4.size = plannedSize(chosen.format, ext4.size, formatNotes);
    const uuid = formatUuid(ext4.uuid);
    const stamp = bakeStamp(loaded, req.sourceDateEpoch);
    phase('initramfs');
    const t1 = performance.now();
    const ird = await initrdBytes({
      busybox: req.busybox, rootfs: loaded, kernelModules: kernel.modules, modules: req.modules, rootUuid: uuid, debug: req.debug,
      sourceDateEpoch: stamp,
    }, cacheDir('initrd'));
    const signature = diskSignature(ext4.uuid);
    const kernelImage = await kernelBytes;
    const t2 = performance.now();
    let plan: DiskPlan;
    try {
      plan = planDisk({
        firmware, rootfs: loaded.tree, rootContent: loaded.content, kernel: kernelImage, kernelName: kernel.image, initrd: ird.bytes,
        syslinux, systemdBoot: systemdBoot?.efi, append: req.options, ext4, diskSignature: signature,
        gpt: firmware === 'bios' ? undefined : gptIdentity(ext4.uuid, req.diskGuid), espSize,
        time: { sec: stamp, nsec: 0 }, debug: req.debug, force: req.force,
      });
    } catch (e) {
      throw inSource(req.rootfs, e);
    }
    phase('writing the disk', 0);
    const t3 = performance.now();
    let shown = 0;
    const written = await writeImage(req.output, output, {
      ...chosen, size: plan.diskBytes, ranges: diskWrittenRanges(plan), seed: ext4.uuid, time: stamp,
    }, (dev) => writeDisk(plan, dev, {
      assumeZeroed: true,
      onProgress: (bytes) => {
        if (bytes - shown >= 4 << 20) {
          shown = bytes;
          phase('writing the disk', bytes);
        }
      },
    }));
    const timings = { load: t1 - t0, initrd: t2 - t1, plan: t3 - t2, write: performance.now() - t3 };
    const names = ird.built.loadOrder.map((p) => p.slice(p.lastIndexOf('/') + 1).replace(/\.ko.*$/, ''));
    const notes = [...ird.built.notes, ...plan.replaced.map((p) => `replaced the rootfs's ${p} (--force)`), ...formatNotes, ...written.notes];
    const loaders = [syslinux?.source, systemdBoot && `systemd-boot from ${systemdBoot.source}`].filter(Boolean).join('; ');
    return {
      diskBytes: written.virtualSize, format: written.format, fileBytes: written.fileBytes,
      uuid, kernel: kernel.image, modules: names, syslinux: loaders, firmware, notes, warnings: [...loaded.warnings, ...ird.warnings], timings,
    };
  } finally {
    await loaded.content.close();
  }
}

/**
 * The kernel's bytes, read on libuv's thread (openImageFile's reads of 1 MiB or more are):
 * fs.promises.readFile reads 512 KiB a turn of the event loop, and this thread, reading
 * the rootfs, turns it rarely.
 */
async function readKernel(file: string): Promise<Uint8Array> {
  const f = openImageFile(file, 'the kernel');
  try {
    if (f.size > MAX_KERNEL_BYTES) throw new CorruptInputError(quote(file), `is ${f.size} bytes, more than any kernel image (at most ${MAX_KERNEL_BYTES})`);
    return await f.readAt(0, f.size, new Uint8Array(f.size));
  } finally {
    f.close();
  }
}

/** Far above any kernel image (distribution kernels are 5-15 MB): a bound on what is read into memory. */
const MAX_KERNEL_BYTES = 512 << 20;
