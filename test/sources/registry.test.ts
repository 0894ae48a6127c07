// Registry pulls pinned by digest against a real registry (Debian's docker-registry)
// behind a logging proxy: layers with whiteouts, the blob cache (reuse, corruption),
// platform choice from OCI indexes and docker manifest lists, digest checks, bearer
// tokens, redirects, and the reference grammar.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { imageConfig } from '../helpers/image-config.js';
import { packTar, type TarEntry } from '../helpers/tar-pack.js';
import { pathsOf } from '../helpers/tree-paths.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedTree } from '../../src/sources/directory.js';
import { type PullOptions, isImageRef, parseImageRef, pullImage } from '../../src/sources/registry.js';
import type { DirNode, FileNode, FsNode } from '../../src/tree/node.js';
import { CakeError, CorruptInputError, InvalidOptionError, UnsupportedError } from '../../src/util/errors.js';
import { type Pushed, type TestProxy, type TestRegistry, freePort, pushBlob, pushManifest, sha256, startProxy, startRegistry } from '../helpers/registry.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-pull-'));
let reg: TestRegistry;
let proxy: TestProxy;

const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociTar: 'application/vnd.oci.image.layer.v1.tar',
  ociForeign: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};


const manifest = (cfg: Pushed, layers: Pushed[], mediaType = MT.ociManifest): object => ({ schemaVersion: 2, mediaType, config: cfg, layers });

// --- the images ---------------------------------------------------------------------------

const LAYER1: TarEntry[] = [
  { name: 'etc/' },
  { name: 'etc/hostname', body: 'cake\n' },
  { name: 'x', body: 'deleted by layer 2\n' },
  { name: 'home/' },
  { name: 'home/user/', uid: 1000, gid: 1000, mode: 0o700 },
  { name: 'home/user/notes', body: 'mine\n', uid: 1000, gid: 1000, mode: 0o600 },
];
const LAYER2: TarEntry[] = [{ name: '.wh.x', body: '' }, { name: 'etc/' }, { name: 'etc/motd', body: 'welcome\n' }];

const img: Record<string, { ref: string; digest: string; layers: Pushed[]; config: Pushed }> = {};
const refVia = (host: string, repo: string, digest: string): string => `${host}/${repo}@${digest}`;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg);

  // Two layers: gzip, then plain with a whiteout.
  const repo = 'test/two-layer';
  const b1 = gzipSync(await packTar(LAYER1));
  const b2 = await packTar(LAYER2);
  const l1 = await pushBlob(reg, repo, b1, MT.ociGzip);
  const l2 = await pushBlob(reg, repo, b2, MT.ociTar);
  const cfg = await pushBlob(reg, repo, imageConfig([b1, b2]), MT.ociConfig);
  const m = await pushManifest(reg, repo, 'v1', manifest(cfg, [l1, l2]), MT.ociManifest);
  img.two = { ref: repo, digest: m.digest, layers: [l1, l2], config: cfg };

  // Two platforms, as an OCI index and as a docker manifest list: amd64 is a docker v2
  // manifest with a gzip layer, arm64 an OCI manifest with a plain one.
  const multi = 'test/multi';
  const amdBytes = gzipSync(await packTar([{ name: 'arch', body: 'amd64\n' }]));
  const armBytes = await packTar([{ name: 'arch', body: 'arm64\n' }]);
  const amdLayer = await pushBlob(reg, multi, amdBytes, MT.dockerGzip);
  const armLayer = await pushBlob(reg, multi, armBytes, MT.ociTar);
  const amdCfg = await pushBlob(reg, multi, imageConfig([amdBytes], 'amd64'), MT.dockerConfig);
  const armCfg = await pushBlob(reg, multi, imageConfig([armBytes], 'arm64'), MT.ociConfig);
  const amd = await pushManifest(reg, multi, 'amd64', manifest(amdCfg, [amdLayer], MT.dockerManifest), MT.dockerManifest);
  const arm = await pushManifest(reg, multi, 'arm64', manifest(armCfg, [armLayer]), MT.ociManifest);
  const entries = [
    { ...arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { ...amd, platform: { os: 'linux', architecture: 'amd64' } },
  ];
  const oci = await pushManifest(reg, multi, 'oci', { schemaVersion: 2, mediaType: MT.ociIndex, manifests: entries }, MT.ociIndex);
  const list = await pushManifest(reg, multi, 'list', { schemaVersion: 2, mediaType: MT.dockerList, manifests: entries }, MT.dockerList);
  img.ociIndex = { ref: multi, digest: oci.digest, layers: [], config: amdCfg };
  img.dockerList = { ref: multi, digest: list.digest, layers: [], config: amdCfg };
  img.amd = { ref: multi, digest: amd.digest, layers: [amdLayer], config: amdCfg };
  img.arm = { ref: multi, digest: arm.digest, layers: [armLayer], config: armCfg };

  // A manifest with a non-distributable layer (its bytes live elsewhere).
  const foreign = { mediaType: MT.ociForeign, digest: sha256('elsewhere'), size: 9, urls: ['https://example.com/layer.tar.gz'] };
  const foreignCfg = await pushBlob(reg, multi, imageConfig([armBytes, armBytes], 'arm64'), MT.ociConfig);
  const f = await pushManifest(reg, multi, 'foreign', manifest(foreignCfg, [armLayer, foreign as Pushed]), MT.ociManifest);
  img.foreign = { ref: multi, digest: f.digest, layers: [], config: armCfg };
});

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

