// Debian packages for tests, fetched rootless with the product's own fetch (apt-get
// download, dpkg-deb -x, renamed into place when whole) into a cache in the checkout.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { debianPackage, resolveDependency } from '../../src/host/debian.js';
import { depmod } from '../../src/host/kernel.js';

const CACHE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.cache/test-debs');

export interface DebianKernel {
  root: string;
  version: string;
  vmlinuz: string;
  modules: string;
  /** The package name (for tests that download the .deb itself). */
  pkg: string;
}

/** Debian's current kernel, unpacked, with modules.dep made by cake-img's depmod (a package has none). */
export async function debianKernel(): Promise<DebianKernel> {
  const pkg = await resolveDependency('linux-image-amd64', 'linux-image-');
  // depmod runs on the private tree before it is renamed into place.
  const root = await debianPackage(pkg, CACHE, (tree) => depmod(tree, fs.readdirSync(path.join(tree, 'lib/modules'))[0]!, pkg));
  const version = fs.readdirSync(path.join(root, 'lib/modules'))[0]!;
  return { root, version, vmlinuz: path.join(root, 'boot', `vmlinuz-${version}`), modules: path.join(root, 'lib/modules', version), pkg };
}

/** A package unpacked into the test cache (no preparation). */
export function testPackage(name: string): Promise<string> {
  return debianPackage(name, CACHE);
}
