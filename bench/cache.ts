// Benchmark `cache`: a fleet's registry cache. Runner A builds an example cold with
// `build --cache` (cooks, bakes, pushes to Debian's docker-registry on 127.0.0.1); runner B,
// with a fresh store and --out, builds it with the cache warm (pulls the tree, pulls the
// disk, bakes nothing). Both runners start with the same warm tool and kernel caches (a
// seed build fetches them first), so the times compare cooking and baking against pulling.
// Every B run must report every step `pulled` and the same image sha256 as A.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CAKE_MAIN, CHILD_ENV, debVersions, distBuilt, log, REPO_DIR, requireBuilt, run, runOrThrow, which, WORK_DIR } from './host.js';
import { boldRatio, type Column, fmtBytes, fmtSec, measured, renderSection, rowNotes, type TargetCheck, targetStatus, treeRows } from './report.js';
import type { Benchmark, ItemBase, SectionData } from './results.js';
import { finishRun, othersCpuNotes, parseTreeArgs, recordError, type RunSummary, summarizeRuns, timeCommand, timed, type TimedRun } from './timing.js';

const EXAMPLES = { busybox: 'busybox-machine', debian: 'debian-machine' } as const;
type Example = keyof typeof EXAMPLES;

/** Target from the issue: B ≤ 0.3 × A on the Debian example. */
export const TARGETS = { ratio: { trees: ['debian'], max: 0.3 } };

const DIR = path.join(WORK_DIR, 'cache');

/** A step of a build's summary (`build --json`): what it made and how long it took. */
interface Step {
  output: string;
  ms: number;
}

/** A timed build, with its summary's steps. */
export interface BuildRun extends TimedRun {
  steps: Step[];
}

export interface BuildSummary extends RunSummary {
  runs: BuildRun[];
}

