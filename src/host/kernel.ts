// What `--kernel` may name: a bzImage/vmlinuz file (modules from --kernel-modules), a
// directory holding boot/vmlinuz-* and lib/modules/* (an unpacked kernel package or a
// cooked rootfs), or a linux-image-*.deb (unpacked into the cache; modules.dep made by
// cake-img's own depmod, bake/initrd/depmod.ts, since a package has none: the browser
// makes the same files from the same package, and the host needs no kmod).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CakeError, CorruptInputError, InvalidOptionError } from '../util/errors.js';
import { isDeb } from '../sources/compression.js';
import { unreadable } from './load-source.js';
import { NodeSourceFs } from './node-source-fs.js';

export interface KernelInput {
  image: string;
  /** lib/modules/<version>, when known. */
  modules?: string;
  version?: string;
}

/** `n` bytes of `file` at `offset` (fewer at its end). */
function readAt(file: string, offset: number, n: number): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw unreadable(file, e, 'the kernel');
  }
  try {
    const b = new Uint8Array(n);
    return b.subarray(0, fs.readSync(fd, b, 0, n, offset));
  } finally {
    fs.closeSync(fd);
  }
}

/** Linux x86 boot images carry "HdrS" at 0x202. */
export function isBzImage(file: string): boolean {
  return Buffer.from(readAt(file, 0x202, 4)).toString('latin1') === 'HdrS';
}

async function fromDirectory(dir: string, label: string): Promise<KernelInput> {
  const bootDir = path.join(dir, 'boot');
  const images = fs.existsSync(bootDir) ? fs.readdirSync(bootDir).filter((f) => /^vmlinuz-/.test(f)).sort() : [];
  if (!images.length) throw new CorruptInputError(label, 'has no boot/vmlinuz-* (expected a kernel file, a directory with boot/ and lib/modules/, or a linux-image .deb)');
  const modRoot = path.join(dir, 'lib/modules');
  const versions = fs.existsSync(modRoot) ? fs.readdirSync(modRoot) : [];
  // Prefer the newest image whose modules are present.
  const pick = [...images].reverse().find((f) => versions.includes(f.slice('vmlinuz-'.length))) ?? images[images.length - 1]!;
  const version = pick.slice('vmlinuz-'.length);
  const modules = versions.includes(version) ? path.join(modRoot, version) : undefined;
  if (modules && !fs.existsSync(path.join(modules, 'modules.dep'))) await depmod(dir, version, label);
  return { image: path.join(bootDir, pick), modules, version };
}

/** Writes modules.dep, modules.softdep and modules.alias for ROOT/lib/modules/VERSION (what `depmod -b ROOT VERSION` writes of them). */
export async function depmod(root: string, version: string, label: string): Promise<void> {
  const dir = path.join(root, 'lib/modules', version);
  // Loaded here, not with the module: a kernel that has its modules.dep needs no indexer.
  const [{ depmodSourceFs }, { nodeXz }] = await Promise.all([import('../bake/initrd/depmod-fs.js'), import('./host-decoders.js')]);
  let out;
  try {
    out = await depmodSourceFs(new NodeSourceFs(dir, { xattrs: false }), dir, nodeXz());
  } catch (e) {
    throw e instanceof CakeError ? e : new CakeError('ECORRUPT', 'source', `${label}: cannot index its modules: ${(e as Error).message}`);
  }
  for (const [name, text] of Object.entries(out)) fs.writeFileSync(path.join(dir, name), text);
}

export async function resolveKernel(kernel: string, kernelModules: string | undefined, cache: () => string): Promise<KernelInput> {
  if (!fs.existsSync(kernel)) throw new CorruptInputError(kernel, 'no such kernel (a bzImage, a directory with boot/vmlinuz-*, or a linux-image .deb)');
  const st = fs.statSync(kernel);
  if (st.isDirectory()) {
    const k = await fromDirectory(kernel, kernel);
    return kernelModules ? { ...k, modules: kernelModules } : k;
  }
  if (isDeb(readAt(kernel, 0, 8))) {
    const digest = createHash('sha256').update(fs.readFileSync(kernel)).digest('hex').slice(0, 16);
    // "-d2": unpacked trees indexed by the host's depmod before are not reused.
    const { unpackDeb } = await import('./debian.js');
    const dest = await unpackDeb(kernel, path.join(cache(), 'kernels', `${path.basename(kernel, '.deb')}-${digest}-d2`));
    const k = await fromDirectory(dest, kernel);
    return kernelModules ? { ...k, modules: kernelModules } : k;
  }
  if (!isBzImage(kernel)) throw new CorruptInputError(kernel, 'is not a Linux kernel image (no "HdrS" boot header)');
  if (kernelModules && !fs.existsSync(kernelModules)) throw new InvalidOptionError('--kernel-modules', `${kernelModules} does not exist`);
  return { image: kernel, modules: kernelModules, version: kernelModules ? path.basename(kernelModules) : undefined };
}

/**
 * A kernel from Debian's packages, rootless: a meta package (linux-image-amd64) resolves to
 * the kernel it depends on; the package is fetched with apt-get download, unpacked into the
 * cache and given a modules.dep. Returns the unpacked root (boot/ and lib/modules/) and an
 * identity naming the exact package file.
 */
export async function debianKernel(name: string, cache: string): Promise<{ root: string; identity: string }> {
  const { debRef, debianPackage, resolveDependency } = await import('./debian.js');
  let pkg = name;
  try {
    pkg = await resolveDependency(name, 'linux-image-');
  } catch {
    /* not a meta package: the kernel package itself */
  }
  const ref = await debRef(pkg);
  // Cached by the exact package file, so a kernel update in the apt lists is a new entry.
  const dir = await debianPackage(pkg, path.join(cache, `${ref.file.replace(/\.deb$/, '')}-d2`), async (tree) => {
    const versions = fs.readdirSync(path.join(tree, 'lib/modules'));
    if (versions.length !== 1) throw new CorruptInputError(pkg, `expected one lib/modules/<version>, found ${versions.join(', ') || 'none'}`);
    await depmod(tree, versions[0]!, pkg);
  });
  return { root: dir, identity: `deb:${ref.file}:sha256:${ref.sha256}` };
}
