// OCI image layouts: index.json → (index →) manifest → layers, the manifest picked by
// platform (linux/amd64 unless told otherwise). Metadata blobs are checked against their
// digests. A layout in a tar (and a docker save archive) is read from a ByteFile here; a
// layout directory on the host is host/container-image.ts's, through the same LayoutStore.
import type { ByteFile } from '../io/byte-file.js';
import { parsePlatform } from './image-names.js';

export { parsePlatform };
import { CorruptInputError, InvalidOptionError, UnsupportedError } from '../util/errors.js';
import { type DigestAlg, digestOf } from '../util/sha256.js';
import type { LoadedTree } from './directory.js';
import { type ImageOptions, FileReader, OuterTar, loadDockerFromTar, normalizeMemberName, parseJson, walkTarHeaders } from './docker-archive.js';
import { type LayerInput, applyLayers, checkDigest, verifiedOpener } from './layers.js';

/** Where the layout's files live: a directory on the host or the members of a tar. */
export interface LayoutStore {
  label: string;
  read(name: string): Promise<Uint8Array>;
  opener(name: string): () => AsyncIterable<Uint8Array>;
}

class TarStore implements LayoutStore {
  constructor(private readonly tar: OuterTar) {}
  get label(): string {
    return this.tar.path;
  }
  read(name: string): Promise<Uint8Array> {
    return this.tar.read(name);
  }
  opener(name: string): () => AsyncIterable<Uint8Array> {
    return this.tar.opener(name);
  }
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

/** The blob path for a digest; the digest's shape is checked so it cannot name anything else. */
function blobPath(digest: string, where: string): string {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(digest);
  if (!m || m[2]!.length !== (m[1] === 'sha256' ? 64 : 128)) throw new CorruptInputError(where, `bad digest ${JSON.stringify(digest)}`);
  return `blobs/${m[1]}/${m[2]}`;
}

async function readBlob(store: LayoutStore, d: Descriptor, where: string): Promise<unknown> {
  const path = blobPath(d.digest, where);
  const bytes = await store.read(path);
  const [alg, hex] = d.digest.split(':') as [DigestAlg, string];
  const h = digestOf(alg);
  h.update(bytes);
  const actual = h.hex();
  if (actual !== hex) throw new CorruptInputError(`${store.label}: ${path}`, `content does not match its digest (sha: ${actual})`);
  return parseJson(bytes, `${store.label}: ${path}`);
}

function descriptors(json: unknown, key: string, where: string): Descriptor[] {
  const list = (json as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(list)) throw new CorruptInputError(where, `no "${key}" list`);
  for (const d of list) {
    if (typeof (d as Descriptor | null)?.digest !== 'string') throw new CorruptInputError(where, `a "${key}" entry has no digest`);
  }
  return list as Descriptor[];
}


export const platformName = (d: Descriptor): string =>
  d.platform ? [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/') : '(none)';

/** Follows index.json down to one image manifest. */
async function pickManifest(store: LayoutStore, opts: ImageOptions): Promise<{ manifest: unknown; where: string }> {
  const want = parsePlatform(opts.platform ?? 'linux/amd64');
  let where = `${store.label}: index.json`;
  let index = parseJson(await store.read('index.json'), where);
  for (let depth = 0; depth < 8; depth++) {
    const list = descriptors(index, 'manifests', where);
    if (list.length === 0) throw new CorruptInputError(where, 'the index lists no manifests');
    const matching = list.filter(
      (d) => d.platform?.os === want.os && d.platform.architecture === want.architecture && (want.variant === undefined || d.platform.variant === want.variant),
    );
    let chosen = matching[0];
    if (!chosen && list.length === 1 && (!list[0]!.platform || opts.platform === undefined)) chosen = list[0];
    if (!chosen) {
      throw new CorruptInputError(where, `no manifest for platform ${opts.platform ?? 'linux/amd64'} (the index has: ${list.map(platformName).join(', ')})`);
    }
    const json = await readBlob(store, chosen, where);
    const mediaType = (json as { mediaType?: string } | null)?.mediaType ?? chosen.mediaType;
    where = `${store.label}: ${blobPath(chosen.digest, where)}`;
    if ((mediaType && INDEX_TYPES.has(mediaType)) || Array.isArray((json as { manifests?: unknown } | null)?.manifests)) {
      index = json;
      continue;
    }
    return { manifest: json, where };
  }
  throw new CorruptInputError(where, 'indexes nested too deeply');
}

export async function loadLayout(store: LayoutStore, opts: ImageOptions): Promise<LoadedTree> {
  const { manifest, where } = await pickManifest(store, opts);
  const list = descriptors(manifest, 'layers', where);
  const diffIds = await layoutDiffIds(store, manifest, list.length, where);
  const layers: LayerInput[] = list.map((d, i) => {
    if (typeof d.mediaType === 'string' && d.mediaType.includes('encrypted')) throw new UnsupportedError(where, `layer ${i + 1} is encrypted (${d.mediaType})`);
    const path = blobPath(d.digest, where);
    const label = `${store.label}: layer ${i + 1} (${path})`;
    return { label, open: verifiedOpener(store.opener(path), d.digest, label), diffId: diffIds[i] };
  });
  return applyLayers(layers, { lenient: opts.lenient });
}

/** The config blob's rootfs.diff_ids (the config checked against its digest), one per layer. */
async function layoutDiffIds(store: LayoutStore, manifest: unknown, layerCount: number, where: string): Promise<string[]> {
  const config = (manifest as { config?: Descriptor } | null)?.config;
  if (!config || typeof config.digest !== 'string') throw new CorruptInputError(where, 'the manifest has no config (needed to check its layers)');
  const cfgWhere = `${store.label}: ${blobPath(config.digest, where)}`;
  const cfg = (await readBlob(store, config, where)) as { rootfs?: { diff_ids?: unknown } } | null;
  const ids = cfg?.rootfs?.diff_ids;
  if (!Array.isArray(ids)) throw new CorruptInputError(cfgWhere, 'the image config has no rootfs.diff_ids (needed to check its layers)');
  if (ids.length !== layerCount) throw new CorruptInputError(cfgWhere, `the image config lists ${ids.length} diff_ids for ${layerCount} layers`);
  return ids.map((d, i) => checkDigest(d, cfgWhere, `diff_ids[${i}]`));
}

/** An OCI image layout in a tar (plain or gzip). */
export async function loadOciArchive(file: ByteFile, opts: ImageOptions = {}): Promise<LoadedTree> {
  return loadLayout(new TarStore(await OuterTar.open(file)), opts);
}

/** A container image archive: a docker save tar, or an OCI layout tar. */
export async function loadImageArchive(file: ByteFile, opts: ImageOptions = {}): Promise<LoadedTree> {
  const tar = await OuterTar.open(file);
  if (tar.has('manifest.json')) return loadDockerFromTar(tar, opts);
  if (tar.has('index.json')) return loadLayout(new TarStore(tar), opts);
  throw new CorruptInputError(file.label, 'neither a docker save archive (manifest.json) nor an OCI layout (index.json)');
}

/** Top-level names a container image archive holds; anything else means a plain rootfs tarball. */
const IMAGE_TOP = /^(manifest\.json|repositories|oci-layout|index\.json|blobs|[0-9a-f]{64}(\.json|\.tar)?)$/;

/**
 * Which kind of image a plain (uncompressed) tar is, by its member names: reads only
 * headers, and stops at the first name no image archive has.
 */
export async function sniffImageTar(file: ByteFile): Promise<'docker' | 'oci' | null> {
  let manifest = false;
  let layout = false;
  let index = false;
  try {
    await walkTarHeaders(new FileReader(file), file.label, (name) => {
      const n = normalizeMemberName(name);
      if (n === null) return false;
      if (n === '') return true;
      if (!IMAGE_TOP.test(n.split('/')[0]!)) return false;
      if (n === 'manifest.json') manifest = true;
      if (n === 'oci-layout') layout = true;
      if (n === 'index.json') index = true;
      return !manifest;
    });
  } catch {
    return null;
  }
  return manifest ? 'docker' : layout && index ? 'oci' : null;
}