export interface CacheItem extends ItemBase {
  /** The example built (examples/NAME). */
  example?: string;
  /** Runner A: cold build that pushes; runner B: fresh store, cache warm. */
  a?: BuildSummary;
  b?: BuildSummary;
  /** Median B / median A. */
  ratio?: number;
  /** The image's sha256, the same from both runners. */
  image?: string;
  /** What the registry holds after the example's runs. */
  registryBytes?: number | null;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Debian's docker-registry on 127.0.0.1, filesystem storage in bench/scratch/cache/registry. */
async function startRegistry(): Promise<{ host: string; stop: () => void }> {
  const bin = which('docker-registry');
  if (!bin) throw new Error('docker-registry is missing (apt-get install docker-registry)');
  const dir = path.join(DIR, 'registry');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child: ChildProcess = spawn(bin, ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 300; i++) {
    if (await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false)) return { host: `127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('docker-registry did not start');
}

/** A runner's cache: the seed's tools and kernels (copied), an empty store. */
function runnerEnv(tree: string, who: string, seed: string, extra: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; out: string } {
  const home = path.join(DIR, `${tree}-${who}`);
  fs.rmSync(home, { recursive: true, force: true });
  fs.mkdirSync(path.join(home, 'cache', 'cake-img'), { recursive: true });
  for (const sub of fs.readdirSync(path.join(seed, 'cake-img'))) {
    if (sub === 'store' || sub === 'blobs') continue;
    runOrThrow('cp', ['-a', '--reflink=auto', path.join(seed, 'cake-img', sub), path.join(home, 'cache', 'cake-img', sub)]);
  }
  return { env: { ...CHILD_ENV, ...extra, XDG_CACHE_HOME: path.join(home, 'cache') }, out: path.join(home, 'out') };
}

interface SummaryRow {
  step: string;
  output: string;
  status: string;
  ms: number;
  sha256?: string;
}

/** The rows of `build --json`'s summary (its last line). */
const rowsOf = (stdout: string): SummaryRow[] => (JSON.parse(stdout.trim().split('\n').filter(Boolean).at(-1)!) as { rows: SummaryRow[] }).rows;

/** The Debian example's rootfs tarball: DEBIAN_ROOTFS, else made once with the example's script (mmdebstrap). */
function debianRootfs(): string {
  if (process.env.DEBIAN_ROOTFS) return process.env.DEBIAN_ROOTFS;
  const tar = path.join(DIR, 'debian-rootfs.tar');
  if (!fs.existsSync(tar)) {
    log('making the Debian minbase with examples/debian-machine/make-rootfs.sh (mmdebstrap)');
    runOrThrow(path.join(REPO_DIR, 'examples/debian-machine/make-rootfs.sh'), [tar], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return tar;
}

async function benchExample(tree: Example, reg: { host: string }, runs: number): Promise<CacheItem> {
  const res: CacheItem = { name: tree, example: EXAMPLES[tree], notes: [] };
  try {
    const example = path.join(REPO_DIR, 'examples', EXAMPLES[tree]);
    const extra: NodeJS.ProcessEnv = tree === 'debian' ? { DEBIAN_ROOTFS: debianRootfs() } : {};
    // The seed build fetches proot, syslinux, busybox-static and the kernel once for all runners.
    const seed = path.join(DIR, `${tree}-seed`);
    if (!fs.existsSync(path.join(seed, 'cake-img', 'kernels'))) {
      log(`${tree}: seed build (tools and kernel)`);
      fs.mkdirSync(seed, { recursive: true });
      runOrThrow(process.execPath, [CAKE_MAIN, 'build', example, '--out', path.join(seed, 'out')], { env: { ...CHILD_ENV, ...extra, XDG_CACHE_HOME: seed } });
    }
    const a: BuildRun[] = [];
    const b: BuildRun[] = [];
    const image = (rows: SummaryRow[]) => rows.find((r) => r.step === 'bake')?.sha256;
    const steps = (rows: SummaryRow[]): Step[] => rows.map((r) => ({ output: r.output, ms: r.ms }));
    for (let i = 0; i < runs; i++) {
      const repo = `${reg.host}/bench/${tree}-${Date.now()}-${i}`;
      const ra = runnerEnv(tree, `a${i}`, seed, extra);
      log(`${tree}: run ${i + 1}/${runs}: runner A (cold, pushes to ${repo})`);
      const ta = timeCommand(process.execPath, [CAKE_MAIN, 'build', example, '--out', ra.out, '--json', '--cache', repo], { env: ra.env });
      if (ta.status !== 0) throw new Error(`runner A failed: ${ta.stderr.slice(-2000)}`);
      const rowsA = rowsOf(ta.stdout);
      if (!rowsA.every((r) => r.status === 'built')) res.notes!.push(`run ${i + 1}: runner A's rows were ${rowsA.map((r) => r.status).join(', ')}`);
      const rb = runnerEnv(tree, `b${i}`, seed, extra);
      log(`${tree}: run ${i + 1}/${runs}: runner B (fresh store, cache warm)`);
      const tb = timeCommand(process.execPath, [CAKE_MAIN, 'build', example, '--out', rb.out, '--json', '--cache', repo], { env: rb.env });
      if (tb.status !== 0) throw new Error(`runner B failed: ${tb.stderr.slice(-2000)}`);
      const rowsB = rowsOf(tb.stdout);
      if (!rowsB.every((r) => r.status === 'pulled')) throw new Error(`runner B did not pull every step: ${rowsB.map((r) => `${r.output} ${r.status}`).join(', ')}`);
      if (image(rowsA) !== image(rowsB)) throw new Error(`runner B's image ${image(rowsB)} is not runner A's ${image(rowsA)}`);
      res.image = image(rowsA);
      a.push({ ...timed(ta), steps: steps(rowsA) });
      b.push({ ...timed(tb), steps: steps(rowsB) });
      log(`${tree}: run ${i + 1}/${runs}: A ${fmtSec(ta.wall)}, B ${fmtSec(tb.wall)}`);
      for (const r of [ra, rb]) fs.rmSync(path.dirname(r.out), { recursive: true, force: true });
    }
    res.a = summarizeRuns(a) as BuildSummary;
    res.b = summarizeRuns(b) as BuildSummary;
    res.ratio = res.b.median! / res.a.median!;
    res.registryBytes = Number(run('du', ['-sb', path.join(DIR, 'registry', 'data')]).stdout.split('\t')[0]) || null;
  } catch (e) {
    recordError(res, e);
  }
  return res;
}

async function main(argv: string[]) {
  const o = parseTreeArgs(argv, Object.keys(EXAMPLES), Object.keys(EXAMPLES), 1);
  requireBuilt();
  const built = distBuilt();
  const started = Date.now();
  fs.mkdirSync(DIR, { recursive: true });
  const reg = await startRegistry();
  const results: CacheItem[] = [];
  try {
    for (const t of o.trees) results.push(await benchExample(t as Example, reg, o.runs));
  } finally {
    reg.stop();
  }
  return finishRun(results, { runs: o.runs, tools: debVersions(['docker-registry', 'proot']) }, built, started);
}

