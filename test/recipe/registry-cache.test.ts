// `build --cache REGISTRY/REPO` against Debian's real docker-registry on 127.0.0.1, as
// uid 65534: runner A builds and pushes, runner B (a fresh XDG_CACHE_HOME) pulls every step
// and gets the same image; two runners pushing at once leave a valid entry; a tampered
// blob (the proxy serves another blob's bytes) is refused and rebuilt with a warning; a
// stopped registry is one warning and a local build (a failure with --require-cache);
// --cache-push=false pushes nothing; push and pull through a token-demanding proxy and
// with basic credentials from a docker config.json; store push/pull/ls --remote.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cakeImgAsync, canRunAsNobody, oneErrorLine } from '../helpers/cli.js';
import { fakeKernel } from '../helpers/fake-kernel.js';
import { type TestProxy, type TestRegistry, freePort, startProxy, startRegistry } from '../helpers/registry.js';
import { hasTool } from '../oracles/tools.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-regcache-'));
fs.chmodSync(work, 0o777);
const asNobody = canRunAsNobody;
let reg: TestRegistry;
let proxy: TestProxy;
let n = 0;

/** A fresh runner: its own cache and --out. */
function runner(extraEnv: Record<string, string> = {}): { env: Record<string, string>; out: string } {
  const dir = path.join(work, `runner-${n++}`);
  fs.mkdirSync(path.join(dir, 'cache'), { recursive: true, mode: 0o777 });
  fs.chmodSync(dir, 0o777);
  fs.chmodSync(path.join(dir, 'cache'), 0o777);
  return { env: { XDG_CACHE_HOME: path.join(dir, 'cache'), SOURCE_DATE_EPOCH: '1700000000', CAKE_IMG_NET_TIMEOUT: '5', ...extraEnv }, out: path.join(dir, 'out') };
}

interface Row { output: string; status: string; cached: boolean; sha256: string }
const rowsOf = (stdout: string): Row[] => {
  const last = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; rows?: Row[] }).at(-1)!;
  expect(last.type).toBe('summary');
  return last.rows!;
};
const warnings = (stdout: string): string[] =>
  stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; line?: string }).filter((e) => e.type === 'log' && e.line!.startsWith('warning:')).map((e) => e.line!);

const canBake = () => hasTool('docker-registry') && hasTool('extlinux');
const recipeDir = path.join(work, 'recipe');

