// Benchmark `cache`: a fleet's registry cache. Runner A builds an example cold with
// `build --cache` (cooks, bakes, pushes to Debian's docker-registry on 127.0.0.1); runner B,
// with a fresh store and --out, builds it with the cache warm (pulls the tree, pulls the
// disk, bakes nothing). Both runners start with the same warm tool and kernel caches (a
// seed build fetches them first), so the times compare cooking and baking against pulling.
// Every B run must report every step `pulled` and the same image sha256 as A.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { renderFooter, renderNotes } from './results.mjs';
import { CHILD_ENV, debVersions, distBuilt, finishRun, fmtSec, log, REPO_DIR, run, runOrThrow, summarizeRuns, timeCommand, which, WORK_DIR } from './timing.mjs';

export const name = 'cache';
export const description = 'build --cache: runner B (fresh store, cache warm) against runner A (cold build that pushes), busybox-machine and debian-machine examples';
export const usage = 'cache [--trees busybox,debian] [--runs N]   (debian: DEBIAN_ROOTFS=rootfs.tar, else examples/debian-machine/make-rootfs.sh makes one)';

const CAKE_MAIN = path.join(REPO_DIR, 'dist', 'cli', 'main.js');
const EXAMPLES = { busybox: 'busybox-machine', debian: 'debian-machine' };
/** Target from the issue: B ≤ 0.3 × A on the Debian example. */
export const TARGETS = { ratio: { trees: ['debian'], max: 0.3 } };
const DIR = path.join(WORK_DIR, 'cache');

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startRegistry() {
  const bin = which('docker-registry');
  if (!bin) throw new Error('docker-registry is missing (apt-get install docker-registry)');
  const dir = path.join(DIR, 'registry');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn(bin, ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 300; i++) {
    if (await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false)) return { host: `127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('docker-registry did not start');
}

/** A runner's cache: the seed's tools and kernels (copied), an empty store. */
function runnerEnv(tree, who, seed, extra) {
  const home = path.join(DIR, `${tree}-${who}`);
  fs.rmSync(home, { recursive: true, force: true });
  fs.mkdirSync(path.join(home, 'cache', 'cake-img'), { recursive: true });
  for (const sub of fs.readdirSync(path.join(seed, 'cake-img'))) {
    if (sub === 'store' || sub === 'blobs') continue;
    runOrThrow('cp', ['-a', '--reflink=auto', path.join(seed, 'cake-img', sub), path.join(home, 'cache', 'cake-img', sub)]);
  }
  return { env: { ...CHILD_ENV, ...extra, XDG_CACHE_HOME: path.join(home, 'cache') }, out: path.join(home, 'out') };
}

const rowsOf = (stdout) => JSON.parse(stdout.trim().split('\n').filter(Boolean).at(-1)).rows;

function debianRootfs() {
  if (process.env.DEBIAN_ROOTFS) return process.env.DEBIAN_ROOTFS;
  const tar = path.join(DIR, 'debian-rootfs.tar');
  if (!fs.existsSync(tar)) {
    log('making the Debian minbase with examples/debian-machine/make-rootfs.sh (mmdebstrap)');
    runOrThrow(path.join(REPO_DIR, 'examples/debian-machine/make-rootfs.sh'), [tar], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return tar;
}

async function measure(tree, reg, runs) {
  const example = path.join(REPO_DIR, 'examples', EXAMPLES[tree]);
  const extra = tree === 'debian' ? { DEBIAN_ROOTFS: debianRootfs() } : {};
  // The seed build fetches proot, syslinux, busybox-static and the kernel once for all runners.
  const seed = path.join(DIR, `${tree}-seed`);
  if (!fs.existsSync(path.join(seed, 'cake-img', 'kernels'))) {
    log(`${tree}: seed build (tools and kernel)`);
    fs.mkdirSync(seed, { recursive: true });
    runOrThrow('node', [CAKE_MAIN, 'build', example, '--out', path.join(seed, 'out')], { env: { ...CHILD_ENV, ...extra, XDG_CACHE_HOME: seed } });
  }
  const a = [];
  const b = [];
  const notes = [];
  let sha = null;
  for (let i = 0; i < runs; i++) {
    const repo = `${reg.host}/bench/${tree}-${Date.now()}-${i}`;
    const ra = runnerEnv(tree, `a${i}`, seed, extra);
    log(`${tree}: runner A (cold, pushes to ${repo})`);
    const ta = timeCommand('node', [CAKE_MAIN, 'build', example, '--out', ra.out, '--json', '--cache', repo], { env: ra.env });
    if (ta.status !== 0) throw new Error(`runner A failed: ${ta.stderr.slice(-2000)}`);
    const rowsA = rowsOf(ta.stdout);
    if (!rowsA.every((r) => r.status === 'built')) notes.push(`run ${i + 1}: runner A's rows were ${rowsA.map((r) => r.status).join(', ')}`);
    const rb = runnerEnv(tree, `b${i}`, seed, extra);
    log(`${tree}: runner B (fresh store, cache warm)`);
    const tb = timeCommand('node', [CAKE_MAIN, 'build', example, '--out', rb.out, '--json', '--cache', repo], { env: rb.env });
    if (tb.status !== 0) throw new Error(`runner B failed: ${tb.stderr.slice(-2000)}`);
    const rowsB = rowsOf(tb.stdout);
    if (!rowsB.every((r) => r.status === 'pulled')) throw new Error(`runner B did not pull every step: ${rowsB.map((r) => `${r.output} ${r.status}`).join(', ')}`);
    const image = (rows) => rows.find((r) => r.step === 'bake').sha256;
    if (image(rowsA) !== image(rowsB)) throw new Error(`runner B's image ${image(rowsB)} is not runner A's ${image(rowsA)}`);
    sha = image(rowsA);
    a.push({ ...ta, stdout: undefined, stderr: undefined, steps: rowsA.map((r) => ({ output: r.output, ms: r.ms })) });
    b.push({ ...tb, stdout: undefined, stderr: undefined, steps: rowsB.map((r) => ({ output: r.output, ms: r.ms })) });
    fs.rmSync(ra.out, { recursive: true, force: true });
    fs.rmSync(rb.out, { recursive: true, force: true });
  }
  const sa = summarizeRuns(a);
  const sb = summarizeRuns(b);
  const registryBytes = Number(run('du', ['-sb', path.join(DIR, 'registry', 'data')]).stdout.split('\t')[0]) || null;
  return { name: tree, example: EXAMPLES[tree], a: sa, b: sb, ratio: sb.median / sa.median, image: sha, registryBytes, notes, tools: debVersions(['docker-registry', 'proot']) };
}

