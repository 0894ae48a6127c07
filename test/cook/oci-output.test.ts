// `cook -o X.oci | X.oci.tar | X.docker.tar`, judged by real tools: skopeo inspects the
// layout and copies it into a real registry, umoci (as root) unpacks exactly the cooked
// tree (owners, modes, setuid, devices, xattrs, hard links), GNU tar lists the archives,
// and cake-img reads each output back as a source with the same tree hash. Outputs are
// byte-identical for the same inputs; a `.wh.` name is refused.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCookedDir } from '../../src/host/cooked-dir.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { NodeFileSink } from '../../src/host/node-file-sink.js';
import { writeTar } from '../../src/cook/tar-writer.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { cakeImg, canRunAsNobody, oneErrorLine } from '../helpers/cli.js';
import { expectTreesEqual } from '../helpers/compare-trees.js';
import { kitchenSink } from '../helpers/kitchen-sink.js';
import { type TestRegistry, startRegistry } from '../helpers/registry.js';
import { hasTool, isRoot } from '../oracles/tools.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-oci-out-'));
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const env = (cache: string) => ({ XDG_CACHE_HOME: path.join(work, cache), SOURCE_DATE_EPOCH: '1700000000' });
const run = (args: string[], cache = 'cache') => cakeImg(args, { asNobody: canRunAsNobody, env: env(cache) });
const json = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
const sha256 = (file: string): string => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
const hashOf = (stdout: string): string => /: (sha256:[0-9a-f]{64}) /.exec(stdout)![1]!;

let src = '';
let treeHash = '';
let entry = '';
beforeAll(async () => {
  // Every inode kind and metadata corner, as a pax tar (the source of the cooks below).
  const loaded = await loadDirectory(kitchenSink());
  src = path.join(work, 'sink.tar');
  const sink = new NodeFileSink(src);
  await writeTar(loaded.tree, loaded.content, sink.write);
  sink.close();
  fs.chmodSync(src, 0o644);
  const r = run(['cook', '--src', src, '--name', 'sink', '-q', '-o', path.join(work, 'sink.oci')]);
  expect(r.status, r.stderr).toBe(0);
  treeHash = hashOf(r.stdout);
  entry = /in (\S+); written/.exec(r.stdout)![1]!;
});

