// Container images pulled from a registry, pinned by digest (like Nix's
// dockerTools.pullImage): manifest (through an index for the platform), config and layers
// come over the OCI distribution API into a content-addressed blob cache, each checked
// against its digest while it downloads, then the layers are applied like any other image.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CakeError, CorruptInputError, InvalidOptionError, UnsupportedError, formatBytes } from '../util/errors.js';
import type { LoadedTree } from './directory.js';
import { MAX_JSON, parseJson } from './docker-archive.js';
import { type LayerInput, applyLayers, checkDigest, verifiedOpener } from './layers.js';
import { parsePlatform, platformName } from './oci.js';
import { parseImageRef } from './image-names.js';

export { parseImageRef };
import { type Credentials, RegistryError, RegistrySession, bodyChunks } from './registry-auth.js';

export interface PullOptions {
  /** `os/arch[/variant]` to pick from an index (default linux/amd64). */
  platform?: string;
  /** Skip hostile or broken layer entries with a warning instead of failing. */
  lenient?: boolean;
  /** Directory of the blob cache; blobs are kept as `<blobCache>/sha256/<hex>`. */
  blobCache: string;
  fetch?: typeof fetch;
  log?: (line: string) => void;
  /** Registers a temporary file to remove if the run is stopped (the host's lifecycle); returns "forget it". */
  onTemp?: (path: string) => () => void;
  /** Credentials for the registry (docker-config.ts), sent only when it asks. */
  credentials?: Credentials | null;
}

// --- references: sources/image-names.ts ---------------------------------------------


/** Cheap check for source detection: looks like `…/…@sha256:…` and is not a path that exists. */
export function isImageRef(s: string): boolean {
  return s.includes('@sha256:') && s.includes('/') && !fs.existsSync(s);
}

/** http for loopback and for `CAKE_IMG_INSECURE_REGISTRIES` (host[:port], comma-separated); https otherwise. */
export function registryBase(registry: string): string {
  const host = registry.replace(/:\d+$/, '');
  const insecure = (process.env.CAKE_IMG_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim());
  const http = ['localhost', '127.0.0.1', '[::1]'].includes(host) || insecure.some((e) => e !== '' && (e === registry || e === host));
  return `${http ? 'http' : 'https'}://${registry}`;
}

// --- the blob cache ---------------------------------------------------------------------

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  urls?: string[];
  platform?: { os?: string; architecture?: string; variant?: string };
}

/** Content-addressed files; every copy is checked against its digest before use. */
class BlobCache {
  constructor(
    readonly dir: string,
    private readonly ref: string,
    private readonly session: RegistrySession,
    private readonly log: (line: string) => void,
    private readonly warnings: string[],
    private readonly onTemp: (path: string) => () => void,
  ) {}

  file(digest: string): string {
    const [alg, hex] = digest.split(':') as [string, string];
    return nodePath.join(this.dir, alg, hex);
  }

  /** The path of a good copy of `d`, downloaded from `url` unless the cache has one. */
  async ensure(d: Descriptor, url: string, headers: Record<string, string>, limit: number, what: string): Promise<string> {
    const file = this.file(d.digest);
    if (await this.cached(d, limit, what)) return file;
    this.log(`pulling ${what}${d.size !== undefined ? ` (${formatBytes(d.size)})` : ''}`);
    await this.download(d, url, headers, limit, what);
    return file;
  }

  /** Whether a good copy is cached; a bad one (size or digest) is removed with a warning. */
  private async cached(d: Descriptor, limit: number, what: string): Promise<boolean> {
    const file = this.file(d.digest);
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(file);
    } catch {
      return false;
    }
    const [alg, hex] = d.digest.split(':') as [string, string];
    const hash = createHash(alg);
    if (st.size <= limit && (d.size === undefined || st.size === d.size)) {
      for await (const c of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(c as Buffer);
      if (hash.digest('hex') === hex) return true;
    }
    this.warnings.push(`${this.ref}: the cached copy of ${what} (${file}) did not match its digest; downloaded it again`);
    await fs.promises.rm(file, { force: true });
    return false;
  }

