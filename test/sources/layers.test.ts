// Container image sources: docker save archives (new and legacy layouts) and OCI layouts
// (directory and tar), layers applied in order with whiteouts, opaque directories,
// cross-layer hard links and type changes; hostile entries refused (or skipped when lenient);
// and one end-to-end `cake-img mkfs` of a layered image checked by e2fsck.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { packTar, type TarEntry } from '../helpers/tar-pack.js';
import { imageConfig } from '../helpers/image-config.js';
import { pathsOf } from '../helpers/tree-paths.js';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSource } from '../../src/host/load-source.js';
import type { LoadedTree } from '../../src/sources/directory.js';
import { type LayerInput, applyLayers } from '../../src/sources/layers.js';
import { loadDockerArchive, loadImage, loadOciArchive, loadOciDirectory } from '../../src/host/container-image.js';
import type { DirNode, FileNode, FsNode } from '../../src/tree/node.js';
import { CorruptInputError } from '../../src/util/errors.js';
import { cakeImg } from '../helpers/cli.js';
import { expectFsckClean } from '../oracles/e2fsck.js';
import { hasTool } from '../oracles/tools.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-layers-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');


const streamOf = (buf: Uint8Array, chunk = 4096) =>
  async function* (): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
  };

// --- the test image: three layers (gzip, plain, zstd) -----------------------------------

const LAYER1: TarEntry[] = [
  { name: 'etc/' },
  { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
  { name: 'etc/shadow-me', body: 'secret\n' },
  { name: 'bin/' },
  { name: 'bin/busybox', body: 'BUSYBOX BINARY\n', mode: 0o755 },
  { name: 'opt/' },
  { name: 'opt/old1', body: 'old1\n' },
  { name: 'opt/sub/' },
  { name: 'opt/sub/old2', body: 'old2\n' },
  { name: 'usr/' },
  { name: 'usr/bin/' },
  { name: 'usr/bin/su', body: 'su\n', mode: 0o4755 },
  { name: 'dev/' },
  { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
  { name: 'home/' },
  { name: 'home/user/', uid: 1000, gid: 1000, mode: 0o700 },
  { name: 'home/user/notes', body: 'mine\n', uid: 1000, gid: 1000, mode: 0o600 },
  { name: 'thing', body: 'was a file\n' },
];
const LAYER2: TarEntry[] = [
  { name: 'etc/' },
  { name: 'etc/.wh.shadow-me', body: '' },
  { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n' },
  { name: 'opt/' },
  { name: 'opt/new', body: 'new\n' },
  { name: 'opt/.wh..wh..opq', body: '' },
  { name: 'bin/' },
  { name: 'bin/sh', type: 'link', linkname: 'bin/busybox' },
  { name: 'dev/' },
  { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660 },
];
const LAYER3: TarEntry[] = [
  { name: 'thing/' },
  { name: 'thing/inside', body: 'inside\n' },
  { name: 'etc/motd', body: 'welcome\n' },
];

let layerBlobs: Buffer[] | null = null;
async function layers(): Promise<Buffer[]> {
  if (!layerBlobs) {
    const l1 = gzipSync(await packTar(LAYER1));
    const l2 = await packTar(LAYER2);
    const l3 = execFileSync('zstd', ['-c', '-q'], { input: await packTar(LAYER3) });
    layerBlobs = [l1, l2, l3];
  }
  return layerBlobs;
}

async function writeTar(file: string, files: [string, Uint8Array | string][]): Promise<string> {
  const p = tarStream.pack();
  const dirs = new Set<string>();
  for (const [name, data] of files) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = `${parts.slice(0, i).join('/')}/`;
      if (!dirs.has(d)) {
        dirs.add(d);
        p.entry({ name: d, type: 'directory', mode: 0o755 });
      }
    }
    p.entry({ name, mode: 0o644 }, Buffer.from(data));
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  fs.writeFileSync(file, Buffer.concat(chunks));
  return file;
}

async function dockerArchive(legacy: boolean | 'podman'): Promise<string> {
  const ls = await layers();
  const files: [string, Uint8Array | string][] = [];
  const names: string[] = [];
  ls.forEach((blob, i) => {
    const id = sha(Buffer.from(`layer${i}`));
    const name = legacy === 'podman' ? `${id}.tar` : legacy ? `${id}/layer.tar` : `blobs/sha256/${sha(blob)}`;
    names.push(name);
    files.push([name, blob]);
  });
  const config = imageConfig(ls);
  files.push([`${sha(Buffer.from(config))}.json`, config]);
  files.push(['manifest.json', JSON.stringify([{ Config: `${sha(Buffer.from(config))}.json`, RepoTags: ['test:1'], Layers: names }])]);
  return writeTar(path.join(work, `docker-${String(legacy)}.tar`), files);
}

const MT = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
};

/** An OCI layout: index.json → an index with linux/arm64 (layer 1 only) and linux/amd64 (all three). */
async function ociFiles(): Promise<[string, Uint8Array | string][]> {
  const ls = await layers();
  const files: [string, Uint8Array | string][] = [];
  const blob = (data: Uint8Array | string, mediaType: string, extra: object = {}) => {
    const b = Buffer.from(data);
    files.push([`blobs/sha256/${sha(b)}`, b]);
    return { mediaType, digest: `sha256:${sha(b)}`, size: b.length, ...extra };
  };
  const types = ['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar', 'application/vnd.oci.image.layer.v1.tar+zstd'];
  const layerDescs = ls.map((l, i) => blob(l, types[i]!));
  const config = blob(imageConfig(ls), MT.config);
  const armConfig = blob(imageConfig([ls[0]!], 'arm64'), MT.config);
  const amd = blob(JSON.stringify({ schemaVersion: 2, mediaType: MT.manifest, config, layers: layerDescs }), MT.manifest, {
    platform: { os: 'linux', architecture: 'amd64' },
  });
  const arm = blob(JSON.stringify({ schemaVersion: 2, mediaType: MT.manifest, config: armConfig, layers: [layerDescs[0]] }), MT.manifest, {
    platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  });
  const idx = blob(JSON.stringify({ schemaVersion: 2, mediaType: MT.index, manifests: [arm, amd] }), MT.index);
  files.push(['oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' })]);
  files.push(['index.json', JSON.stringify({ schemaVersion: 2, mediaType: MT.index, manifests: [idx] })]);
  return files;
}