beforeAll(async () => {
  if (!canBake()) return;
  reg = await startRegistry();
  proxy = await startProxy(reg);
  // A small recipe: a directory cooked with a PATH entry, baked with a stand-in kernel (never booted).
  fs.mkdirSync(path.join(recipeDir, 'tree/bin'), { recursive: true });
  fs.mkdirSync(path.join(recipeDir, 'tree/etc'));
  fs.copyFileSync('/bin/busybox', path.join(recipeDir, 'tree/bin/busybox'));
  fs.symlinkSync('busybox', path.join(recipeDir, 'tree/bin/sh'));
  fs.writeFileSync(path.join(recipeDir, 'tree/etc/profile'), 'export PATH=/bin\n');
  fakeKernel(path.join(recipeDir, 'vmlinuz'));
  fs.writeFileSync(path.join(recipeDir, 'cake.config.json'), JSON.stringify({
    base: { cook: { src: './tree', path: ['/opt/bin'], output: 'oci.tar', tag: 'cake/base:1' } },
    disk: { bake: { image: 'base', kernel: { path: './vmlinuz' }, size: '16M' } },
  }));
  for (const p of [recipeDir, path.join(recipeDir, 'tree'), path.join(recipeDir, 'tree/bin'), path.join(recipeDir, 'tree/etc')]) fs.chmodSync(p, 0o755);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

// Async: the proxy answers from this process, so the test's event loop must keep running.
const build = (r: ReturnType<typeof runner>, cache: string | null, extra: string[] = []) =>
  cakeImgAsync(['build', recipeDir, '--out', r.out, '--json', ...(cache ? ['--cache', cache] : []), ...extra], { asNobody, env: r.env });
const cli = (args: string[], env: Record<string, string>) => cakeImgAsync(args, { asNobody, env });

const tags = async (repo: string): Promise<string[]> => ((await (await fetch(`${reg.url}/v2/${repo}/tags/list`)).json()) as { tags: string[] | null }).tags ?? [];

describe.skipIf(!canBake())('build --cache', () => {
  it('runner A builds and pushes; runner B (fresh) pulls every step and gets the same image', async () => {
    const cache = `${reg.host}/cake/small`;
    const a = runner();
    const ra = await build(a, cache);
    expect(ra.status, ra.stderr + ra.stdout.slice(-2000)).toBe(0);
    expect(rowsOf(ra.stdout).map((r) => [r.output, r.status])).toEqual([['base', 'built'], ['disk', 'built']]);
    expect(warnings(ra.stdout)).toEqual([]);
    expect((await tags('cake/small')).map((t) => t.replace(/-[0-9a-f]+$/, '')).sort()).toEqual(['bake', 'cake']);
    const b = runner();
    const rb = await build(b, cache);
    expect(rb.status, rb.stderr).toBe(0);
    const rows = rowsOf(rb.stdout);
    expect(rows.map((r) => [r.output, r.status, r.cached])).toEqual([['base', 'pulled', false], ['disk', 'pulled', false]]);
    expect(rows.map((r) => r.sha256)).toEqual(rowsOf(ra.stdout).map((r) => r.sha256));
    expect(fs.readFileSync(path.join(b.out, 'disk.img')).equals(fs.readFileSync(path.join(a.out, 'disk.img')))).toBe(true);
    // The recipe asks for the cook as an OCI image too: written into --out by both runners, byte for byte the same.
    expect(fs.readFileSync(path.join(b.out, 'base.oci.tar')).equals(fs.readFileSync(path.join(a.out, 'base.oci.tar')))).toBe(true);
    const back = await cli(['cook', '--src', path.join(b.out, 'base.oci.tar'), '--name', 'back', '-q'], b.env);
    expect(back.stdout).toContain(rows[0]!.sha256);
    // The terminal table says it too; a second build on B is all local.
    const again = await cli(['build', recipeDir, '--out', b.out, '--cache', cache], b.env);
    expect(again.stderr).toMatch(/^base .* cached$/m);
    expect(again.stderr).toMatch(/^disk .* cached$/m);
  });

  it('two runners pushing the same keys at once leave a valid entry (byte-identical manifests)', async () => {
    const cache = `${reg.host}/cake/race`;
    const [a, b] = [runner(), runner()];
    const args = (r: ReturnType<typeof runner>) => ['build', recipeDir, '--out', r.out, '--json', '--cache', cache];
    const [ra, rb] = await Promise.all([cakeImgAsync(args(a), { asNobody, env: a.env }), cakeImgAsync(args(b), { asNobody, env: b.env })]);
    expect(ra.status, ra.stderr).toBe(0);
    expect(rb.status, rb.stderr).toBe(0);
    // Neither saw another digest under its tags (the re-read after the push).
    expect([...warnings(ra.stdout), ...warnings(rb.stdout)].filter((w) => /not reproducible/.test(w))).toEqual([]);
    const c = runner();
    const rc = await build(c, cache);
    expect(rc.status, rc.stderr).toBe(0);
    expect(rowsOf(rc.stdout).map((r) => r.status)).toEqual(['pulled', 'pulled']);
    expect(rowsOf(rc.stdout).map((r) => r.sha256)).toEqual(rowsOf(ra.stdout).map((r) => r.sha256));
  });

  it('a tampered layer is refused loudly, and the step is built locally', async () => {
    const repo = 'cake/tamper';
    const seed = runner();
    expect((await build(seed, `${reg.host}/${repo}`)).status).toBe(0);
    // The proxy answers the layer's GET with the config's bytes.
    const tag = (await tags(repo)).find((t) => t.startsWith('cake-'))!;
    const m = (await (await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as { config: { digest: string }; layers: { digest: string }[] };
    proxy.mode = 'open';
    proxy.aliases.set(`/v2/${repo}/blobs/${m.layers[0]!.digest}`, `/v2/${repo}/blobs/${m.config.digest}`);
    try {
      const r = runner();
      const res = await build(r, `${proxy.host}/${repo}`, ['--cache-push=false']);
      expect(res.status, res.stderr).toBe(0);
      const rows = rowsOf(res.stdout);
      expect(rows.map((x) => [x.output, x.status]), res.stdout).toEqual([['base', 'built'], ['disk', 'pulled']]);
      const w = warnings(res.stdout);
      expect(w).toHaveLength(1);
      expect(w[0]).toMatch(/refused what the registry gave \(tampering, or a bug\).*does not match its digest/);
      // --require-cache makes it the failure.
      const strict = runner();
      const s = await cli(['build', recipeDir, '--out', strict.out, '--cache', `${proxy.host}/${repo}`, '--require-cache', '--json'], strict.env);
      expect(s.status).toBe(1);
      expect(oneErrorLine(s)).toMatch(/does not match its digest/);
    } finally {
      proxy.aliases.clear();
    }
    // An entry whose blobs are sound but whose tree hash lies (a forged manifest under the tag).
    const raw = await (await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).text();
    const forged = raw.replace(/"dev\.cake-img\.tree":"sha256:[0-9a-f]{64}"/, `"dev.cake-img.tree":"sha256:${'0'.repeat(64)}"`);
    expect(forged).not.toBe(raw);
    const put = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: forged, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(put.status).toBe(201);
    const r = runner();
    const res = await build(r, `${reg.host}/${repo}`, ['--cache-push=false']);
    expect(res.status, res.stderr).toBe(0);
    expect(rowsOf(res.stdout).map((x) => [x.output, x.status])).toEqual([['base', 'built'], ['disk', 'pulled']]);
    expect(warnings(res.stdout).join('\n')).toMatch(/refused what the registry gave.*the pulled tree's hash is sha256:[0-9a-f]{64}, the entry says sha256:0{64}/);
    expect(fs.readdirSync(path.join(r.env.XDG_CACHE_HOME!, 'cake-img/store/.build'))).toEqual([]); // the refused tree left nothing
  });

  it('a stopped registry is one warning and a local build; a failure with --require-cache', async () => {
    const gone = `127.0.0.1:${await freePort()}/cake/none`;
    const r = runner();
    const res = await build(r, gone);
    expect(res.status, res.stderr).toBe(0);
    expect(rowsOf(res.stdout).map((x) => x.status)).toEqual(['built', 'built']);
    const w = warnings(res.stdout);
    expect(w, w.join('\n')).toHaveLength(1);
    expect(w[0]).toMatch(/ECONNREFUSED.*|the cache is not used again this run/);
    // The same with the environment variable, in plain (not --json) output: one warning line.
    const p = runner({ CAKE_IMG_CACHE: gone });
    const plain = await cli(['build', recipeDir, '--out', p.out], p.env);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr.split('\n').filter((l) => l.includes('warning:'))).toHaveLength(1);
    const strict = runner();
    const s = await cli(['build', recipeDir, '--out', strict.out, '--cache', gone, '--require-cache', '--json'], strict.env);
    expect(s.status).toBe(1);
    expect(oneErrorLine(s)).toMatch(/ECONNREFUSED/);
    expect(fs.existsSync(strict.out)).toBe(false);
  });

  for (const mode of ['error500', 'stall'] as const) {
    it(`a registry that ${mode === 'stall' ? 'never answers (CAKE_IMG_NET_TIMEOUT)' : 'answers 500'} is one warning and a local build`, async () => {
      proxy.mode = mode;
      try {
        const r = runner({ CAKE_IMG_NET_TIMEOUT: '1' });
        const res = await build(r, `${proxy.host}/cake/${mode}`);
        expect(res.status, res.stderr).toBe(0);
        expect(rowsOf(res.stdout).map((x) => x.status)).toEqual(['built', 'built']);
        const w = warnings(res.stdout);
        expect(w, w.join('\n')).toHaveLength(1);
        expect(w[0]).toMatch(mode === 'stall' ? /no answer within 1 s/ : /→ 500/);
      } finally {
        proxy.mode = 'open';
      }
    });
  }

  it('--cache-push=false pulls but never pushes', async () => {
    const r = runner();
    const res = await build(r, `${reg.host}/cake/readonly`, ['--cache-push=false']);
    expect(res.status, res.stderr).toBe(0);
    expect(await tags('cake/readonly')).toEqual([]);
    const bad = await build(runner(), `${reg.host}/cake/readonly`, ['--cache-push=maybe']);
    expect(bad.status).toBe(2);
  });

  it('pushes and pulls through a registry that demands bearer tokens', async () => {
    proxy.mode = 'bearer';
    proxy.log.length = 0;
    try {
      const cache = `${proxy.host}/cake/token`;
      expect((await build(runner(), cache)).status).toBe(0);
      const b = await build(runner(), cache);
      expect(b.status, b.stderr).toBe(0);
      expect(rowsOf(b.stdout).map((x) => x.status), b.stdout).toEqual(['pulled', 'pulled']);
      const tokenAsks = proxy.log.filter((e) => e.path.startsWith('/token'));
      expect(tokenAsks.some((e) => decodeURIComponent(e.path).includes('scope=repository:cake/token:pull,push'))).toBe(true);
      expect(proxy.log.filter((e) => e.method === 'PUT' && e.path.includes('/manifests/')).every((e) => e.authorization === `Bearer ${proxy.token}`)).toBe(true);
    } finally {
      proxy.mode = 'open';
    }
  });

  for (const mode of ['basic-login', 'bearer-login'] as const) {
    it(`pushes and pulls with basic credentials from $DOCKER_CONFIG/config.json (${mode})`, async () => {
      const dockerConfig = path.join(work, `docker-${mode}`);
      fs.mkdirSync(dockerConfig, { mode: 0o755 });
      const auth = Buffer.from(`${proxy.credentials.username}:${proxy.credentials.password}`).toString('base64');
      fs.writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [`http://${proxy.host}`]: { auth } } }), { mode: 0o644 });
      proxy.mode = mode;
      try {
        const cache = `${proxy.host}/cake/${mode}`;
        const a = await build(runner({ DOCKER_CONFIG: dockerConfig }), cache);
        expect(a.status, a.stderr).toBe(0);
        expect(warnings(a.stdout)).toEqual([]);
        const b = await build(runner({ DOCKER_CONFIG: dockerConfig }), cache);
        expect(rowsOf(b.stdout).map((x) => x.status)).toEqual(['pulled', 'pulled']);
        // Without the credentials: refused, one warning, built locally.
        const anon = await build(runner({ DOCKER_CONFIG: path.join(work, 'no-such-config') }), cache);
        expect(anon.status, anon.stderr).toBe(0);
        expect(rowsOf(anon.stdout).map((x) => x.status)).toEqual(['built', 'built']);
        expect(warnings(anon.stdout).join('\n')).toMatch(/401/);
        expect(anon.stdout + anon.stderr).not.toContain(proxy.credentials.password);
      } finally {
        proxy.mode = 'open';
      }
    });
  }

  it('store push, store ls --remote and store pull move an entry by hand', async () => {
    const a = runner();
    expect((await build(a, null)).status).toBe(0);
    const repo = `${reg.host}/cake/by-hand`;
    const push = await cli(['store', 'push', 'base', repo], a.env);
    expect(push.status, push.stderr).toBe(0);
    const key = /:cake-([0-9a-f]{32})$/m.exec(push.stdout)![1]!;
    const ls = await cli(['store', 'ls', '--remote', repo, '--json'], a.env);
    expect(ls.status, ls.stderr).toBe(0);
    const entries = ls.stdout.trim().split('\n').map((l) => JSON.parse(l) as { tag: string; name: string; kind: string; sha256: string });
    expect(entries.map((e) => [e.tag, e.kind, e.name])).toEqual([[`cake-${key}`, 'cook', 'base']]);
    const b = runner();
    const pull = await cli(['store', 'pull', key, repo], b.env);
    expect(pull.status, pull.stderr).toBe(0);
    expect(pull.stdout).toContain(entries[0]!.sha256);
    const built = await build(b, null);
    expect(rowsOf(built.stdout).map((x) => [x.output, x.status])).toEqual([['base', 'cached'], ['disk', 'built']]);
    const missing = await cli(['store', 'pull', '0'.repeat(32), repo], b.env);
    expect(missing.status).toBe(1);
    expect(oneErrorLine(missing)).toContain(`has no cake-${'0'.repeat(32)}`);
  });
});

