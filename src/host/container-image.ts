// Container images on this host: an OCI layout directory (its files read from the host),
// and image archives (docker save, OCI layout tar) given by path, read through the pure
// loaders of sources/oci.ts and sources/docker-archive.ts over a host ByteFile. Also how
// loadSource tells an image from a plain rootfs tarball.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { type ImageOptions, MAX_JSON, loadDockerArchive as loadDocker } from '../sources/docker-archive.js';
import type { LoadedTree } from '../sources/directory.js';
import { type LayoutStore, loadImageArchive, loadLayout, loadOciArchive as loadOciTar, sniffImageTar } from '../sources/oci.js';
import { CorruptInputError, ReadError } from '../util/errors.js';
import { hostByteFile } from './archive-file.js';
import { registerHostDecoders } from './host-decoders.js';

class DirStore implements LayoutStore {
  constructor(readonly label: string) {}
  async read(name: string): Promise<Uint8Array> {
    const p = nodePath.join(this.label, name);
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new CorruptInputError(this.label, `layout has no file ${JSON.stringify(name)}`);
    }
    // A directory would fail the read; a fifo would block it for ever.
    if (!st.isFile()) throw new CorruptInputError(`${this.label}: ${name}`, 'is not a regular file');
    if (st.size > MAX_JSON) throw new CorruptInputError(`${this.label}: ${name}`, `${st.size} bytes is too large for a metadata file`);
    try {
      return fs.readFileSync(p);
    } catch (e) {
      throw new ReadError(`${this.label}: ${name}`, `cannot read it: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  opener(name: string): () => AsyncIterable<Uint8Array> {
    const p = nodePath.join(this.label, name);
    if (!fs.existsSync(p)) throw new CorruptInputError(this.label, `layout has no file ${JSON.stringify(name)}`);
    if (!fs.statSync(p).isFile()) throw new CorruptInputError(`${this.label}: ${name}`, 'is not a regular file');
    return () => fs.createReadStream(p, { highWaterMark: 1 << 20 });
  }
}

/** An OCI image layout directory (with `oci-layout` and `index.json`). */
export async function loadOciDirectory(dir: string, opts: ImageOptions = {}): Promise<LoadedTree> {
  registerHostDecoders();
  return loadLayout(new DirStore(dir), opts);
}

/** An OCI image layout in a tar file (plain or gzip). */
export function loadOciArchive(path: string, opts: ImageOptions = {}): Promise<LoadedTree> {
  registerHostDecoders();
  return loadOciTar(hostByteFile(path), opts);
}

/** A `docker save` archive file. */
export function loadDockerArchive(path: string, opts: ImageOptions = {}): Promise<LoadedTree> {
  registerHostDecoders();
  return loadDocker(hostByteFile(path), opts);
}

/** Any container image at `path`: an OCI layout directory, a docker save tar, or an OCI layout tar. */
export async function loadImage(path: string, opts: ImageOptions = {}): Promise<LoadedTree> {
  if (fs.statSync(path).isDirectory()) return loadOciDirectory(path, opts);
  registerHostDecoders();
  return loadImageArchive(hostByteFile(path), opts);
}

/** For loadSource: the image at `path` if it is one (OCI dir, docker save tar, OCI tar), else null. */
export async function loadContainerImage(path: string, st: fs.Stats, opts: ImageOptions & { xattrs?: boolean } = {}): Promise<LoadedTree | null> {
  if (st.isDirectory()) {
    if (fs.existsSync(nodePath.join(path, 'oci-layout')) && fs.existsSync(nodePath.join(path, 'index.json'))) return loadOciDirectory(path, opts);
    return null;
  }
  if (!st.isFile()) return null;
  const kind = await sniffImageTar(hostByteFile(path));
  if (kind === 'docker') return loadDockerArchive(path, opts);
  if (kind === 'oci') return loadOciArchive(path, opts);
  return null;
}