async function ociDir(): Promise<string> {
  const dir = path.join(work, 'oci-dir');
  if (!fs.existsSync(dir)) {
    for (const [name, data] of await ociFiles()) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), data);
    }
  }
  return dir;
}

const ociTar = async (): Promise<string> => writeTar(path.join(work, 'oci.tar'), await ociFiles());

// --- tree inspection ---------------------------------------------------------------------

const entries = (root: DirNode): Map<string, FsNode> => pathsOf(root);

/** Every file's text, read through the ContentSource in ascending order. */
async function texts(l: LoadedTree): Promise<Map<FileNode, string>> {
  const files = [...new Set([...entries(l.tree.root).values()].filter((n): n is FileNode => n.kind === 'file'))];
  files.sort((a, b) => (a.content?.order ?? -1) - (b.content?.order ?? -1));
  const out = new Map<FileNode, string>();
  for (const f of files) {
    const chunks: Buffer[] = [];
    if (f.content) await l.content.read(f.content, (c) => void chunks.push(Buffer.from(c)));
    const s = Buffer.concat(chunks).toString('latin1');
    expect(s.length).toBe(f.size);
    out.set(f, s);
  }
  await l.content.close();
  return out;
}

async function expectImage(l: LoadedTree): Promise<void> {
  const e = entries(l.tree.root);
  const text = await texts(l);
  const file = (p: string): FileNode => {
    const n = e.get(p);
    expect(n?.kind, p).toBe('file');
    return n as FileNode;
  };
  expect([...e.keys()].filter((p) => p.split('/').some((c) => c.startsWith('.wh.')))).toEqual([]);
  // whiteout of a file
  expect(e.has('etc/shadow-me')).toBe(false);
  // a later layer's file replaces the earlier one
  expect(text.get(file('etc/passwd'))).toContain('user:x:1000');
  // opaque directory: earlier entries gone, the same layer's stay
  expect([...(e.get('opt') as DirNode).entries.keys()]).toEqual(['new']);
  expect(text.get(file('opt/new'))).toBe('new\n');
  // cross-layer hard link: one inode under two names
  expect(file('bin/sh')).toBe(file('bin/busybox'));
  expect(text.get(file('bin/sh'))).toBe('BUSYBOX BINARY\n');
  expect(file('bin/sh').perm).toBe(0o755);
  // setuid
  expect(file('usr/bin/su').perm).toBe(0o4755);
  // device nodes
  expect(e.get('dev/null')).toMatchObject({ kind: 'chardev', major: 1, minor: 3, perm: 0o666 });
  expect(e.get('dev/sda')).toMatchObject({ kind: 'blockdev', major: 8, minor: 0, perm: 0o660 });
  // owner 1000:1000
  expect(e.get('home/user')).toMatchObject({ kind: 'dir', uid: 1000, gid: 1000, perm: 0o700 });
  expect(file('home/user/notes')).toMatchObject({ uid: 1000, gid: 1000, perm: 0o600 });
  expect(text.get(file('home/user/notes'))).toBe('mine\n');
  // type change: file → directory
  expect(e.get('thing')?.kind).toBe('dir');
  expect(text.get(file('thing/inside'))).toBe('inside\n');
  expect(text.get(file('etc/motd'))).toBe('welcome\n');
  expect([...e.keys()].sort()).toEqual(
    [
      'bin', 'bin/busybox', 'bin/sh', 'dev', 'dev/null', 'dev/sda', 'etc', 'etc/motd', 'etc/passwd', 'home', 'home/user', 'home/user/notes',
      'opt', 'opt/new', 'thing', 'thing/inside', 'usr', 'usr/bin', 'usr/bin/su',
    ].sort(),
  );
  expect(l.warnings).toEqual([]);
}

