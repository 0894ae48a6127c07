// The page's bake: the same steps as the CLI's `cake-img bake` (src/api/bake.ts), built only
// from the core (bake, sources, tree, io, util), with every input a ByteFile (a picked
// File in the browser, a host file in tests). Same files and options → same disk bytes.
import { bakeExt4Options, bakeStamp, diskSignature } from '../src/bake/bake-identity.js';
import { type DiskPlan, planDisk, writeDisk } from '../src/bake/disk.js';
import { MAX_TIME } from '../src/bake/ext4/inode.js';
import { formatUuid, parseSize, parseUuid } from '../src/bake/ext4/options.js';
import { initrdGzip } from '../src/bake/initrd/archive.js';
import { type InitrdTree, buildInitrdTree } from '../src/bake/initrd/builder.js';
import { staticBusyboxIn } from '../src/bake/initrd/busybox.js';
import { checkCmdline } from '../src/bake/kernel-cmdline.js';
import { applyExt4Limits, applyTreeOptions, checkEpoch } from '../src/bake/tree-options.js';
import type { BlockDevice } from '../src/io/block-device.js';
import { type ByteFile, rangeOf, readAll } from '../src/io/byte-file.js';
import { compressionOf } from '../src/sources/compression.js';
import { debData, isDeb, loadDeb } from '../src/sources/deb.js';
import { loadImageArchive, sniffImageTar } from '../src/sources/oci.js';
import { ByteReader, maybeDecompress } from '../src/sources/decompress.js';
import type { LoadedTree } from '../src/sources/directory.js';
import { type KernelDeb, readKernelArchive } from '../src/sources/kernel-deb.js';
import { syslinuxFromFiles } from '../src/sources/syslinux-files.js';
import { loadTar } from '../src/sources/tar.js';
import { tarEntries } from '../src/sources/tar-entries.js';
import { withOverlay } from './overlay.js';
import { type BlockDecoder, parallelXz, xzBlocks } from './xz-blocks.js';
import { CakeError, CorruptInputError, InvalidOptionError, inSource } from '../src/util/errors.js';

export interface WebBakeRequest {
  rootfs: ByteFile;
  /** A linux-image .deb; or a bzImage and a tar of its lib/modules. */
  kernel: ByteFile[];
  /** Debian's extlinux and syslinux-common .debs, or the pieces. */
  syslinux: ByteFile[];
  /** A static busybox, or busybox-static's .deb: used when the rootfs has no static busybox of its own. */
  busybox?: ByteFile;
  modules: string[];
  options: string;
  size: string;
  uuid?: string;
  sourceDateEpoch?: number;
  owner?: string;
  lenient?: boolean;
  debug?: boolean;
  force?: boolean;
  xzDecompress?: (b: Uint8Array, limit: number) => Uint8Array | Promise<Uint8Array>;
  /** A tree laid over the rootfs (the page's lightning-fs overlay); its times become the rootfs's newest. */
  overlay?: (time: number) => Promise<LoadedTree | null>;
  /** Container image archives: the platform to take from an index (the CLI's default: linux/amd64). */
  platform?: string;
  /** Decoders of one-block xz streams (workers): a multi-block kernel package is decompressed on all of them. */
  blockDecoders?: BlockDecoder[];
  /** The step under way; bytes done of a total when known. */
  onPhase?: (phase: string, done?: number, total?: number) => void;
}

export interface WebBakePlan {
  plan: DiskPlan;
  uuid: string;
  initrd: Uint8Array;
  built: InitrdTree;
  kernel: KernelDeb;
  loaded: LoadedTree;
  busybox: string;
  syslinux: string;
  warnings: string[];
}

