// A cooked tree as an OCI image (image-spec v1.1): one layer (the tree as the pax tar of
// tar-writer.ts, compressed by a pinned compressor), a config with rootfs.diff_ids, one
// manifest, and the image layout around them (oci-layout, index.json, and for a docker
// archive Docker 25's manifest.json beside them). Every JSON document comes from the one
// canonical serialiser and carries no clock: the same tree and options give the same bytes.
// The registry cache (remote-store.ts) pushes exactly these blobs. docs/oci.md has the facts.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { ContentSource } from '../io/content-source.js';
import { displayName } from '../tree/names.js';
import type { FsTree } from '../tree/node.js';
import { walkTree } from '../tree/walk.js';
import { canonicalJsonBytes } from '../util/canonical-json.js';
import { InvalidOptionError, UnsupportedError } from '../util/errors.js';
import { VERSION } from '../version.js';
import { writeTar } from './tar-writer.js';
import { parseImageTag } from '../sources/image-names.js';

export { parseImageTag };

export const MEDIA = {
  layout: '1.0.0',
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  empty: 'application/vnd.oci.empty.v1+json',
  /** artifactType of a baked disk pushed to a registry cache. */
  disk: 'application/vnd.cake-img.disk.v1',
  diskLayer: 'application/vnd.cake-img.disk.v1.raw+gzip',
} as const;

/** Annotation keys: the OCI ones, and cake-img's under one reverse-domain prefix. */
export const ANNOTATION = {
  refName: 'org.opencontainers.image.ref.name',
  created: 'org.opencontainers.image.created',
  title: 'org.opencontainers.image.title',
  containerdName: 'io.containerd.image.name',
  key: 'dev.cake-img.key',
  tree: 'dev.cake-img.tree',
  name: 'dev.cake-img.name',
  version: 'dev.cake-img.version',
  imageSha256: 'dev.cake-img.image.sha256',
  imageSize: 'dev.cake-img.image.size',
  inputs: 'dev.cake-img.inputs',
  epoch: 'dev.cake-img.epoch',
} as const;

/** The registry cache's tags: from the store key of a cook, the input key of a bake (never `sha256-…`, which the referrers fallback reserves). */
export const cookTag = (key: string): string => `cake-${key}`;
export const bakeTag = (key: string): string => `bake-${key}`;

/** The 2-byte empty config of artifacts (image-spec "Guidance for an empty descriptor"). */
export const EMPTY_CONFIG = new TextEncoder().encode('{}');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
  artifactType?: string;
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** A streaming compressor: bytes in through `sink`, compressed bytes out to the function it was made with. */
export interface Compressor {
  sink: (chunk: Uint8Array) => void | Promise<void>;
  finish(): Promise<void>;
  /** Releases threads or processes after a failure (finish releases them otherwise). */
  close?(): void;
}
export type CompressorFactory = (out: (chunk: Uint8Array) => void) => Compressor;

export const layerMediaType = (c: LayerCompression): string => (c === 'none' ? MEDIA.layer : `${MEDIA.layer}+${c}`);

export const sha256Of = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The blobs of an image being made: `ROOT/blobs/sha256/<hex>`, each named by its digest. */
export class BlobDir {
  constructor(readonly root: string) {
    fs.mkdirSync(nodePath.join(root, 'blobs', 'sha256'), { recursive: true });
  }

