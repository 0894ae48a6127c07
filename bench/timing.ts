// Timing commands: wall clock, peak RSS and CPU through GNU time, the CPU the rest of the
// machine used meanwhile, cache policy, medians and run summaries; and the options every
// benchmark takes (--trees, --runs).
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CAKE_MAIN, distBuilt, ensureTool, isRoot, log, run, runOrThrow, type RunResult } from './host.js';
import type { ItemBase, RunOutput } from './results.js';

// ---------------------------------------------------------------------------------------
// Cache policy

let cachePolicy: 'cold' | 'warm' | undefined;

export function dropCaches(): boolean {
  if (!isRoot) return false;
  spawnSync('sync');
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

/**
 * 'cold': the page cache is dropped before every timed run (needs root and a writable
 * /proc/sys/vm/drop_caches); 'warm': each command runs once untimed first. Logged once.
 */
export function getCachePolicy(): 'cold' | 'warm' {
  if (cachePolicy) return cachePolicy;
  if (requestedPolicy === 'warm') {
    cachePolicy = 'warm';
    log('cache: warm (--cache warm); each command runs once untimed before the timed runs');
    return cachePolicy;
  }
  cachePolicy = dropCaches() ? 'cold' : 'warm';
  if (cachePolicy === 'warm' && requestedPolicy === 'cold') throw new Error('--cache cold needs root (sync; echo 3 > /proc/sys/vm/drop_caches)');
  log(cachePolicy === 'cold'
    ? 'cache: cold, the page cache is dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every timed run'
    : 'cache: warm, cannot drop the page cache (not root); each command runs once untimed before the timed runs');
  return cachePolicy;
}

/** What `--cache` asked for; without it, cold where the cache can be dropped. */
let requestedPolicy: 'cold' | 'warm' | undefined;

// ---------------------------------------------------------------------------------------
// Timing one command

/** One timed run of a command. `phases`: what `cake-img -v` said each stage took (ms). */
export interface TimedRun {
  wall: number;
  rssKiB: number | null;
  user: number | null;
  sys: number | null;
  othersCpu: number | null;
  fsync?: number;
  bytes?: number;
  phases?: Record<string, number>;
}

let timeBin: string | null | undefined;

function timeBinary(): string | null {
  if (timeBin === undefined) {
    timeBin = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : ensureTool('time', 'time');
    if (!timeBin) log('/usr/bin/time is not available: peak RSS will not be reported');
  }
  return timeBin;
}

/**
 * Times one whole command. Wall time comes from the parent's monotonic clock; peak RSS,
 * user and system CPU from GNU time (-o FILE keeps it apart from the command's stderr).
 */
export function timeCommand(cmd: string, args: string[], opts: SpawnSyncOptions = {}): RunResult & TimedRun {
  const tb = timeBinary();
  const tf = path.join(os.tmpdir(), `cake-bench-time-${process.pid}.txt`);
  fs.rmSync(tf, { force: true });
  const busy0 = cpuBusySeconds();
  const t0 = process.hrtime.bigint();
  const r = tb ? run(tb, ['-f', '%e %M %U %S', '-o', tf, cmd, ...args], opts) : run(cmd, args, opts);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const busy = busy0 === null ? null : cpuBusySeconds()! - busy0;
  let rssKiB: number | null = null;
  let user: number | null = null;
  let sys: number | null = null;
  if (tb && fs.existsSync(tf)) {
    const last = fs.readFileSync(tf, 'utf8').trim().split('\n').pop() ?? '';
    const m = /^([\d.]+) (\d+) ([\d.]+) ([\d.]+)$/.exec(last);
    if (m) [rssKiB, user, sys] = [Number(m[2]), Number(m[3]), Number(m[4])];
    fs.rmSync(tf, { force: true });
  }
  // CPU time the rest of the machine used meanwhile (other processes, kernel threads such as
  // writeback): a measure of how disturbed this run was.
  const othersCpu = busy !== null && user !== null && sys !== null ? Math.max(0, busy - user - sys) : null;
  const phases = parsePhases(r.stderr);
  return { ...r, wall, rssKiB, user, sys, othersCpu, ...(phases ? { phases } : {}) };
}

/** Times one run of cake-img (dist/) with these arguments. */
export const timeCake = (args: string[], opts: SpawnSyncOptions = {}): RunResult & TimedRun => timeCommand(process.execPath, [CAKE_MAIN, ...args], opts);

/** The measurements of a timed run, without its output (what an item keeps). */
export function timed(r: TimedRun, extra: Partial<TimedRun> = {}): TimedRun {
  const { wall, rssKiB, user, sys, othersCpu, phases } = r;
  return { wall, ...extra, rssKiB, user, sys, othersCpu, ...(phases ? { phases } : {}) };
}

/**
 * The stages `cake-img -v` reports on stderr: "cake-img: read 812 ms, plan 40 ms, write 620 ms"
 * (bake adds "initrd N ms") → { read: 812, plan: 40, write: 620 }; null when there is no such line.
 */
export function parsePhases(stderr: string): Record<string, number> | null {
  const m = /^cake-img: ([a-z]+ \d+ ms(?:, [a-z]+ \d+ ms)*)$/m.exec(stderr);
  if (!m) return null;
  return Object.fromEntries(m[1]!.split(', ').map((p) => {
    const [name, ms] = p.split(' ');
    return [name!, Number(ms)];
  }));
}

let clkTck: number | undefined;

/** Busy CPU seconds of the whole machine so far (all cores, /proc/stat), or null. */
export function cpuBusySeconds(): number | null {
  let stat = '';
  try {
    stat = fs.readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  clkTck ??= Number(run('getconf', ['CLK_TCK']).stdout.trim()) || 100;
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq! + (steal || 0)) / clkTck;
}

/** Wall time of fsync()ing one file (coreutils `sync FILE`). */
export function timeFsync(file: string): number {
  const t0 = process.hrtime.bigint();
  runOrThrow('sync', [file]);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

// ---------------------------------------------------------------------------------------
// Summaries

export function median(xs: number[]): number | null {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export interface RunSummary {
  runs: TimedRun[];
  median: number | null;
  medianDurable: number | null;
  medianCpu: number | null;
  peakRssKiB: number | null;
  /** Median of each stage `cake-img -v` reported, when every run reported it. */
  medianPhases?: Record<string, number>;
}

/** Summary of a list of timed runs. */
export function summarizeRuns(xs: TimedRun[]): RunSummary {
  const s: RunSummary = {
    runs: xs,
    median: median(xs.map((x) => x.wall)),
    medianDurable: xs.every((x) => typeof x.fsync === 'number') ? median(xs.map((x) => x.wall + x.fsync!)) : null,
    medianCpu: median(xs.map((x) => (x.user ?? NaN) + (x.sys ?? NaN))),
    peakRssKiB: xs.some((x) => x.rssKiB !== null) ? Math.max(...xs.map((x) => x.rssKiB ?? 0)) : null,
  };
  const names = Object.keys(xs[0]?.phases ?? {});
  if (names.length && xs.every((x) => x.phases)) s.medianPhases = Object.fromEntries(names.map((n) => [n, median(xs.map((x) => x.phases![n] ?? NaN)) ?? NaN]));
  return s;
}

/** The median of the per-run ratios a[i] / b[i] of two tools timed in the same rounds. */
export function pairedRatio(a: TimedRun[], b: TimedRun[]): number | null {
  return median(a.slice(0, b.length).map((x, i) => x.wall / b[i]!.wall));
}

/** The note on the CPU the rest of the machine used during a set of timed runs (none without figures); `about` is added in parentheses. */
export function othersCpuNotes(runs: TimedRun[], about = ''): string[] {
  const o = runs.filter((x) => typeof x.othersCpu === 'number');
  if (!o.length) return [];
  const long = o.filter((x) => x.wall >= 1); // shorter runs: /proc/stat's 10 ms ticks are too coarse
  const worst = long.length ? Math.max(...long.map((x) => x.othersCpu! / x.wall)) : null;
  return [`CPU used by the rest of the machine (other processes, kernel writeback) during the timed runs: ${o.reduce((acc, x) => acc + x.othersCpu!, 0).toFixed(1)} s in all${worst === null ? '' : `; at most ${(100 * worst).toFixed(0)}% of one core during a run`}${about ? ` (${about})` : ''}.`];
}

/** The tools take turns going first: run i's order. */
export const rotate = <T>(tools: T[], i: number): T[] => tools.map((_, j) => tools[(i + j) % tools.length]!);

// ---------------------------------------------------------------------------------------
// Options and the end of a run

/**
 * Parses `--trees a,b`, `--runs N` and `--cache warm|cold` (the options every benchmark
 * takes; the cache policy is kept for getCachePolicy); `known` are
 * the tree names allowed, `defaults` the ones measured when --trees is not given, `runs`
 * the number of runs without --runs.
 */
export function parseTreeArgs(argv: string[], known: string[], defaults: string[] = known, runs = 3): { trees: string[]; runs: number } {
  const o = { trees: [...defaults], runs };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i]!;
    };
    if (a === '--trees' || a.startsWith('--trees=')) {
      o.trees = val().split(',').map((s) => s.trim()).filter(Boolean);
      for (const t of o.trees) if (!known.includes(t)) throw new Error(`unknown tree ${JSON.stringify(t)} (known: ${known.join(', ')})`);
    } else if (a === '--runs' || a.startsWith('--runs=')) {
      o.runs = Number(val());
      if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a whole number >= 1');
    } else if (a === '--cache' || a.startsWith('--cache=')) {
      const v = val();
      if (v !== 'warm' && v !== 'cold') throw new Error('--cache must be warm or cold');
      requestedPolicy = v;
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/**
 * A benchmark's result: the items of its trees, each stamped with how they were measured,
 * and a note on each when dist/ was rebuilt while it ran (`built` was taken at the start).
 */
export function finishRun<I extends ItemBase>(results: I[], stamp: Partial<ItemBase> & Record<string, unknown>, built: string | null, started: number): RunOutput<I> {
  const builtAfter = distBuilt();
  for (const r of results) {
    Object.assign(r, stamp, { distBuilt: built });
    if (builtAfter !== built) r.notes?.push(`dist/ was rebuilt during the benchmark (${built} → ${builtAfter}): the runs may mix two builds`);
  }
  return { items: Object.fromEntries(results.map((r) => [r.name, r])), seconds: (Date.now() - started) / 1000 };
}

/** The error of a benchmarked tree, logged; the item keeps it. */
export function recordError(res: ItemBase, e: unknown): void {
  res.error = (e instanceof Error ? e.message : String(e)).trim();
  log(`${res.name}: ERROR: ${res.error}`);
}