/** The equivalent CLI command line (what the page shows beside its result). */
export function cliCommand(r: { rootfs: string; kernel: string[]; syslinux: string[]; modules: string[]; options: string; size: string; uuid?: string; sourceDateEpoch?: number; busybox?: string }, output = 'disk.img'): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  // The page bakes the original recipe's MBR disk (extlinux); the CLI's default is the hybrid GPT disk.
  const args = ['cake-img', 'bake', '--firmware', 'bios', '--rootfs', q(r.rootfs), '--kernel', q(r.kernel[0] ?? 'KERNEL')];
  if (r.kernel[1]) args.push('--kernel-modules', q(r.kernel[1]));
  if (r.syslinux.length) args.push('--syslinux', q(r.syslinux.join(',')));
  if (r.busybox) args.push('--busybox', q(r.busybox));
  if (r.modules.length) args.push('--modules', q(r.modules.join(',')));
  args.push('--options', q(r.options), '--size', q(r.size));
  if (r.uuid) args.push('--uuid', q(r.uuid));
  args.push('-o', q(output));
  return `${r.sourceDateEpoch !== undefined ? `SOURCE_DATE_EPOCH=${r.sourceDateEpoch} ` : ''}${args.join(' ')}`;
}

/**
 * The rootfs as a tree, recognised by its bytes as the CLI's loadSource does: a docker save
 * or OCI layout archive (a plain tar of image files), a .deb, or a rootfs tarball (plain,
 * gzip, zstd, or xz with a registered decoder).
 */
export async function loadRootfs(file: ByteFile, opts: { lenient?: boolean; sizeLimit?: number; platform?: string }): Promise<LoadedTree> {
  const head = await file.read(0, 512);
  const image = { lenient: opts.lenient, platform: opts.platform ?? 'linux/amd64' };
  const kind = await sniffImageTar(file);
  if (kind) return loadImageArchive(file, image);
  if (isDeb(head)) return loadDeb(file, { lenient: opts.lenient, sizeLimit: opts.sizeLimit });
  if (head.length === 0) throw new CorruptInputError(file.label, 'source file is empty');
  const isTar = head.length >= 262 && String.fromCharCode(...head.subarray(257, 262)) === 'ustar';
  if (!compressionOf(head) && !isTar) throw new CorruptInputError(file.label, 'not a directory, container image, .deb, or tar archive (plain, gzip, xz, zstd or bzip2)');
  return loadTar(() => rangeOf(file), { label: file.label, lenient: opts.lenient, sizeLimit: opts.sizeLimit });
}

async function kernelOf(req: WebBakeRequest): Promise<KernelDeb> {
  const [k, mods] = req.kernel;
  if (!k) throw new InvalidOptionError('--kernel', 'pick a linux-image .deb, or a bzImage and a tar of its modules');
  const progress = (pass: 1 | 2, bytes: number) => req.onPhase?.(`kernel package, pass ${pass}`, bytes);
  if (isDeb(await k.read(0, 8))) {
    const d = await debData(k);
    const layout = req.blockDecoders?.length ? await xzBlocks(k, d.offset, d.offset + d.size) : null;
    const input = layout && layout.blocks.length > 1 ? { ...d, decompressed: () => parallelXz(k, layout, req.blockDecoders!, d.label) } : d;
    return readKernelArchive(input, req.modules, { xz: req.xzDecompress, onProgress: progress });
  }
  const image = await readAll(k);
  if (image.length < 0x206 || String.fromCharCode(...image.subarray(0x202, 0x206)) !== 'HdrS') throw new CorruptInputError(k.label, 'is not a Linux kernel image (no "HdrS" boot header)');
  if (!mods) {
    if (req.modules.length) throw new InvalidOptionError('--kernel-modules', `--modules needs the kernel's lib/modules/<version> (the kernel ${k.label} came without one)`);
    return { version: '', image, modules: undefined as never, depmod: undefined as never, load: [] };
  }
  return readKernelArchive({ label: mods.label, open: () => rangeOf(mods) }, req.modules, { xz: req.xzDecompress, onProgress: progress }, image);
}

/** The busybox given apart: a binary, or busybox-static's .deb (its bin/busybox). */
async function givenBusybox(file: ByteFile): Promise<Uint8Array> {
  if (!isDeb(await file.read(0, 8))) return readAll(file);
  const data = await debData(file);
  const reader = new ByteReader(maybeDecompress(data.open(), data.label));
  try {
    for await (const e of tarEntries(reader, { label: data.label })) {
      if (e.type === '0' && /^(\.\/)?(usr\/)?bin\/busybox$/.test(e.path)) {
        const b = new Uint8Array(e.dataLength);
        await reader.read(b);
        return b;
      }
    }
  } finally {
    await reader.close().catch(() => {});
  }
  throw new CorruptInputError(file.label, 'has no bin/busybox');
}