// --- helpers ------------------------------------------------------------------------------

let cacheN = 0;
const newCache = (): string => path.join(work, `cache-${cacheN++}`);

function reset(mode: TestProxy['mode'] = 'open'): void {
  proxy.mode = mode;
  proxy.redirectBlobs = false;
  proxy.aliases.clear();
  proxy.log.length = 0;
}
const blobGets = (): number => proxy.log.filter((r) => r.method === 'GET' && r.path.includes('/blobs/') && r.via === 'front').length;

const entries = (root: DirNode): Map<string, FsNode> => pathsOf(root);

/** Every file's text by path, read through the ContentSource in ascending order. */
async function texts(l: LoadedTree): Promise<Map<string, string>> {
  const files = [...entries(l.tree.root)].filter((e): e is [string, FileNode] => e[1].kind === 'file');
  files.sort((a, b) => (a[1].content?.order ?? -1) - (b[1].content?.order ?? -1));
  const out = new Map<string, string>();
  for (const [p, f] of files) {
    const chunks: Buffer[] = [];
    if (f.content) await l.content.read(f.content, (c) => void chunks.push(Buffer.from(c)));
    out.set(p, Buffer.concat(chunks).toString());
  }
  await l.content.close();
  return out;
}

const pull = (key: string, over: Partial<PullOptions> & { host?: string; digest?: string } = {}) =>
  pullImage(refVia(over.host ?? proxy.host, img[key]!.ref, over.digest ?? img[key]!.digest), { blobCache: over.blobCache ?? newCache(), ...over });

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the pull to fail');
}

const cached = (cache: string, digest: string): string => path.join(cache, 'sha256', digest.slice('sha256:'.length));

// --- tests --------------------------------------------------------------------------------

