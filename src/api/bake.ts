// `cake-img bake`: a rootfs and a kernel → a bootable disk image (raw, qcow2, VHD or VMDK), without root.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { type DiskPlan, diskWrittenRanges, planDisk, writeDisk } from '../bake/disk.js';
import { MAX_TIME } from '../bake/ext4/inode.js';
import { formatUuid, parseSize, parseUuid } from '../bake/ext4/options.js';
import { checkCmdline } from '../bake/kernel-cmdline.js';
import { checkOutputPath } from '../host/output-file.js';
import { faultPoint } from '../host/fault.js';
import { writeImage } from '../host/image-output.js';
import { loadSource, unreadable } from '../host/load-source.js';
import { InvalidOptionError, inSource } from '../util/errors.js';
import type { DirNode } from '../tree/node.js';
import { forEachNode } from '../tree/transforms.js';
import { cacheDir } from '../host/cache.js';
import { initrdBytes } from './initrd.js';
import { resolveKernel } from '../host/kernel.js';
import { applyExt4Limits, applyTreeOptions, checkEpoch, resolveExt4Options } from './mkfs.js';
import { findSyslinux } from '../host/syslinux.js';
import { chooseFormat, plannedSize } from './output-format.js';

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
  notes: string[];
  warnings: string[];
}

/** The newest mtime in a tree (never before 1970). */
function newestTime(root: DirNode): number {
  let newest = 0;
  forEachNode(root, (n) => {
    if (n.mtime.sec > newest) newest = n.mtime.sec;
  });
  return newest;
}

export async function bake(req: BakeRequest): Promise<BakeResult> {
  checkCmdline(req.options);
  checkEpoch(req.sourceDateEpoch, MAX_TIME, 'ext4', '2446-05-10');
  if (req.size !== undefined) parseSize(req.size);
  if (req.uuid !== undefined) parseUuid(req.uuid);
  const output = { option: '-o', inputs: [req.rootfs, req.kernel] };
  checkOutputPath(req.output, output); // before any work
  const chosen = chooseFormat(req.output, req.format, req.qcow2Compress, req.size === undefined ? 'auto' : parseSize(req.size));
  const formatNotes: string[] = [];
  const phase = req.onPhase ?? (() => {});
  phase('kernel and boot loader');
  const kernel = await resolveKernel(req.kernel, req.kernelModules, () => cacheDir());
  if (req.modules.length && !kernel.modules) {
    throw new InvalidOptionError('--kernel-modules', `--modules needs the kernel's lib/modules/<version> (the kernel ${req.kernel} came without one)`);
  }
  const syslinux = await findSyslinux({ path: req.syslinux, cacheDir: cacheDir() });
  phase('reading the rootfs');
  const size = parseSize(req.size ?? 'auto');
  const loaded = await loadSource(req.rootfs, { platform: req.platform, lenient: req.lenient, sizeLimit: size === 'auto' ? undefined : size });
  faultPoint('loaded');
  try {
    applyTreeOptions(loaded, req.owner, req.sourceDateEpoch);
    applyExt4Limits(loaded, req.rootfs, req.lenient);
    // The bootable feature set: whatever the defaults say, never 64bit (syslinux 6.03).
    const ext4 = resolveExt4Options({ size: req.size, uuid: req.uuid, label: 'root' }, loaded, `bake\0${req.options}`);
    ext4.features = { ...ext4.features, bit64: false };
    ext4.size = plannedSize(chosen.format, ext4.size, formatNotes);
    const uuid = formatUuid(ext4.uuid);
    // The files bake adds are dated SOURCE_DATE_EPOCH, else the rootfs's newest time:
    // as reproducible as 0, and it does not show /boot as made in 1970.
    const stamp = req.sourceDateEpoch ?? newestTime(loaded.tree.root);
    phase('initramfs');
    const ird = await initrdBytes({
      busybox: req.busybox, kernelModules: kernel.modules, modules: req.modules, rootUuid: uuid, debug: req.debug,
      sourceDateEpoch: stamp,
    }, cacheDir('initrd'));
    const signature = createHash('sha256').update(ext4.uuid).update('mbr disk signature').digest().readUInt32LE(0);
    let plan: DiskPlan;
    try {
      plan = planDisk({
        rootfs: loaded.tree, rootContent: loaded.content, kernel: readKernel(kernel.image), initrd: ird.bytes,
        syslinux, append: req.options, ext4, diskSignature: signature, time: { sec: stamp, nsec: 0 }, force: req.force,
      });
    } catch (e) {
      throw inSource(req.rootfs, e);
    }
    phase('writing the disk', 0);
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
    const names = ird.built.loadOrder.map((p) => p.slice(p.lastIndexOf('/') + 1).replace(/\.ko.*$/, ''));
    const notes = [...ird.built.notes, ...plan.replaced.map((p) => `replaced the rootfs's ${p} (--force)`), ...formatNotes, ...written.notes];
    return { diskBytes: written.virtualSize, format: written.format, fileBytes: written.fileBytes, uuid, kernel: kernel.image, modules: names, syslinux: syslinux.source, notes, warnings: [...loaded.warnings, ...ird.warnings] };
  } finally {
    await loaded.content.close();
  }
}

function readKernel(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw unreadable(file, e, 'the kernel');
  }
}