/** Everything up to the disk plan: checks, kernel, boot loader, rootfs, identity, initramfs. */
export async function planWebBake(req: WebBakeRequest): Promise<WebBakePlan> {
  const phase = req.onPhase ?? (() => {});
  checkCmdline(req.options);
  checkEpoch(req.sourceDateEpoch, MAX_TIME, 'ext4', '2446-05-10');
  const size = parseSize(req.size);
  if (req.uuid !== undefined) parseUuid(req.uuid);
  phase('kernel and boot loader');
  const kernel = await kernelOf(req);
  const syslinux = await syslinuxFromFiles(req.syslinux);
  phase('reading the rootfs');
  let loaded = await loadRootfs(req.rootfs, { lenient: req.lenient, sizeLimit: size === 'auto' ? undefined : size, platform: req.platform });
  const over = await req.overlay?.(bakeStamp(loaded, req.sourceDateEpoch));
  if (over) loaded = withOverlay(loaded, over);
  applyTreeOptions(loaded, req.owner, req.sourceDateEpoch);
  applyExt4Limits(loaded, req.rootfs.label, req.lenient);
  const ext4 = bakeExt4Options(loaded, { size: req.size, uuid: req.uuid, options: req.options });
  const uuid = formatUuid(ext4.uuid);
  const stamp = bakeStamp(loaded, req.sourceDateEpoch);
  phase('initramfs');
  const own = await staticBusyboxIn(loaded.tree, loaded.content);
  if (!own && !req.busybox) throw new InvalidOptionError('--busybox', `the rootfs has no static busybox with the applets /init needs: pick one (busybox-static's .deb or its bin/busybox)`);
  const busybox = own ? { bytes: own.bytes, label: `the rootfs's ${own.path}` } : { bytes: await givenBusybox(req.busybox!), label: req.busybox!.label };
  const built = await buildInitrdTree({
    busybox: busybox.bytes, busyboxLabel: busybox.label, names: req.modules, rootUuid: uuid, debug: req.debug ?? false,
    time: { sec: stamp, nsec: 0 }, xzDecompress: req.xzDecompress,
    modules: kernel.version ? { fs: kernel.modules, label: `${req.kernel[0]!.label}: lib/modules/${kernel.version}`, version: kernel.version } : undefined,
  });
  const initrd = await initrdGzip(built);
  phase('planning');
  let plan: DiskPlan;
  try {
    plan = planDisk({
      rootfs: loaded.tree, rootContent: loaded.content, kernel: kernel.image, initrd, syslinux, append: req.options, ext4,
      diskSignature: diskSignature(ext4.uuid), time: { sec: stamp, nsec: 0 }, force: req.force,
    });
  } catch (e) {
    throw inSource(req.rootfs.label, e);
  }
  return { plan, uuid, initrd, built, kernel, loaded, busybox: busybox.label, syslinux: syslinux.source, warnings: loaded.warnings };
}

/** Writes the planned disk; `signal` stops it between writes (the device is left as it is). */
export async function writeWebBake(p: WebBakePlan, dev: BlockDevice, opts: { signal?: AbortSignal; onProgress?: (written: number) => void } = {}): Promise<void> {
  try {
    await writeDisk(p.plan, dev, {
      assumeZeroed: true,
      onProgress: (n) => {
        if (opts.signal?.aborted) throw new CakeError('ECANCELED', 'write', 'cancelled');
        opts.onProgress?.(n);
      },
    });
  } finally {
    await p.loaded.content.close();
  }
}

/** The one line the CLI prints for an error (`cake-img: error: ...`), for the page to show. */
export function errorLine(e: unknown): string {
  if (e instanceof CakeError) return `cake-img: error: ${e.message}`;
  return `cake-img: internal error: ${e instanceof Error ? e.message : String(e)}`;
}