describe('pullImage', () => {
  it('pulls a two-layer image (gzip + plain, whiteout) into the cache, and reuses the cache', async () => {
    reset();
    const cache = newCache();
    const lines: string[] = [];
    const l = await pull('two', { blobCache: cache, log: (s) => lines.push(s) });
    expect(l.manifestDigest).toBe(img.two!.digest);
    const e = entries(l.tree.root);
    expect([...e.keys()].sort()).toEqual(['etc', 'etc/hostname', 'etc/motd', 'home', 'home/user', 'home/user/notes']);
    expect([...e.keys()].some((p) => p.includes('.wh.'))).toBe(false);
    expect(e.get('home/user')).toMatchObject({ kind: 'dir', uid: 1000, gid: 1000, perm: 0o700 });
    expect(e.get('home/user/notes')).toMatchObject({ kind: 'file', uid: 1000, gid: 1000, perm: 0o600 });
    const t = await texts(l);
    expect(Object.fromEntries(t)).toEqual({ 'etc/hostname': 'cake\n', 'etc/motd': 'welcome\n', 'home/user/notes': 'mine\n' });
    expect(l.warnings).toEqual([]);
    // 2 layers + config over the wire, all now in the cache with nothing left over
    expect(blobGets()).toBe(3);
    expect(lines.some((s) => s.startsWith('pulling layer 1'))).toBe(true);
    for (const d of [...img.two!.layers, img.two!.config, { digest: img.two!.digest }]) expect(fs.existsSync(cached(cache, d.digest)), d.digest).toBe(true);
    expect(fs.readdirSync(path.join(cache, 'sha256')).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    proxy.log.length = 0;
    const again = await pull('two', { blobCache: cache });
    expect(blobGets()).toBe(0);
    expect(proxy.log).toEqual([]); // the manifest is content-addressed too: a pinned pull is offline
    expect(Object.fromEntries(await texts(again))).toEqual(Object.fromEntries(t));
  });

  it.each(['ociIndex', 'dockerList'])('picks the platform from an index (%s)', async (key) => {
    reset();
    const amd = await pull(key);
    expect(amd.manifestDigest).toBe(img.amd!.digest);
    expect(Object.fromEntries(await texts(amd))).toEqual({ arch: 'amd64\n' });
    const arm = await pull(key, { platform: 'linux/arm64' });
    expect(arm.manifestDigest).toBe(img.arm!.digest);
    expect(Object.fromEntries(await texts(arm))).toEqual({ arch: 'arm64\n' });
    const armV8 = await pull(key, { platform: 'linux/arm64/v8' });
    expect(armV8.manifestDigest).toBe(img.arm!.digest);
    const err = await rejection(pull(key, { platform: 'linux/riscv64' }));
    expect(err).toBeInstanceOf(CorruptInputError);
    expect(err.message).toContain('no manifest for platform linux/riscv64 (it has: linux/arm64/v8, linux/amd64)');
  });

  it('refuses a manifest that does not match the pinned digest, naming both', async () => {
    reset();
    const wrong = sha256('not the manifest');
    proxy.aliases.set(`/v2/${img.two!.ref}/manifests/${wrong}`, `/v2/${img.two!.ref}/manifests/${img.two!.digest}`);
    const cache = newCache();
    const err = await rejection(pull('two', { digest: wrong, blobCache: cache }));
    expect(err).toBeInstanceOf(CorruptInputError);
    expect(err.message).toContain(`${proxy.host}/${img.two!.ref}@${wrong}`);
    expect(err.message).toContain(`expected ${wrong}, got ${img.two!.digest}`);
    expect(fs.existsSync(cached(cache, wrong))).toBe(false);
    expect(fs.readdirSync(path.join(cache, 'sha256'))).toEqual([]);
  });

  it('refuses a layer whose bytes do not match while downloading, and keeps nothing', async () => {
    reset();
    const [l1, l2] = img.two!.layers;
    proxy.aliases.set(`/v2/${img.two!.ref}/blobs/${l2!.digest}`, `/v2/${img.two!.ref}/blobs/${img.two!.config.digest}`);
    const cache = newCache();
    const err = await rejection(pull('two', { blobCache: cache }));
    expect(err).toBeInstanceOf(CorruptInputError);
    expect(err.message).toContain(`layer 2 (${l2!.digest.slice(0, 19)}) does not match its digest: expected ${l2!.digest}, got ${img.two!.config.digest}`);
    expect(fs.existsSync(cached(cache, l1!.digest))).toBe(true);
    expect(fs.existsSync(cached(cache, l2!.digest))).toBe(false);
    expect(fs.readdirSync(path.join(cache, 'sha256')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('downloads a corrupted cached blob again (once) and says so', async () => {
    reset();
    const cache = newCache();
    await texts(await pull('two', { blobCache: cache }));
    const l1 = img.two!.layers[0]!;
    const good = fs.readFileSync(cached(cache, l1.digest));
    const bad = Buffer.from(good);
    bad[bad.length >> 1] ^= 0xff; // same size, different bytes
    fs.writeFileSync(cached(cache, l1.digest), bad);
    proxy.log.length = 0;
    const l = await pull('two', { blobCache: cache });
    expect(blobGets()).toBe(1);
    expect(proxy.log.filter((r) => r.path.includes('/blobs/')).map((r) => r.path)).toEqual([`/v2/${img.two!.ref}/blobs/${l1.digest}`]);
    expect(l.warnings).toHaveLength(1);
    expect(l.warnings[0]).toContain('the cached copy of layer 1');
    expect(fs.readFileSync(cached(cache, l1.digest))).toEqual(good);
    expect((await texts(l)).get('etc/hostname')).toBe('cake\n');
  });

  it('gets an anonymous bearer token when challenged, once per run', async () => {
    reset('bearer');
    const l = await pull('ociIndex');
    expect(Object.fromEntries(await texts(l))).toEqual({ arch: 'amd64\n' });
    const tokens = proxy.log.filter((r) => r.path.startsWith('/token'));
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.path).toContain('service=test');
    expect(decodeURIComponent(tokens[0]!.path)).toContain(`scope=repository:${img.ociIndex!.ref}:pull`);
    // one 401, then every request carries the token: index, manifest, config, layer
    expect(proxy.log.filter((r) => r.status === 401)).toHaveLength(1);
    expect(proxy.log.filter((r) => r.status === 200 && r.authorization === `Bearer ${proxy.token}`)).toHaveLength(4);
  });

  it.each([
    ['basic', /→ 401 Unauthorized \(the registry asks for basic credentials\); give credentials in \$DOCKER_CONFIG/],
    ['bare401', /→ 401 Unauthorized; give credentials/],
  ] as const)('fails clearly on a 401 without a bearer challenge (%s)', async (mode, message) => {
    reset(mode);
    const err = await rejection(pull('two'));
    expect(err).toBeInstanceOf(CakeError);
    expect((err as CakeError).code).toBe('EREGISTRY');
    expect((err as CakeError).stage).toBe('source');
    expect(err.message).toMatch(message);
    expect(err.message).toContain(`${proxy.host}/${img.two!.ref}@${img.two!.digest}: GET http://${proxy.host}/v2/`);
    expect(err.message).not.toContain('\n');
  });

  it('follows blob redirects to another origin without sending the token there', async () => {
    reset('bearer');
    proxy.redirectBlobs = true;
    const l = await pull('two');
    expect(Object.fromEntries(await texts(l))).toHaveProperty('etc/motd', 'welcome\n');
    const storage = proxy.log.filter((r) => r.via === 'storage');
    expect(storage).toHaveLength(3);
    expect(storage.every((r) => r.status === 200 && r.authorization === undefined)).toBe(true);
  });

  it('reports HTTP errors and unreachable registries in one line naming the ref', async () => {
    reset();
    const missing = sha256('missing');
    const err = await rejection(pull('two', { digest: missing }));
    expect((err as CakeError).code).toBe('EREGISTRY');
    expect(err.message).toBe(
      `${proxy.host}/${img.two!.ref}@${missing}: GET http://${proxy.host}/v2/${img.two!.ref}/manifests/${missing} → 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)`,
    );
    const closed = `127.0.0.1:${await freePort()}`;
    const down = await rejection(pull('two', { host: closed }));
    expect((down as CakeError).code).toBe('EREGISTRY');
    expect(down.message).toBe(`${closed}/${img.two!.ref}@${img.two!.digest}: GET http://${closed}/v2/${img.two!.ref}/manifests/${img.two!.digest} failed: ECONNREFUSED`);
  });

  it('refuses non-distributable (foreign) layers', async () => {
    reset();
    const err = await rejection(pull('foreign'));
    expect(err).toBeInstanceOf(UnsupportedError);
    expect(err.message).toContain('layer 2 is a non-distributable (foreign) layer');
    expect(err.message).toContain('https://example.com/layer.tar.gz');
    expect(blobGets()).toBe(0);
  });

  it('uses http only for loopback and CAKE_IMG_INSECURE_REGISTRIES; docker.io is registry-1 with library/', async () => {
    const urls: string[] = [];
    const fake = (async (u: string | URL | Request) => {
      urls.push(String(u));
      throw new TypeError('fetch failed', { cause: { code: 'ESTOP' } });
    }) as typeof fetch;
    const d = sha256('x');
    const tryPull = (ref: string) => rejection(pullImage(ref, { blobCache: newCache(), fetch: fake }));
    const saved = process.env.CAKE_IMG_INSECURE_REGISTRIES;
    try {
      delete process.env.CAKE_IMG_INSECURE_REGISTRIES;
      await tryPull(`reg.example:5000/a/b@${d}`);
      await tryPull(`docker.io/debian:bookworm@${d}`);
      await tryPull(`[::1]:5000/a@${d}`);
      process.env.CAKE_IMG_INSECURE_REGISTRIES = 'other.example, reg.example';
      await tryPull(`reg.example:5000/a/b@${d}`);
    } finally {
      if (saved === undefined) delete process.env.CAKE_IMG_INSECURE_REGISTRIES;
      else process.env.CAKE_IMG_INSECURE_REGISTRIES = saved;
    }
    expect(urls).toEqual([
      `https://reg.example:5000/v2/a/b/manifests/${d}`,
      `https://registry-1.docker.io/v2/library/debian/manifests/${d}`,
      `http://[::1]:5000/v2/a/manifests/${d}`,
      `http://reg.example:5000/v2/a/b/manifests/${d}`,
    ]);
  });
});

describe('parseImageRef', () => {
  const hex = 'a'.repeat(64);
  it.each([
    [`localhost:5000/foo/bar@sha256:${hex}`, 'localhost:5000', 'foo/bar'],
    [`localhost:5000/foo/bar:1.2-rc@sha256:${hex}`, 'localhost:5000', 'foo/bar'],
    [`ghcr.io/org/team/app@sha256:${hex}`, 'ghcr.io', 'org/team/app'],
    [`docker.io/debian:bookworm@sha256:${hex}`, 'registry-1.docker.io', 'library/debian'],
    [`docker.io/bitnami/redis@sha256:${hex}`, 'registry-1.docker.io', 'bitnami/redis'],
    [`[::1]:5000/a.b/c_d/e__f/g-h@sha256:${hex}`, '[::1]:5000', 'a.b/c_d/e__f/g-h'],
    [`registry:5000/x@sha256:${hex}`, 'registry:5000', 'x'],
  ])('accepts %s', (ref, registry, repository) => {
    expect(parseImageRef(ref)).toEqual({ registry, repository, digest: `sha256:${hex}` });
    expect(isImageRef(ref)).toBe(true);
  });

  it.each([
    ['localhost:5000/foo:latest', 'no digest'],
    ['localhost:5000/foo', 'no digest'],
    [`localhost:5000/foo@sha256:${hex.slice(1)}`, 'is not sha256:<64 lowercase hex digits>'],
    [`localhost:5000/foo@sha256:${hex}0`, 'is not sha256:<64 lowercase hex digits>'],
    [`localhost:5000/foo@sha256:${hex.toUpperCase()}`, 'is not sha256:<64 lowercase hex digits>'],
    [`localhost:5000/foo@sha512:${'a'.repeat(128)}`, 'is not sha256:'],
    [`debian@sha256:${hex}`, 'name the registry host first'],
    [`library/debian@sha256:${hex}`, 'name the registry host first'],
    [`localhost:5000@sha256:${hex}`, 'name the registry host first'],
    [`localhost:5000/Foo@sha256:${hex}`, 'bad repository component "Foo"'],
    [`localhost:5000/foo//bar@sha256:${hex}`, 'bad repository component ""'],
    [`localhost:5000/foo:bad/tag@sha256:${hex}`, 'bad repository component "foo:bad"'],
    [`localhost:5000/foo:.x@sha256:${hex}`, 'bad tag ".x"'],
    [`-bad.host/foo@sha256:${hex}`, 'bad registry host'],
    [`localhost:5000/foo@sha256:${hex}@sha256:${hex}`, 'is not sha256:'],
  ])('rejects %s', (ref, message) => {
    let err: unknown;
    try {
      parseImageRef(ref);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toContain(message);
  });

  it('isImageRef: only reference-shaped strings that are not existing paths', () => {
    const dir = path.join(work, `host.example/repo@sha256:${hex}`);
    fs.mkdirSync(dir, { recursive: true });
    expect(isImageRef(dir)).toBe(false);
    expect(isImageRef('rootfs.tar')).toBe(false);
    expect(isImageRef(`debian@sha256:${hex}`)).toBe(false);
    expect(isImageRef(`localhost:5000/foo@sha256:${hex}`)).toBe(true);
  });
});