describe('cook -o NAME.oci', () => {
  it('writes an image layout skopeo reads: one layer, amd64/linux, created from SOURCE_DATE_EPOCH, the PATH', () => {
    const dir = path.join(work, 'sink.oci');
    expect(json(path.join(dir, 'oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = json(path.join(dir, 'index.json')) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests[0]!.annotations['org.opencontainers.image.ref.name']).toBe('latest');
    if (!hasTool('skopeo')) return;
    const info = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${dir}:latest`], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(info.Architecture).toBe('amd64');
    expect(info.Os).toBe('linux');
    expect(info.Created).toBe('2023-11-14T22:13:20Z');
    expect((info.Layers as string[]).length).toBe(1);
    expect(info.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${dir}:latest`], { encoding: 'utf8' })) as { history: { created_by: string }[]; rootfs: { diff_ids: string[] } };
    expect(raw.history).toHaveLength(1);
    expect(raw.history[0]!.created_by).toMatch(/^cake-img \S+ cook sink$/);
    expect(raw.rootfs.diff_ids).toHaveLength(1);
  });

  it('reads back through cake-img with the same tree hash (layout, oci.tar, docker.tar, each compression)', () => {
    const outs = ['sink.oci.tar', 'sink.docker.tar', 'sink-zstd.oci', 'sink-none.oci'];
    for (const o of outs) {
      const extra = o.includes('zstd') ? ['--layer-compression', 'zstd'] : o.includes('none') ? ['--layer-compression', 'none'] : [];
      const w = run(['cook', '--src', src, '--name', 'sink', '-q', '-o', path.join(work, o), ...extra]);
      expect(w.status, w.stderr).toBe(0);
    }
    const layer = (d: string) => ((json(path.join(d, 'blobs/sha256', (json(path.join(d, 'index.json')) as { manifests: { digest: string }[] }).manifests[0]!.digest.slice(7))) as { layers: { mediaType: string }[] }).layers[0]!.mediaType);
    expect(layer(path.join(work, 'sink.oci'))).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(layer(path.join(work, 'sink-zstd.oci'))).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(layer(path.join(work, 'sink-none.oci'))).toBe('application/vnd.oci.image.layer.v1.tar');
    for (const o of ['sink.oci', ...outs]) {
      const back = run(['cook', '--src', path.join(work, o), '--name', `back-${o}`, '-q']);
      expect(back.status, `${o}: ${back.stderr}`).toBe(0);
      expect(hashOf(back.stdout), o).toBe(treeHash);
    }
    // The docker archive is Docker 25's: the OCI layout plus manifest.json naming the same blobs.
    const names = execFileSync('tar', ['-tf', path.join(work, 'sink.docker.tar')], { encoding: 'utf8' }).trim().split('\n');
    expect(names.slice(0, 3)).toEqual(['oci-layout', 'index.json', 'manifest.json']);
    const m = JSON.parse(execFileSync('tar', ['-xOf', path.join(work, 'sink.docker.tar'), 'manifest.json'], { encoding: 'utf8' })) as { RepoTags: string[]; Layers: string[] }[];
    expect(m[0]!.RepoTags).toEqual(['sink:latest']);
    if (hasTool('skopeo')) {
      const info = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${path.join(work, 'sink.docker.tar')}`], { encoding: 'utf8' })) as { Layers: string[] };
      expect(info.Layers).toHaveLength(1);
    }
  });

  it('is byte-identical for the same inputs (another store, another run)', () => {
    for (const o of ['again.oci.tar', 'again.docker.tar']) {
      const r = run(['cook', '--src', src, '--name', 'sink', '-q', '-o', path.join(work, o)], 'cache-2');
      expect(r.status, r.stderr).toBe(0);
    }
    expect(sha256(path.join(work, 'again.oci.tar'))).toBe(sha256(path.join(work, 'sink.oci.tar')));
    expect(sha256(path.join(work, 'again.docker.tar'))).toBe(sha256(path.join(work, 'sink.docker.tar')));
  });

  it('--tag sets the names; a bad --layer-compression is a usage error', () => {
    const r = run(['cook', '--src', src, '--name', 'sink', '-q', '-o', path.join(work, 'tagged.docker.tar'), '--tag', 'example.org/cake/sink:v1']);
    expect(r.status, r.stderr).toBe(0);
    const index = JSON.parse(execFileSync('tar', ['-xOf', path.join(work, 'tagged.docker.tar'), 'index.json'], { encoding: 'utf8' })) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests[0]!.annotations).toEqual({ 'io.containerd.image.name': 'example.org/cake/sink:v1', 'org.opencontainers.image.ref.name': 'v1' });
    const bad = run(['cook', '--src', src, '--name', 'sink', '-q', '-o', path.join(work, 'x.oci'), '--layer-compression', 'lz4']);
    expect(bad.status).toBe(2);
    expect(oneErrorLine(bad)).toContain('--layer-compression');
    const badTag = run(['cook', '--src', src, '--name', 'sink', '-q', '-o', path.join(work, 'x.oci'), '--tag', 'Bad Name']);
    expect(badTag.status).toBe(2);
    expect(oneErrorLine(badTag)).toContain('--tag');
    expect(fs.existsSync(path.join(work, 'x.oci'))).toBe(false);
  });

  it('refuses a tree with a name starting with .wh. (it would read as a whiteout), leaving nothing', () => {
    const dir = path.join(work, 'wh');
    fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'etc/.wh.cfg'), 'real file\n');
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    const r = run(['cook', '--src', dir, '--name', 'wh', '-q', '-o', path.join(work, 'wh.oci.tar')]);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r)).toContain('/etc/.wh.cfg');
    expect(fs.readdirSync(work).filter((n) => n.includes('wh.oci'))).toEqual([]);
  });

  it.skipIf(!isRoot || !hasTool('umoci'))('umoci unpack (as root) gives exactly the cooked tree: owners, modes, setuid, devices, xattrs, hard links', async () => {
    const bundle = path.join(work, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${path.join(work, 'sink.oci')}:latest`, bundle], { stdio: 'pipe' });
    const want = await loadCookedDir(entry);
    const got = await loadDirectory(new NodeSourceFs(path.join(bundle, 'rootfs')));
    try {
      // Sockets cannot be stored in a layer; umoci does not set a symlink's time.
      want.tree.root.entries.delete('sock');
      // /xattrs carries an access ACL whose mask (r-x) disagrees with its mode (rw-r--r--):
      // setting the ACL makes the kernel derive the group bits from the mask, as it must.
      want.tree.root.entries.get('xattrs')!.perm = 0o754;
      await expectTreesEqual(want.tree, want.content, got.tree, got.content, { ignoreRootEntries: [], ignoreSymlinkTimes: true });
    } finally {
      await want.content.close();
      await got.content.close();
    }
  });
});

describe.skipIf(!hasTool('skopeo') || !hasTool('docker-registry'))('skopeo copy into a registry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => reg?.stop());

  it('copies the layout into a real registry, and cake-img pulls it back with the same tree hash', () => {
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${path.join(work, 'sink.oci')}:latest`, `docker://${reg.host}/cake/sink:latest`], { stdio: 'pipe' });
    const digest = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/cake/sink:latest`], { encoding: 'utf8' })).Digest as string;
    const index = json(path.join(work, 'sink.oci', 'index.json')) as { manifests: { digest: string }[] };
    expect(digest).toBe(index.manifests[0]!.digest); // the registry keeps our exact bytes
    const back = run(['cook', '--src', `${reg.host}/cake/sink@${digest}`, '--name', 'pulled', '-q']);
    expect(back.status, back.stderr).toBe(0);
    expect(hashOf(back.stdout)).toBe(treeHash);
  });
});