  /** Streams the body to a temp file while hashing it; only a verified file gets its name. */
  private async download(d: Descriptor, url: string, headers: Record<string, string>, limit: number, what: string): Promise<void> {
    const res = await this.session.get(url, headers);
    const file = this.file(d.digest);
    fs.mkdirSync(nodePath.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const forget = this.onTemp(tmp);
    const [alg, hex] = d.digest.split(':') as [string, string];
    const hash = createHash(alg);
    let n = 0;
    const ref = this.ref;
    try {
      try {
        await pipeline(async function* () {
          for await (const c of bodyChunks(res)) {
            n += c.length;
            if (n > limit) throw new CorruptInputError(ref, `${what} is larger than the ${limit} bytes ${d.size === undefined ? 'allowed' : 'its descriptor gives'}`);
            hash.update(c);
            yield c;
          }
        }, fs.createWriteStream(tmp, { flags: 'wx' })); // O_EXCL: never through a planted link
      } catch (e) {
        if (e instanceof CakeError) throw e;
        const err = e as NodeJS.ErrnoException;
        throw new RegistryError(ref, `downloading ${what} from ${url} failed: ${err.code ?? err.message}`, { url });
      }
      const actual = hash.digest('hex');
      if (actual !== hex) {
        throw new CorruptInputError(ref, `${what} does not match its digest: expected ${d.digest}, got ${alg}:${actual}`, { expected: d.digest, actual: `${alg}:${actual}` });
      }
      if (d.size !== undefined && n !== d.size) throw new CorruptInputError(ref, `${what} is ${n} bytes, its descriptor says ${d.size}`);
      await fs.promises.rename(tmp, file);
    } catch (e) {
      await fs.promises.rm(tmp, { force: true });
      throw e;
    } finally {
      forget();
    }
  }
}

// --- manifests --------------------------------------------------------------------------

const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
};
const ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest].join(', ');
const CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
const LAYER_TYPE = /^application\/vnd\.(?:oci\.image\.layer\.v1\.tar|docker\.image\.rootfs\.diff\.tar)(?:\+gzip|\+zstd|\.gzip)?$/;
const FOREIGN_TYPE = /nondistributable|foreign/;

function checkDescriptor(d: unknown, where: string, ref: string): Descriptor {
  const desc = d as Descriptor | null;
  const m = typeof desc?.digest === 'string' ? /^(sha256|sha512):([a-f0-9]+)$/.exec(desc.digest) : null;
  if (!m || m[2]!.length !== (m[1] === 'sha256' ? 64 : 128)) throw new CorruptInputError(ref, `${where}: bad digest ${JSON.stringify(desc?.digest)}`);
  if (desc!.size !== undefined && (!Number.isSafeInteger(desc!.size) || desc!.size < 0)) throw new CorruptInputError(ref, `${where}: bad size ${JSON.stringify(desc!.size)}`);
  if (desc!.mediaType !== undefined && typeof desc!.mediaType !== 'string') throw new CorruptInputError(ref, `${where}: bad media type ${JSON.stringify(desc!.mediaType)}`);
  return desc!;
}

function list(json: unknown, key: string, where: string, ref: string): Descriptor[] {
  const l = (json as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(l)) throw new CorruptInputError(ref, `${where} has no "${key}" list`);
  return l.map((d, i) => checkDescriptor(d, `${where}: ${key}[${i}]`, ref));
}

const short = (digest: string): string => digest.slice(0, 19);

/** The platform's entry of an index, by the same rule as OCI layouts (oci.ts). */
function choosePlatform(entries: Descriptor[], platform: string | undefined, where: string, ref: string): Descriptor {
  const want = parsePlatform(platform ?? 'linux/amd64');
  const matching = entries.filter(
    (d) => d.platform?.os === want.os && d.platform.architecture === want.architecture && (want.variant === undefined || d.platform.variant === want.variant),
  );
  let chosen = matching[0];
  if (!chosen && entries.length === 1 && (!entries[0]!.platform || platform === undefined)) chosen = entries[0];
  if (!chosen) throw new CorruptInputError(ref, `${where} has no manifest for platform ${platform ?? 'linux/amd64'} (it has: ${entries.map(platformName).join(', ')})`);
  return chosen;
}

/** The pinned manifest, or (through indexes) the image manifest for the platform. */
async function resolveManifest(
  cache: BlobCache, base: string, digest: string, opts: PullOptions, ref: string,
): Promise<{ manifest: Record<string, unknown>; digest: string; viaIndex: boolean }> {
  let d: Descriptor = { digest };
  let where = `manifest ${short(digest)}`;
  for (let depth = 0; depth < 8; depth++) {
    const file = await cache.ensure(d, `${base}/manifests/${d.digest}`, { accept: ACCEPT }, Math.min(d.size ?? MAX_JSON, MAX_JSON), where);
    const json = parseJson(fs.readFileSync(file), `${ref}: ${where}`) as Record<string, unknown> | null;
    if (json === null || typeof json !== 'object') throw new CorruptInputError(ref, `${where} is not a JSON object`);
    if (json.schemaVersion === 1) throw new UnsupportedError(ref, `${where} is a schema 1 manifest, which registries no longer serve; pin a schema 2 or OCI manifest`);
    const mediaType = typeof json.mediaType === 'string' ? json.mediaType : d.mediaType;
    if (mediaType === MT.ociIndex || mediaType === MT.dockerList || (mediaType === undefined && Array.isArray(json.manifests))) {
      const entries = list(json, 'manifests', where, ref);
      d = choosePlatform(entries, opts.platform, where, ref);
      where = `manifest ${short(d.digest)} (${platformName(d)})`;
      continue;
    }
    if (mediaType !== undefined && mediaType !== MT.ociManifest && mediaType !== MT.dockerManifest) {
      throw new UnsupportedError(ref, `${where} has media type ${mediaType}, not an image manifest`);
    }
    return { manifest: json, digest: d.digest, viaIndex: depth > 0 };
  }
  throw new CorruptInputError(ref, 'indexes nested too deeply');
}

