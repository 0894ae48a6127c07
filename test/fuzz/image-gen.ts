// Container images for the fuzz properties: one valid image (two layers, config,
// manifest, an index with two platforms) built once, then each case mutates its JSON
// documents (and sometimes a layer's bytes) bottom-up: every blob is stored under the
// digest of its mutated bytes and its parent's descriptor is fixed to match (unless a
// mutation of the parent itself breaks it), so the decoders get past the digest checks
// and see the hostile documents. Shared by the image-archive and the registry fuzzers.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import tarStream from 'tar-stream';
import { fixChecksum, headerOffsets } from './tar-gen.js';
import { type Aimed, type JsonOp, applyJsonOps, applyMutations, hostileJson, jsonOps, jsonText, mutations } from './mutate.js';

export const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
export const digestOf = (b: Uint8Array | string): string => `sha256:${sha(b)}`;

export const MT = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layer: 'application/vnd.oci.image.layer.v1.tar',
};

export async function packEntries(entries: { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; body?: string | Uint8Array; linkname?: string; mode?: number }[]): Promise<Uint8Array> {
  const p = tarStream.pack();
  for (const e of entries) {
    const type = e.type ?? (e.body !== undefined ? 'file' : 'directory');
    const header = { name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), linkname: e.linkname, mtime: new Date(1_700_000_000_000) };
    if (type === 'file') p.entry(header, Buffer.from(e.body ?? ''));
    else p.entry(header);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

export interface BaseImage {
  /** Uncompressed layer tars, and the bytes stored (layer 1 gzipped). */
  tars: Uint8Array[];
  stored: Uint8Array[];
  mediaTypes: string[];
}

export async function baseImage(): Promise<BaseImage> {
  const l1 = await packEntries([
    { name: 'etc/' }, { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' }, { name: 'etc/gone', body: 'x\n' },
    { name: 'bin/' }, { name: 'bin/busybox', body: 'BUSYBOX\n', mode: 0o755 }, { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
  ]);
  const l2 = await packEntries([{ name: 'etc/' }, { name: 'etc/.wh.gone', body: '' }, { name: 'etc/motd', body: 'hi\n' }, { name: 'bin/ash', type: 'link', linkname: 'bin/busybox' }]);
  return { tars: [l1, l2], stored: [new Uint8Array(gzipSync(l1)), l2], mediaTypes: [MT.layerGzip, MT.layer] };
}

/** What one case changes in the base image. */
export interface ImageCase {
  config: JsonOp[];
  manifest: JsonOp[];
  /** The nested index between index.json and the manifest (null: index.json points at the manifest). */
  index: JsonOp[] | null;
  top: JsonOp[];
  /** Byte mutations of one layer (index, mutations). */
  layer: { which: number; muts: Aimed[] } | null;
  /** A document replaced by arbitrary bytes. */
  raw: { which: 'config' | 'manifest' | 'index' | 'top'; bytes: Uint8Array } | null;
  /** Keep the parent's descriptor digests pointing at the unmutated child (so it mismatches). */
  staleDigests: boolean;
}

/** Ops for one document: most cases leave each document alone, so the ones mutated are reached. */
const docOps = fc.oneof({ weight: 2, arbitrary: fc.constant([] as JsonOp[]) }, { weight: 1, arbitrary: jsonOps });

export const imageCase: fc.Arbitrary<ImageCase> = fc.record({
  config: docOps,
  manifest: docOps,
  index: fc.oneof(fc.constant(null), docOps),
  top: docOps,
  layer: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.record({ which: fc.nat({ max: 1 }), muts: mutations({ regions: true }) }) }),
  raw: fc.oneof(
    { weight: 8, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.record({
        which: fc.constantFrom('config' as const, 'manifest' as const, 'index' as const, 'top' as const),
        bytes: fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v))), hostileJson.map((v) => new TextEncoder().encode(JSON.stringify(v) ?? ''))),
      }),
    },
  ),
  staleDigests: fc.oneof({ weight: 10, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

export interface OciImage {
  /** digest → bytes for every blob (layers, config, manifest, nested index). */
  blobs: Map<string, Uint8Array>;
  /** index.json of a layout (names the top blob). */
  indexJson: Uint8Array;
  /** The digest a registry pull is pinned to (the top blob: nested index or manifest). */
  top: string;
  /** Config file name and manifest.json for a docker save archive of the same image. */
  docker: { configName: string; manifestJson: Uint8Array; layerNames: string[] };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

export function buildImage(base: BaseImage, c: ImageCase): OciImage {
  const blobs = new Map<string, Uint8Array>();
  const put = (b: Uint8Array): string => {
    const d = digestOf(b);
    blobs.set(d, b);
    return d;
  };
  const raw = (which: NonNullable<ImageCase['raw']>['which'], text: string): Uint8Array => (c.raw?.which === which ? c.raw.bytes : enc(text));

  const layers = base.stored.map((b, i) => {
    if (!c.layer || c.layer.which !== i) return b;
    if (base.mediaTypes[i] !== MT.layer) return applyMutations(b, c.layer.muts);
    // A plain layer: aim at its headers and fix their checksums, so the entries behind them are read.
    const heads = headerOffsets(b);
    const out = applyMutations(b, c.layer.muts, heads.map((h) => [h, h + 512] as [number, number]));
    for (const h of heads) fixChecksum(out, h);
    return out;
  });
  const layerDescs = layers.map((b, i) => ({ mediaType: base.mediaTypes[i], digest: put(b), size: b.length }));
  // A mutated layer gets the diff_id of what it now holds (when it still gunzips), so its tar is what gets read.
  const diffIds = base.tars.map((t, i) => {
    if (!c.layer || c.layer.which !== i) return digestOf(t);
    try {
      return digestOf(base.mediaTypes[i] === MT.layerGzip ? new Uint8Array(gunzipSync(layers[i]!)) : layers[i]!);
    } catch {
      return digestOf(t);
    }
  });

  const configDoc = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, config: {} };
  const configBytes = raw('config', jsonText(applyJsonOps(configDoc, c.config)));
  const cleanConfig = enc(JSON.stringify(configDoc));
  const configDigest = put(configBytes);
  const configDesc = { mediaType: MT.config, digest: c.staleDigests ? digestOf(cleanConfig) : configDigest, size: configBytes.length };

  const manifestDoc = { schemaVersion: 2, mediaType: MT.manifest, config: configDesc, layers: layerDescs };
  const manifestBytes = raw('manifest', jsonText(applyJsonOps(manifestDoc, c.manifest)));
  const manifestDigest = put(manifestBytes);
  const manifestDesc = { mediaType: MT.manifest, digest: manifestDigest, size: manifestBytes.length, platform: { os: 'linux', architecture: 'amd64' } };

  let top = manifestDigest;
  let topDesc: Record<string, unknown> = manifestDesc;
  if (c.index !== null) {
    const other = { mediaType: MT.manifest, digest: digestOf('elsewhere'), size: 9, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } };
    const indexDoc = { schemaVersion: 2, mediaType: MT.index, manifests: [other, manifestDesc] };
    const indexBytes = raw('index', jsonText(applyJsonOps(indexDoc, c.index)));
    top = put(indexBytes);
    topDesc = { mediaType: MT.index, digest: top, size: indexBytes.length };
  }
  const indexJson = raw('top', jsonText(applyJsonOps({ schemaVersion: 2, mediaType: MT.index, manifests: [topDesc] }, c.top)));

  // The docker save form: Config named by its digest, Layers as blob paths.
  const layerNames = layerDescs.map((d) => `blobs/sha256/${d.digest.slice(7)}`);
  const configName = `${configDigest.slice(7)}.json`;
  const dockerDoc = [{ Config: configName, RepoTags: ['fuzz:1'], Layers: layerNames }];
  const manifestJson = raw('top', jsonText(applyJsonOps(dockerDoc, c.manifest)));
  return { blobs, indexJson, top, docker: { configName, manifestJson, layerNames } };
}