export async function main(argv) {
  const started = Date.now();
  const o = { trees: ['busybox', 'debian'], runs: 1 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--trees') o.trees = argv[++i].split(',');
    else if (argv[i] === '--runs') o.runs = Number(argv[++i]);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  for (const t of o.trees) if (!EXAMPLES[t]) throw new Error(`unknown tree ${t} (busybox, debian)`);
  const built = distBuilt();
  fs.mkdirSync(DIR, { recursive: true });
  const reg = await startRegistry();
  const results = [];
  try {
    for (const t of o.trees) results.push(await measure(t, reg, o.runs));
  } finally {
    reg.stop();
  }
  return finishRun(results, { runsCount: o.runs }, built, started);
}

const step = (runs, i) => runs.runs.map((r) => r.steps[i] ? `${r.steps[i].output} ${fmtSec(r.steps[i].ms / 1000)}` : '').join('; ');

export function render(data) {
  const rows = Object.values(data.items);
  const L = ['## cache: `build --cache`, runner B (cache warm) vs runner A (cold build that pushes)', ''];
  L.push('Target (from the issue): B ≤ 0.3 × A on the Debian example.', '');
  L.push('| example | runner A (cook + bake + push) | runner B (pull + pull) | B / A | A steps | B steps | image sha256 | measured |');
  L.push('| --- | ---: | ---: | ---: | --- | --- | --- | --- |');
  for (const r of rows) {
    L.push(`| ${r.example} | ${fmtSec(r.a.median)} | ${fmtSec(r.b.median)} | **${r.ratio.toFixed(2)}** | ${step(r.a, 0)}; ${step(r.a, 1)} | ${step(r.b, 0)}; ${step(r.b, 1)} | ${r.image.slice(0, 19)}… | ${r.date ?? ''}, ${r.runsCount} run(s) |`);
  }
  const checks = rows.filter((r) => TARGETS.ratio.trees.includes(r.name)).map((r) => ({ tree: r.name, what: `B / A ≤ ${TARGETS.ratio.max}`, status: r.ratio <= TARGETS.ratio.max ? `met: ${r.ratio.toFixed(2)}` : `NOT met: ${r.ratio.toFixed(2)}` }));
  renderFooter(L, rows, data, checks);
  L.push('', 'Both runners start with the same tool and kernel caches (a seed build fetched them), fresh stores and empty --out; the registry is `docker-registry serve` on 127.0.0.1 with filesystem storage. Times are whole `cake-img build` wall times (medians); the steps are the summary rows\' times.');
  renderNotes(L, rows.flatMap((r) => r.notes.map((n) => `${r.name}: ${n}`)));
  return L.join('\n');
}
