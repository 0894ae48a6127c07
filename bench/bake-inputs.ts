// What the bake and formats benchmarks give cake-img bake: the kernel (Debian's current
// one, the tests' own, unpacked with its modules.dep), the modules, the command line and a
// disk size per tree.
import * as path from 'node:path';
import { parseSize } from '../src/bake/ext4/options.js';
import { unpackedFrom } from '../src/host/debian.js';
import { CakeError } from '../src/util/errors.js';
import { type DebianKernel, debianKernel } from '../test/helpers/debian.js';
import { isRoot, log, REPO_DIR, run } from './host.js';

export const MODULES = 'virtio_pci,virtio_blk,ext4';
export const CMDLINE = 'console=ttyS0';
export const DEFAULT_TREES = ['busybox', 'debian'];

/** Disk size per tree: the same for every tool. */
export const SIZES: Record<string, string> = { busybox: '64M', debian: '1G', synthetic: '2G' };

export interface BenchKernel extends DebianKernel {
  /** How it was made, for the report; `dir`: where it is, relative to the checkout. */
  how: string;
  deb: string;
  dir: string;
}

/**
 * The kernel every bake gets: the package linux-image-amd64 depends on, unpacked once by
 * the tests' helper (apt-get download, dpkg-deb -x, depmod -b) into .cache/test-debs. As
 * root, an `apt-get update` first when the apt lists do not know it.
 */
export async function benchKernel(): Promise<BenchKernel> {
  let k: DebianKernel;
  try {
    k = await debianKernel();
  } catch (e) {
    if (!(e instanceof CakeError) || !isRoot) throw e;
    run('apt-get', ['update', '-q']);
    k = await debianKernel();
  }
  const deb = unpackedFrom(k.root);
  log(`kernel: ${deb} in ${path.relative(REPO_DIR, k.root)}`);
  return { ...k, deb, dir: path.relative(REPO_DIR, k.root), how: `${deb} (apt-get download), dpkg-deb -x, depmod -b` };
}

/** `cake-img bake` of a tree with the benchmarks' kernel, modules and command line. */
export function bakeArgs(tree: string, kernel: DebianKernel, size: string, img: string, extra: string[] = []): string[] {
  return ['bake', '--rootfs', tree, '--kernel', kernel.root, '--modules', MODULES, '--options', CMDLINE, '--size', size, ...extra, '-o', img];
}

/** "64M" → bytes (cake-img's own --size parser). */
export const sizeBytes = (s: string): number => parseSize(s) as number;