/** Refuses layers that are not plain filesystem tars in the registry (foreign, encrypted, artifacts). */
function checkLayer(d: Descriptor, i: number, ref: string): void {
  const mt = d.mediaType;
  if (mt === undefined) return;
  if (FOREIGN_TYPE.test(mt)) {
    const where = d.urls?.length ? `; its bytes are at ${d.urls[0]}` : '';
    throw new UnsupportedError(ref, `layer ${i + 1} is a non-distributable (foreign) layer (${mt}), not stored in the registry${where}`);
  }
  if (mt.includes('encrypted')) throw new UnsupportedError(ref, `layer ${i + 1} is encrypted (${mt})`);
  if (!LAYER_TYPE.test(mt)) throw new UnsupportedError(ref, `layer ${i + 1} has media type ${mt}, not a filesystem layer`);
}

/**
 * Pulls the image pinned by `ref` into the blob cache (what is already there and intact is
 * not downloaded again) and loads its tree. `manifestDigest` is the image manifest's digest
 * (after choosing the platform from an index): a key for caches of what is built from it.
 */
export async function pullImage(ref: string, opts: PullOptions): Promise<LoadedTree & { manifestDigest: string }> {
  const { registry, repository, digest } = parseImageRef(ref);
  const want = parsePlatform(opts.platform ?? 'linux/amd64');
  const log = opts.log ?? (() => {});
  const f = opts.fetch ?? globalThis.fetch;
  const session = new RegistrySession({ ref, registry, scope: `repository:${repository}:pull`, fetch: f, log, credentials: opts.credentials });
  const warnings: string[] = [];
  const cache = new BlobCache(opts.blobCache, ref, session, log, warnings, opts.onTemp ?? (() => () => {}));
  const base = `${registryBase(registry)}/v2/${repository}`;

  const { manifest, digest: manifestDigest, viaIndex } = await resolveManifest(cache, base, digest, opts, ref);
  const mwhere = `manifest ${short(manifestDigest)}`;
  const config = checkDescriptor(manifest.config, `${mwhere}: config`, ref);
  if (config.mediaType !== undefined && !CONFIG_TYPES.has(config.mediaType)) {
    throw new UnsupportedError(ref, `not a container image: the config has media type ${config.mediaType}`);
  }
  const layers = list(manifest, 'layers', mwhere, ref);
  layers.forEach((d, i) => checkLayer(d, i, ref));

  const cfgFile = await cache.ensure(config, `${base}/blobs/${config.digest}`, {}, Math.min(config.size ?? MAX_JSON, MAX_JSON), `config ${short(config.digest)}`);
  const cfgWhere = `${ref}: config ${short(config.digest)}`;
  const cfg = parseJson(fs.readFileSync(cfgFile), cfgWhere) as { os?: unknown; architecture?: unknown; rootfs?: { diff_ids?: unknown } } | null;
  const diffIds = cfg?.rootfs?.diff_ids;
  if (!Array.isArray(diffIds)) throw new CorruptInputError(cfgWhere, 'the image config has no rootfs.diff_ids (needed to check its layers)');
  if (diffIds.length !== layers.length) throw new CorruptInputError(cfgWhere, `the image config lists ${diffIds.length} diff_ids for ${layers.length} layers`);
  diffIds.forEach((d, i) => checkDigest(d, cfgWhere, `diff_ids[${i}]`));
  if (!viaIndex && opts.platform !== undefined && typeof cfg?.architecture === 'string' && (cfg.os !== want.os || cfg.architecture !== want.architecture)) {
    warnings.push(`${ref}: the image is for ${String(cfg.os)}/${cfg.architecture}, not ${opts.platform}`);
  }

  const inputs: LayerInput[] = [];
  for (const [i, d] of layers.entries()) {
    const what = `layer ${i + 1} (${short(d.digest)})`;
    const file = await cache.ensure(d, `${base}/blobs/${d.digest}`, {}, d.size ?? Number.MAX_SAFE_INTEGER, what);
    const label = `${ref}: ${what}`;
    inputs.push({ label, open: verifiedOpener(() => fs.createReadStream(file, { highWaterMark: 1 << 20 }), d.digest, label), diffId: diffIds[i] as string });
  }
  const loaded = await applyLayers(inputs, { lenient: opts.lenient });
  return { ...loaded, warnings: [...warnings, ...loaded.warnings], manifestDigest };
}
