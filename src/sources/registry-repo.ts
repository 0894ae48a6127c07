// One repository of a registry as a store (distribution-spec v1.1.1): blobs checked with
// HEAD and uploaded with POST + PUT (the monolithic upload every registry takes, continued
// at the Location it answers), manifests put and got by tag with our exact bytes, tags
// listed page by page, blobs streamed back checked against their digests. Every answer is
// untrusted: sizes are bounded, digests recomputed, JSON parsed defensively.
import { createHash } from 'node:crypto';
import { CorruptInputError, InvalidOptionError } from '../util/errors.js';
import { MAX_JSON } from './docker-archive.js';
import { type Credentials, type RequestBody, RegistryError, RegistrySession, bodyChunks, readLimited } from './registry-auth.js';
import { parseImageRef, registryBase } from './registry.js';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface RepoRef {
  registry: string;
  repository: string;
  /** As the user wrote it (messages start with it). */
  label: string;
}

/** `REGISTRY/REPO` (a host first, no tag, no digest), as `--cache` and `store push` take it. */
export function parseRepoRef(s: string, option = '--cache'): RepoRef {
  if (/[@]/.test(s) || /:[^/]*$/.test(s.replace(/^[^/]*/, ''))) throw new InvalidOptionError(option, `${JSON.stringify(s)}: name a repository, REGISTRY/REPO, without a tag or digest`);
  try {
    const r = parseImageRef(`${s}@sha256:${'0'.repeat(64)}`);
    return { registry: r.registry, repository: r.repository, label: s };
  } catch (e) {
    const why = (e as Error).message.replace(/^image: "[^"]*@sha256:0+": /, '');
    throw new InvalidOptionError(option, `${JSON.stringify(s)}: ${why.replace(/@sha256:…|, e\.g\. .*$/, '')}`);
  }
}

/** A tag the registry grammar allows (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`). */
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface RepoOptions {
  /** Ask for push rights too (a pull,push token). */
  push?: boolean;
  credentials?: Credentials | null;
  fetch?: typeof fetch;
  log?: (line: string) => void;
}

export interface Manifest {
  bytes: Uint8Array;
  digest: string;
  json: Record<string, unknown>;
}

export class RemoteRepo {
  readonly base: string;
  readonly session: RegistrySession;

  constructor(readonly ref: RepoRef, private readonly opts: RepoOptions = {}) {
    this.base = `${registryBase(ref.registry)}/v2/${ref.repository}`;
    this.session = new RegistrySession({
      ref: ref.label, registry: ref.registry, scope: `repository:${ref.repository}:pull${opts.push ? ',push' : ''}`,
      fetch: opts.fetch ?? globalThis.fetch, log: opts.log ?? (() => {}), credentials: opts.credentials,
    });
  }

  get credentials(): Credentials | null | undefined {
    return this.opts.credentials;
  }

  /** An image reference for the puller: `REGISTRY/REPO@DIGEST`. */
  pinned(digest: string): string {
    return `${this.ref.registry}/${this.ref.repository}@${digest}`;
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.session.request('HEAD', `${this.base}/blobs/${digest}`, { ok: (s) => s === 200 || s === 404 });
    await res.body?.cancel().catch(() => {});
    return res.status === 200;
  }

  /** Uploads a blob unless the registry has it: POST a session, PUT the bytes at its Location with the digest. */
  async pushBlob(digest: string, body: RequestBody): Promise<'present' | 'pushed'> {
    if (!DIGEST.test(digest)) throw new Error(`pushBlob: bad digest ${digest}`);
    if (await this.hasBlob(digest)) return 'present';
    const start = await this.session.request('POST', `${this.base}/blobs/uploads/`, { ok: (s) => s === 202 || s === 201 });
    await start.body?.cancel().catch(() => {});
    if (start.status === 201) return 'pushed';
    const location = start.headers.get('location');
    if (!location) throw new RegistryError(this.ref.label, `POST ${this.base}/blobs/uploads/ → 202 without a Location to upload to`);
    let at: URL;
    try {
      at = new URL(location, this.base);
    } catch {
      throw new RegistryError(this.ref.label, `the upload Location ${JSON.stringify(location.slice(0, 200))} is not a URL`);
    }
    // Credentials go with the upload: only to the registry's own origin.
    if (at.origin !== new URL(this.base).origin) throw new RegistryError(this.ref.label, `the upload Location ${JSON.stringify(at.href.slice(0, 200))} is not on the registry's origin`);
    at.searchParams.set('digest', digest);
    const put = await this.session.request('PUT', at.href, { headers: { 'content-type': 'application/octet-stream' }, body, ok: (s) => s === 201 || s === 204 });
    await put.body?.cancel().catch(() => {});
    return 'pushed';
  }