describe('container images', () => {
  it('docker save archive (blobs layout)', async () => {
    await expectImage(await loadDockerArchive(await dockerArchive(false)));
  });

  it('docker save archive (legacy <id>/layer.tar layout)', async () => {
    await expectImage(await loadDockerArchive(await dockerArchive(true)));
  });

  it('OCI layout directory and tar, linux/amd64 picked from the index', async () => {
    await expectImage(await loadOciDirectory(await ociDir()));
    await expectImage(await loadOciArchive(await ociTar()));
    await expectImage(await loadImage(await ociDir()));
  });

  it('OCI --platform picks another manifest; an unknown one is an error listing what there is', async () => {
    const l = await loadOciDirectory(await ociDir(), { platform: 'linux/arm64' });
    const e = entries(l.tree.root);
    expect(e.has('etc/shadow-me')).toBe(true);
    expect(e.has('thing/inside')).toBe(false);
    await l.content.close();
    await expect(loadOciDirectory(await ociDir(), { platform: 'linux/s390x' })).rejects.toThrow(/linux\/s390x.*linux\/arm64\/v8, linux\/amd64/);
  });

  it('loadSource detects all four forms; a plain rootfs tar is still a tar', async () => {
    await expectImage(await loadSource(await dockerArchive(false)));
    await expectImage(await loadSource(await dockerArchive(true)));
    await expectImage(await loadSource(await dockerArchive('podman')));
    await expectImage(await loadSource(await ociDir()));
    await expectImage(await loadSource(await ociTar()));
    const plain = path.join(work, 'plain.tar');
    fs.writeFileSync(plain, await packTar(LAYER1));
    const l = await loadSource(plain);
    expect(entries(l.tree.root).has('etc/shadow-me')).toBe(true);
    await l.content.close();
  });

  it('a gzipped docker save archive loads too (docker save | gzip)', async () => {
    const gz = path.join(work, 'docker.tar.gz');
    fs.writeFileSync(gz, gzipSync(fs.readFileSync(await dockerArchive(false))));
    await expectImage(await loadDockerArchive(gz));
    await expectImage(await loadImage(gz));
  });

  it('big members stream through gzip and zstd layers intact', async () => {
    const big = Buffer.alloc(5 << 20);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    const tar = async (name: string): Promise<Buffer> => {
      const p = tarStream.pack();
      p.entry({ name, mode: 0o644 }, big);
      p.entry({ name: `${name}.small`, mode: 0o644 }, 'tail');
      p.finalize();
      const chunks: Buffer[] = [];
      for await (const c of p) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    };
    const zst = execFileSync('zstd', ['-c', '-q', '-1'], { input: await tar('z'), maxBuffer: 1 << 26 });
    const l = await applyLayers([
      { label: 'gz', open: streamOf(gzipSync(await tar('g')), 100_000) },
      { label: 'zst', open: streamOf(zst, 100_000) },
    ]);
    const t = await texts(l);
    const byName = (n: string): string => t.get(l.tree.root.entries.get(n) as FileNode)!;
    expect(sha(Buffer.from(byName('g'), 'latin1'))).toBe(sha(big));
    expect(sha(Buffer.from(byName('z'), 'latin1'))).toBe(sha(big));
    expect(byName('z.small')).toBe('tail');
  });

  it('a layer whose bytes do not match its digest is an error naming it', async () => {
    const dir = path.join(work, 'oci-bad-layer');
    fs.cpSync(await ociDir(), dir, { recursive: true });
    const layer2 = path.join(dir, 'blobs/sha256', sha((await layers())[1]!));
    const bytes = fs.readFileSync(layer2);
    bytes[1538] = bytes[1538]! ^ 1; // inside etc/passwd's data (after two bare headers): still a valid tar
    fs.writeFileSync(layer2, bytes);
    await expect(loadOciDirectory(dir)).rejects.toThrow(/layer 2 \(blobs\/sha256\/[0-9a-f]{64}\): layer does not match its digest/);
  });

  it('a corrupted blob is noticed by its digest', async () => {
    const dir = path.join(work, 'oci-bad');
    fs.cpSync(await ociDir(), dir, { recursive: true });
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    const blob = path.join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7));
    fs.writeFileSync(blob, fs.readFileSync(blob, 'utf8').replace('arm64', 'arm65'));
    await expect(loadOciDirectory(dir)).rejects.toThrow(/does not match its digest/);
  });
});