// ---------------------------------------------------------------------------------------
// Report

export function targetChecks(byTree: Record<string, CacheItem>): TargetCheck[] {
  return TARGETS.ratio.trees.map((t) => {
    const r = byTree[t];
    return { tree: t, what: `B / A ≤ ${TARGETS.ratio.max}`, status: targetStatus(measured(r) ? r!.ratio : null, TARGETS.ratio.max) };
  });
}

/** Step i of every run: "busybox 13.3 s" (runs joined by "; "). */
const step = (s: BuildSummary | undefined, i: number): string => (s ? s.runs.map((r) => (r.steps[i] ? `${r.steps[i]!.output} ${fmtSec(r.steps[i]!.ms / 1000)}` : '')).join('; ') : '–');
const steps = (s: BuildSummary | undefined): string => `${step(s, 0)}; ${step(s, 1)}`;

const COLUMNS: Column<CacheItem>[] = [
  { head: 'example', cell: (r) => r.example ?? r.name },
  { head: 'runner A (cook + bake + push)', right: true, cell: (r) => fmtSec(r.a?.median) },
  { head: 'runner B (pull + pull)', right: true, cell: (r) => fmtSec(r.b?.median) },
  { head: 'B / A', right: true, cell: (r) => boldRatio(r.ratio) },
  { head: 'A steps', cell: (r) => steps(r.a) },
  { head: 'B steps', cell: (r) => steps(r.b) },
  { head: 'image sha256', cell: (r) => (r.image ? `${r.image.slice(0, 19)}…` : '–') },
  { head: 'measured', cell: (r) => `${r.date}, ${r.runs} run${r.runs === 1 ? '' : 's'}` },
];

export function render(data: SectionData<CacheItem>): string {
  const rows = treeRows(data);
  const body = [
    '',
    'Both runners start with the same tool and kernel caches (a seed build fetched them), fresh stores and empty --out; the registry is `docker-registry serve` on 127.0.0.1 with filesystem storage. Times are whole `cake-img build` wall times (medians); the steps are the summary rows\' times. Every runner B run must report every step `pulled` and the same image sha256 as runner A.',
    '',
    '```',
    'node dist/cli/main.js build examples/EXAMPLE --out A/out --json --cache 127.0.0.1:PORT/bench/REPO   # runner A: XDG_CACHE_HOME=A/cache',
    'node dist/cli/main.js build examples/EXAMPLE --out B/out --json --cache 127.0.0.1:PORT/bench/REPO   # runner B: XDG_CACHE_HOME=B/cache',
    '```',
  ];
  const notes = rows.flatMap((r) => {
    const extra: string[] = [];
    if (r.a && r.b) {
      extra.push(`CPU (user+sys) medians: runner A ${fmtSec(r.a.medianCpu)}, runner B ${fmtSec(r.b.medianCpu)}; peak RSS A ${fmtBytes((r.a.peakRssKiB ?? 0) * 1024)}, B ${fmtBytes((r.b.peakRssKiB ?? 0) * 1024)}${r.registryBytes ? `; the registry held ${fmtBytes(r.registryBytes)} afterwards` : ''}.`);
      extra.push(...othersCpuNotes([...r.a.runs, ...r.b.runs]));
    }
    return rowNotes(r, extra);
  });
  return renderSection({
    heading: '## cache: `build --cache`, runner B (cache warm) vs runner A (cold build that pushes)',
    targets: `Target (from the issue): B ≤ ${TARGETS.ratio.max} × A on the Debian example.`,
    columns: COLUMNS, rows, data, checks: targetChecks(data.items), body, notes,
  }).join('\n');
}

export const benchmark: Benchmark<CacheItem> = {
  name: 'cache',
  description: 'build --cache: runner B (fresh store, cache warm) against runner A (cold build that pushes), busybox-machine and debian-machine examples',
  usage: 'cache [--trees busybox,debian] [--runs N]   (debian: DEBIAN_ROOTFS=rootfs.tar, else examples/debian-machine/make-rootfs.sh makes one; default 1 run)',
  main,
  render,
};