  /** Puts a manifest's exact bytes under `tag`; returns the digest the registry gives it (checked against ours). */
  async putManifest(tag: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    if (!TAG.test(tag) && !DIGEST.test(tag)) throw new Error(`putManifest: bad tag ${tag}`);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const res = await this.session.request('PUT', `${this.base}/manifests/${tag}`, { headers: { 'content-type': mediaType }, body: bytes, ok: (s) => s === 201 || s === 200 || s === 204 });
    await res.body?.cancel().catch(() => {});
    const said = res.headers.get('docker-content-digest');
    if (said && said !== digest) throw new RegistryError(this.ref.label, `the registry stored the manifest for ${tag} as ${said.slice(0, 80)}, not ${digest}: it changed our bytes`);
    return digest;
  }

  /** The manifest behind `tag`, or null when the registry has none (404). Its digest is computed here. */
  async getManifest(tag: string): Promise<Manifest | null> {
    const url = `${this.base}/manifests/${tag}`;
    const res = await this.session.request('GET', url, { headers: { accept: MANIFEST_ACCEPT }, ok: (s) => s === 200 || s === 404 });
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      return null;
    }
    const where = `${this.ref.label}: manifest ${tag}`;
    let bytes: Uint8Array;
    try {
      bytes = await readLimited(res, MAX_JSON, () => new CorruptInputError(where, `larger than ${MAX_JSON} bytes`));
    } catch (e) {
      if (e instanceof RegistryError || e instanceof CorruptInputError) throw e;
      throw new RegistryError(this.ref.label, `GET ${url}: the answer broke off: ${(e as Error).message}`);
    }
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new CorruptInputError(where, 'not valid JSON');
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new CorruptInputError(where, 'not a JSON object');
    return { bytes, digest, json: json as Record<string, unknown> };
  }

  /** A blob's bytes as they arrive, checked against its size and digest (a mismatch is an error at the end). */
  async *blob(digest: string, size: number): AsyncGenerator<Uint8Array> {
    if (!DIGEST.test(digest)) throw new CorruptInputError(this.ref.label, `bad digest ${JSON.stringify(digest).slice(0, 100)}`);
    const res = await this.session.get(`${this.base}/blobs/${digest}`);
    const h = createHash('sha256');
    let n = 0;
    for await (const c of bodyChunks(res)) {
      n += c.length;
      if (n > size) throw new CorruptInputError(`${this.ref.label}: blob ${digest.slice(0, 19)}`, `larger than the ${size} bytes its descriptor gives`);
      h.update(c);
      yield c;
    }
    const actual = `sha256:${h.digest('hex')}`;
    if (n !== size || actual !== digest) {
      throw new CorruptInputError(`${this.ref.label}: blob ${digest.slice(0, 19)}`, `does not match its descriptor: ${n} bytes with digest ${actual}, expected ${size} bytes with ${digest}`, { expected: digest, actual });
    }
  }

  /** Every tag, following the `Link` header's next pages (at most 100 pages). */
  async tags(): Promise<string[]> {
    const out: string[] = [];
    let url: string | null = `${this.base}/tags/list?n=1000`;
    for (let page = 0; url && page < 100; page++) {
      const res = await this.session.request('GET', url, { ok: (s) => s === 200 || s === 404 });
      if (res.status === 404) {
        await res.body?.cancel().catch(() => {});
        return out;
      }
      const where = `${this.ref.label}: tags/list`;
      const bytes = await readLimited(res, MAX_JSON, () => new CorruptInputError(where, `larger than ${MAX_JSON} bytes`));
      let json: { tags?: unknown } | null;
      try {
        json = JSON.parse(new TextDecoder().decode(bytes)) as { tags?: unknown } | null;
      } catch {
        throw new CorruptInputError(where, 'not valid JSON');
      }
      const tags = json?.tags;
      if (tags !== null && tags !== undefined && !Array.isArray(tags)) throw new CorruptInputError(where, '"tags" is not a list');
      for (const t of tags ?? []) if (typeof t === 'string' && TAG.test(t)) out.push(t);
      const next = /<([^>]*)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
      url = next ? new URL(next, this.base).href : null;
      if (url && new URL(url).origin !== new URL(this.base).origin) throw new CorruptInputError(where, 'the next page is on another origin');
    }
    return out;
  }
}