// --- hostile layers ----------------------------------------------------------------------

async function layerSet(...ls: TarEntry[][]): Promise<LayerInput[]> {
  const out: LayerInput[] = [];
  for (const [i, l] of ls.entries()) out.push({ label: `img: layer ${i + 1}`, open: streamOf(await packTar(l)) });
  return out;
}

const HOSTILE: [string, TarEntry[][], RegExp][] = [
  ['../x', [[{ name: '../x', body: 'x' }]], /layer 1: \.\.\/x: .*"\.\."/],
  ['/abs', [[{ name: '/abs', body: 'x' }]], /layer 1: \/abs: absolute/],
  ['a/../../x', [[{ name: 'a/../../x', body: 'x' }]], /layer 1: a\/\.\.\/\.\.\/x:/],
  ['./../x', [[{ name: './../x', body: 'x' }]], /layer 1: \.\/\.\.\/x:/],
  [
    'evil -> /etc, then evil/passwd',
    [[{ name: 'evil', type: 'symlink', linkname: '/etc' }], [{ name: 'evil/passwd', body: 'pwned' }]],
    /layer 2: evil\/passwd: .*symlink "evil"/,
  ],
  [
    'hard link to ../../etc/passwd',
    [[{ name: 'link', type: 'link', linkname: '../../etc/passwd' }]],
    /layer 1: link \(hard link target\): .*"\.\."/,
  ],
  [
    'hard link through a planted symlink',
    [[{ name: 'evil', type: 'symlink', linkname: '/etc' }], [{ name: 'link', type: 'link', linkname: 'evil/passwd' }]],
    /layer 2: link \(hard link target\): .*symlink "evil"/,
  ],
  [
    'whiteout through a planted symlink',
    [[{ name: 'evil', type: 'symlink', linkname: '/etc' }], [{ name: 'evil/.wh.passwd', body: '' }]],
    /layer 2: evil\/\.wh\.passwd: .*symlink "evil"/,
  ],
];

