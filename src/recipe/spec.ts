// The recipe language: typed builders that mirror the original recipe's Nix functions.
// They only describe; `cake-img build` resolves the graph and does the work. A cooked
// tree is a value: it can be the `src` of another cook or the `image` of a bake, as a Nix
// derivation can be the input of another.

/** A tree to start from. `ref` is what every command's SRC accepts; relative paths are relative to the recipe. */
export interface SourceSpec {
  readonly kind: 'source';
  readonly ref: string;
  /** A path to resolve against the recipe's directory (false for deb:NAME and registry refs). */
  readonly isPath: boolean;
}

export interface CookOptions {
  /** Store name (default: the output's key in the recipe). */
  name?: string;
  src: SourceSpec | CookSpec | string;
  /** Host paths copied in at their absolute paths (rsync --relative semantics). Relative to the recipe. */
  contents?: string[];
  /** Directories put in front of PATH in /etc/profile. */
  path?: string[];
  /** Shell script run inside the tree under proot, as /bootstrap. */
  script?: string;
  /** Host shell run in the build directory before / after the script ($ROOTFS is the tree). */
  prepare?: string;
  cleanup?: string;
  /** The expected output hash; without it the hash is printed so it can be pinned. */
  sha256?: string;
  platform?: string;
  lenient?: boolean;
  /** Also write the cooked tree into `build --out` as an OCI image: NAME.oci (layout), NAME.oci.tar or NAME.docker.tar. */
  output?: 'oci' | 'oci.tar' | 'docker.tar';
  /** That image's NAME[:TAG] (default: the output's name and latest). */
  tag?: string;
}

export interface CookSpec extends Readonly<Omit<CookOptions, 'src'>> {
  readonly kind: 'cook';
  readonly src: SourceSpec | CookSpec;
}

export interface KernelSpec {
  readonly kind: 'kernel';
  /** A Debian package (meta packages such as linux-image-amd64 resolve to their kernel). */
  readonly debian?: string;
  /** A bzImage, a directory with boot/ and lib/modules/, or a linux-image .deb. Relative to the recipe. */
  readonly path?: string;
}

export interface BakeOptions {
  name?: string;
  /** The root filesystem. */
  image: CookSpec | SourceSpec | string;
  kernel: KernelSpec | string;
  /** Disk size: 128M, 1G, or auto (default 1G, as the original). */
  size?: string;
  /** Drop to a shell in the initramfs before switching root. */
  debug?: boolean;
  /** Kernel command line words. */
  options?: string[];
  /** Modules to load from the initramfs; dependencies come along. */
  modules?: string[];
  /** Root filesystem UUID (default derived from the inputs). */
  uuid?: string;
  /** Replace files the tree has where bake puts its own (/boot/vmlinux, /boot/initrd, /boot/syslinux.cfg, /boot/ldlinux.*). */
  force?: boolean;
  /** hybrid (default: one GPT disk that boots on BIOS and UEFI), uefi, or bios (the original MBR disk). */
  firmware?: 'bios' | 'uefi' | 'hybrid';
  /** uefi/hybrid: the EFI system partition's size (default auto). */
  espSize?: string;
  /** uefi/hybrid: the GPT disk GUID (default derived from the inputs). */
  diskGuid?: string;
  /** Image format (default raw): the output is NAME.img, .qcow2, .vhd (fixed) or .vmdk (streamOptimized). */
  format?: 'raw' | 'qcow2' | 'vhd' | 'vmdk';
}

export interface BakeSpec extends Readonly<Omit<BakeOptions, 'image' | 'kernel'>> {
  readonly kind: 'bake';
  readonly image: CookSpec | SourceSpec;
  readonly kernel: KernelSpec;
}

export type Output = CookSpec | BakeSpec;

const IMAGE_REF = /^[^/\s]+\.[^/\s]*\/|^[^/\s]+:\d+\/|^localhost\//;

/** A string SRC as the CLI reads it: deb:NAME, a registry ref pinned by digest, else a path. */
export function source(ref: string): SourceSpec {
  const isPath = !ref.startsWith('deb:') && !(ref.includes('@sha256:') && IMAGE_REF.test(ref));
  return Object.freeze({ kind: 'source', ref, isPath });
}

const asSource = (s: SourceSpec | CookSpec | string): SourceSpec | CookSpec => (typeof s === 'string' ? source(s) : s);

export function directory(path: string): SourceSpec {
  return source(path);
}
export function tarball(path: string): SourceSpec {
  return source(path);
}
export function dockerArchive(path: string): SourceSpec {
  return source(path);
}
export function ociLayout(path: string): SourceSpec {
  return source(path);
}
/** A Debian package by name, fetched rootless with apt-get download. */
export function debianPackage(name: string): SourceSpec {
  return source(`deb:${name}`);
}

/**
 * An image from a registry pinned by digest, like Nix's dockerTools.pullImage. `sha256`
 * pins the pulled tree's hash (cake-img's tree hash), checked like a cook's.
 */
export function pull(o: { imageName: string; imageDigest: string; sha256?: string; name?: string; platform?: string }): CookSpec {
  if (!/^sha256:[0-9a-f]{64}$/.test(o.imageDigest)) throw new Error(`pull: imageDigest must be sha256:<64 hex>, not ${JSON.stringify(o.imageDigest)}`);
  const base = o.imageName.replace(/:[^/]*$/, '');
  const name = o.name ?? base.split('/').pop()!;
  return Object.freeze({ kind: 'cook', name, src: source(`${base}@${o.imageDigest}`), sha256: o.sha256, platform: o.platform });
}

/** A kernel from Debian's packages (default linux-image-amd64), with its modules. */
export function kernelFromDebian(name = 'linux-image-amd64'): KernelSpec {
  return Object.freeze({ kind: 'kernel', debian: name });
}

export function kernelFile(path: string): KernelSpec {
  return Object.freeze({ kind: 'kernel', path });
}

export function cook(o: CookOptions): CookSpec {
  if (!o || o.src === undefined) throw new Error('cook: src is required');
  return Object.freeze({ ...o, kind: 'cook', src: asSource(o.src) });
}

export function bake(o: BakeOptions): BakeSpec {
  if (!o || o.image === undefined) throw new Error('bake: image is required');
  if (o.kernel === undefined) throw new Error('bake: kernel is required (e.g. kernelFromDebian())');
  const kernel = typeof o.kernel === 'string' ? kernelFile(o.kernel) : o.kernel;
  return Object.freeze({ ...o, kind: 'bake', image: asSource(o.image), kernel });
}

/** What a recipe function receives: the same builders, for recipes that prefer not to import. */
export const helpers = { cook, bake, source, directory, tarball, dockerArchive, ociLayout, debianPackage, pull, kernelFromDebian, kernelFile };
export type Helpers = typeof helpers;