  path(digest: string): string {
    return nodePath.join(this.root, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  put(bytes: Uint8Array, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
    const d: Descriptor = { mediaType, digest: sha256Of(bytes), size: bytes.length, ...extra };
    fs.writeFileSync(this.path(d.digest), bytes);
    return d;
  }

  /**
   * Streams `produce`'s bytes through `compress` (or as they are) into a blob; returns its
   * descriptor and the digest of the uncompressed bytes (a layer's diff_id).
   */
  async putStream(mediaType: string, compress: CompressorFactory | null, produce: (sink: (c: Uint8Array) => void | Promise<void>) => Promise<void>): Promise<{ descriptor: Descriptor; diffId: string }> {
    const tmp = nodePath.join(this.root, `.blob-${randomBytes(6).toString('hex')}`);
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
    const plain = createHash('sha256');
    const stored = createHash('sha256');
    let size = 0;
    const out = (c: Uint8Array): void => {
      stored.update(c);
      size += c.length;
      for (let o = 0; o < c.length; ) o += fs.writeSync(fd, c, o, c.length - o);
    };
    const z = compress ? compress(out) : null;
    try {
      await produce(async (c) => {
        plain.update(c);
        if (z) await z.sink(c);
        else out(c);
      });
      await z?.finish();
    } catch (e) {
      z?.close?.();
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.closeSync(fd);
    const descriptor: Descriptor = { mediaType, digest: `sha256:${stored.digest('hex')}`, size };
    fs.renameSync(tmp, this.path(descriptor.digest));
    return { descriptor, diffId: `sha256:${plain.digest('hex')}` };
  }
}

/**
 * A layer tar cannot carry a file whose name starts with `.wh.`: every reader would take
 * it for a whiteout (image-spec layer.md). Refused, naming the first one.
 */
export function checkNoWhiteoutNames(tree: FsTree, label: string): void {
  for (const e of walkTree(tree.root)) {
    const name = e.path[e.path.length - 1];
    if (name !== undefined && name.startsWith('.wh.')) {
      throw new UnsupportedError(label, `${JSON.stringify(displayName(`/${e.path.join('/')}`))}: a layer cannot hold a name starting with ".wh." (every image reader takes it for a whiteout)`);
    }
  }
}

export interface ImageOptions {
  /** The time every file was clamped to (seconds): the config's `created`. */
  epoch?: number;
  /** Directories the cook put in front of PATH (the config's Env). */
  path?: readonly string[];
  /** What the history entry says made the layer. */
  createdBy: string;
  compression: LayerCompression;
  compress: CompressorFactory | null;
  /** Manifest annotations (cake-img's keys for the registry cache). */
  annotations?: Record<string, string>;
}

export interface MadeImage {
  manifest: Descriptor;
  config: Descriptor;
  layer: Descriptor;
  diffId: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** RFC 3339 in UTC with a `Z`, to the second. */
export const rfc3339 = (sec: number): string => new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The image config (image-spec config.md): platform, Env, rootfs.diff_ids, one history entry. */
export function imageConfigBytes(diffId: string, o: Pick<ImageOptions, 'epoch' | 'path' | 'createdBy'>): Uint8Array {
  const created = o.epoch !== undefined ? rfc3339(o.epoch) : undefined;
  return canonicalJsonBytes({
    architecture: 'amd64',
    os: 'linux',
    created,
    config: { Env: [`PATH=${[...(o.path ?? []), DEFAULT_PATH].join(':')}`] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: o.createdBy }],
  });
}

/** Writes the tree's layer, its config and the manifest into `blobs`. */
export async function makeImage(tree: FsTree, content: ContentSource, blobs: BlobDir, o: ImageOptions): Promise<MadeImage> {
  checkNoWhiteoutNames(tree, 'the cooked tree');
  const { descriptor: layer, diffId } = await blobs.putStream(layerMediaType(o.compression), o.compress, (sink) => writeTar(tree, content, sink));
  const config = blobs.put(imageConfigBytes(diffId, o), MEDIA.config);
  const annotations = { ...(o.epoch !== undefined ? { [ANNOTATION.created]: rfc3339(o.epoch) } : {}), ...o.annotations };
  const manifest = blobs.put(
    canonicalJsonBytes({ schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: [layer], annotations: Object.keys(annotations).length ? annotations : undefined }),
    MEDIA.manifest,
  );
  return { manifest, config, layer, diffId };
}

/** `createdBy` for a cook: names cake-img, its version and the cook. */
export const cookCreatedBy = (name: string): string => `cake-img ${VERSION} cook ${name}`;


/**
 * `oci-layout` and `index.json` beside the blobs (and, for a docker archive, Docker 25's
 * `manifest.json`, which names the same blobs): the files an OCI layout holds besides them.
 */
export function layoutFiles(image: MadeImage, tag: string, docker: boolean): [string, Uint8Array][] {
  const t = parseImageTag(tag);
  const entry: Descriptor = {
    ...image.manifest,
    platform: { architecture: 'amd64', os: 'linux' },
    annotations: { [ANNOTATION.refName]: t.tag, [ANNOTATION.containerdName]: t.full },
  };
  const files: [string, Uint8Array][] = [
    ['oci-layout', canonicalJsonBytes({ imageLayoutVersion: MEDIA.layout })],
    ['index.json', canonicalJsonBytes({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [entry] })],
  ];
  if (docker) {
    const blob = (d: Descriptor): string => `blobs/sha256/${d.digest.slice('sha256:'.length)}`;
    files.push(['manifest.json', canonicalJsonBytes([{ Config: blob(image.config), RepoTags: [t.full], Layers: [blob(image.layer)] }])]);
  }
  return files;
}
