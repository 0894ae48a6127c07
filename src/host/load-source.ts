// Picks the source reader for a path: a directory, or an archive recognised by its bytes.
import * as fs from 'node:fs';
import { NodeSourceFs } from './node-source-fs.js';
import { CakeError, CorruptInputError, ReadError, quote } from '../util/errors.js';
import * as nodePath from 'node:path';
import { isCookedDir, loadCookedDir } from './cooked-dir.js';
import { compressionOf } from '../sources/compression.js';
import { type LoadedTree, loadDirectory } from '../sources/directory.js';

// Readers load on use: a directory source should not pay (on a cold disk, every module file
// is a read) for the tar, container-image and registry code it does not need.
async function archiveReaders() {
  const [{ registerHostDecoders }, deb, files] = await Promise.all([import('./host-decoders.js'), import('../sources/deb.js'), import('./archive-file.js')]);
  registerHostDecoders();
  return { loadDeb: files.loadDebFile, isDeb: deb.isDeb, loadTarFile: files.loadTarFile };
}

export interface LoadOptions {
  /** Read xattrs from a directory source (default true). */
  xattrs?: boolean;
  /** Container images: the platform to pick from an index (default linux/amd64). */
  platform?: string;
  /** Archives and container images: skip hostile entries with a warning instead of failing. */
  lenient?: boolean;
  /** The output's fixed size in bytes: a tarball declaring more file data than this is refused before it is decompressed. */
  sizeLimit?: number;
}

/** A one-line error for a source the host will not let us read. */
export function unreadable(path: string, e: unknown, what = 'the source'): CakeError {
  if (e instanceof CakeError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ELOOP: 'too many levels of symbolic links',
    ENOTDIR: 'a component of the path is not a directory',
    EIO: 'input/output error',
    EISDIR: 'is a directory',
  };
  if (!code) throw e;
  return new ReadError(quote(path), `cannot read ${what}: ${why[code] ?? code}`, { errno: code });
}

function sniff(path: string): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw unreadable(path, e);
  }
  try {
    const buf = new Uint8Array(512);
    const n = fs.readSync(fd, buf, 0, 512, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The tree a source names:
 * - `deb:NAME`: a Debian package by name, fetched rootless with `apt-get download` into the cache;
 * - `REGISTRY/REPO@sha256:…`: a container image pulled by digest (see registry.ts);
 * - a path: a cooked directory (rootfs/ + cake-meta.jsonl), an OCI layout, a plain
 *   directory, a docker save / OCI archive, a .deb, or a rootfs tarball (.tar, .gz, .xz, .zst, .bz2).
 */
export type SourceKind = { kind: 'deb'; name: string } | { kind: 'image' } | { kind: 'path'; st: fs.Stats };

/** What a SRC names, decided before anything is read (an existing path always wins). */
export async function sourceKind(spec: string): Promise<SourceKind> {
  if (spec.startsWith('deb:') && !fs.existsSync(spec)) return { kind: 'deb', name: spec.slice(4) };
  if (spec.includes('@sha256:') && (await import('../sources/registry.js')).isImageRef(spec)) return { kind: 'image' };
  try {
    return { kind: 'path', st: fs.statSync(spec) };
  } catch (e) {
    throw unreadable(spec, e);
  }
}

export async function loadSource(path: string, opts: LoadOptions = {}): Promise<LoadedTree> {
  const what = await sourceKind(path);
  if (what.kind === 'deb') {
    const { downloadDeb } = await import('./debian.js');
    const { cacheDir } = await import('./cache.js');
    const { path: deb } = await downloadDeb(what.name, cacheDir('debs'));
    return (await archiveReaders()).loadDeb(deb, { lenient: opts.lenient, sizeLimit: opts.sizeLimit });
  }
  if (what.kind === 'image') {
    const { pullImage } = await import('../sources/registry.js');
    (await import('./host-decoders.js')).registerHostDecoders(); // layer digests with node:crypto
    const { cacheDir } = await import('./cache.js');
    const { removeOnExit } = await import('./lifecycle.js');
    return pullImage(path, { platform: opts.platform, lenient: opts.lenient, blobCache: cacheDir('blobs'), onTemp: removeOnExit });
  }
  const { st } = what;
  if (st.isDirectory()) {
    if (fs.existsSync(nodePath.join(path, 'oci-layout'))) {
      const image = await (await import('./container-image.js')).loadContainerImage(path, st, opts);
      if (image) return image;
    }
    if (isCookedDir(path)) return loadCookedDir(path, { xattrs: opts.xattrs });
    return loadDirectory(new NodeSourceFs(path, { xattrs: opts.xattrs }), { label: path });
  }
  const image = await (await import('./container-image.js')).loadContainerImage(path, st, opts);
  if (image) return image;
  if (!st.isFile()) throw new CorruptInputError(path, 'source is neither a directory nor a file');
  const head = sniff(path);
  const readers = await archiveReaders();
  if (readers.isDeb(head)) return readers.loadDeb(path, { lenient: opts.lenient, sizeLimit: opts.sizeLimit });
  const isTar = head.length >= 262 && String.fromCharCode(...head.subarray(257, 262)) === 'ustar';
  if (compressionOf(head) || isTar) {
    return readers.loadTarFile(path, { lenient: opts.lenient, sizeLimit: opts.sizeLimit });
  }
  if (head.length === 0) throw new CorruptInputError(path, 'source file is empty');
  throw new CorruptInputError(path, 'not a directory, container image, .deb, or tar archive (plain, gzip, xz, zstd or bzip2)');
}