describe('hostile layers', () => {
  for (const [title, ls, re] of HOSTILE) {
    it(`${title}: an error naming the layer and entry; skipped with a warning when lenient`, async () => {
      let err: unknown;
      try {
        await applyLayers(await layerSet(...ls));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CorruptInputError);
      expect((err as Error).message).toMatch(re);

      const withGood = ls.map((l, i) => (i === ls.length - 1 ? [...l, { name: 'ok', body: 'fine\n' }] : l));
      const l = await applyLayers(await layerSet(...withGood), { lenient: true });
      expect(l.warnings).toHaveLength(1);
      expect(l.warnings[0]).toMatch(re);
      expect(l.warnings[0]).toMatch(/entry skipped/);
      const e = entries(l.tree.root);
      expect(e.has('ok')).toBe(true);
      expect([...e.keys()].filter((p) => p !== 'ok' && p !== 'evil')).toEqual([]);
      if (e.has('evil')) expect(e.get('evil')?.kind).toBe('symlink');
      await l.content.close();
    });
  }

  it('a symlink replaced by a directory in a later layer is fine', async () => {
    const l = await applyLayers(
      await layerSet([{ name: 'd', type: 'symlink', linkname: '/etc' }], [{ name: 'd/' }, { name: 'd/f', body: 'ok\n' }]),
    );
    const e = entries(l.tree.root);
    expect(e.get('d')?.kind).toBe('dir');
    expect([...(await texts(l)).values()]).toEqual(['ok\n']);
  });

  it('files deleted or replaced by later layers are never read', async () => {
    const ls = await layerSet(
      [{ name: 'a', body: 'A1' }, { name: 'b', body: 'B1' }, { name: 'c', body: 'C1' }],
      [{ name: '.wh.a', body: '' }, { name: 'b', body: 'B2' }],
    );
    const l = await applyLayers(ls);
    const files = [...entries(l.tree.root).values()] as FileNode[];
    expect(files.map((f) => f.size)).toEqual([2, 2]);
    // Layer 2's "b" orders after layer 1's "c": each layer's stream is read once, front to back.
    const [b, c] = [files.find((f) => f.content && (l.tree.root.entries.get('b') === f))!, l.tree.root.entries.get('c') as FileNode];
    expect(b.content!.order).toBeGreaterThan(c.content!.order);
    expect([...(await texts(l)).values()]).toEqual(['C1', 'B2']);
  });
});

describe('cake-img mkfs from a layered image', () => {
  it.skipIf(!hasTool('e2fsck') || !fs.existsSync(path.resolve('dist/cli/main.js')))('docker save archive → ext4, clean under e2fsck', async () => {
    const archive = await dockerArchive(false);
    const img = path.join(work, 'out.img');
    const r = cakeImg(['mkfs', archive, img]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expectFsckClean(img);
    const ls = execFileSync('debugfs', ['-R', 'ls -p /opt', img], { encoding: 'utf8', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    expect(ls).toContain('/new/');
    expect(ls).not.toContain('old1');
  });

  it.skipIf(!fs.existsSync(path.resolve('dist/cli/main.js')))('a hostile image fails in one line with no image; --lenient skips the entry and warns', async () => {
    const layer = await packTar([{ name: 'ok', body: 'fine' }, { name: '../escape', body: 'x' }]);
    const config = imageConfig([layer]);
    const archive = await writeTar(path.join(work, 'hostile.tar'), [
      [`blobs/sha256/${sha(layer)}`, layer],
      [`${sha(Buffer.from(config))}.json`, config],
      ['manifest.json', JSON.stringify([{ Config: `${sha(Buffer.from(config))}.json`, Layers: [`blobs/sha256/${sha(layer)}`] }])],
    ]);
    const img = path.join(work, 'hostile.img');
    const bad = cakeImg(['mkfs', archive, img]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/\.\.\/escape/);
    expect(fs.existsSync(img)).toBe(false);
    const ok = cakeImg(['mkfs', archive, img, '--lenient']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/warning: .*\.\.\/escape.*skipped/);
    if (hasTool('e2fsck')) expectFsckClean(img);
    // initramfs takes the same options.
    const cpio = path.join(work, 'hostile.cpio');
    expect(cakeImg(['initramfs', archive, '-o', cpio]).status).toBe(1);
    expect(fs.existsSync(cpio)).toBe(false);
    const c = cakeImg(['initramfs', archive, '-o', cpio, '--lenient']);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/cpio newc, 1 entries/);
  });
});