const canBuildExample = () => hasTool('docker-registry') && hasTool('proot') && hasTool('apt-get') && hasTool('extlinux');
const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/busybox-machine');

describe.skipIf(!canBuildExample())('the busybox-machine example through a registry cache', () => {
  it('runner B (fresh) builds it with zero cooks and zero bakes, every row pulled, the same image', async () => {
    const cache = `${reg.host}/cake/busybox-machine`;
    const args = (r: ReturnType<typeof runner>) => ['build', EXAMPLE, '--out', r.out, '--json', '--cache', cache];
    const a = runner();
    const ra = await cli(args(a), a.env);
    expect(ra.status, ra.stderr + ra.stdout.slice(-3000)).toBe(0);
    expect(rowsOf(ra.stdout).map((r) => r.status)).toEqual(['built', 'built']);
    const b = runner();
    const rb = await cli(args(b), b.env);
    expect(rb.status, rb.stderr + rb.stdout.slice(-3000)).toBe(0);
    const rows = rowsOf(rb.stdout);
    expect(rows.map((r) => [r.output, r.status])).toEqual([['busybox', 'pulled'], ['busybox-machine', 'pulled']]);
    expect(rows.map((r) => r.sha256)).toEqual(rowsOf(ra.stdout).map((r) => r.sha256));
    // Nothing was cooked or baked on B: no script ran, no disk was written.
    const phases = rb.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; phase?: string }).filter((e) => e.type === 'progress').map((e) => e.phase);
    expect(phases.filter((p) => /script|baking|writing/.test(p ?? ''))).toEqual([]);
    expect(fs.readFileSync(path.join(b.out, 'busybox-machine.img')).equals(fs.readFileSync(path.join(a.out, 'busybox-machine.img')))).toBe(true);
  }, 900_000);
});
