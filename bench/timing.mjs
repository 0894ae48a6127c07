// Shared helpers for the benchmarks: running commands, timing them (wall clock, peak RSS
// through /usr/bin/time), cache handling, medians, and a description of the machine.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = path.dirname(BENCH_DIR);
export const WORK_DIR = path.join(BENCH_DIR, 'scratch');

/** Environment for child processes: the sbin directories are on PATH even for a non-root user. */
export const CHILD_ENV = (() => {
  const env = { ...process.env };
  const parts = (env.PATH ?? '').split(':').filter(Boolean);
  for (const p of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!parts.includes(p)) parts.push(p);
  env.PATH = parts.join(':');
  env.LC_ALL = 'C';
  delete env.SOURCE_DATE_EPOCH;
  return env;
})();

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

export function log(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** Runs a command to completion; returns { status, stdout, stderr } (never throws on exit code). */
export function run(cmd, args = [], opts = {}) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    env: CHILD_ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts,
  });
  if (r.error) return { status: -1, stdout: '', stderr: String(r.error.message ?? r.error) };
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', signal: r.signal };
}

/** Runs a command and throws with its output when it fails. */
export function runOrThrow(cmd, args = [], opts = {}) {
  const r = run(cmd, args, opts);
  if (r.status !== 0) {
    const out = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${out}`);
  }
  return r;
}

export function which(cmd) {
  for (const dir of CHILD_ENV.PATH.split(':')) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** Makes sure a Debian package providing `cmd` is installed (as root, through apt-get). */
export function ensureTool(cmd, pkg) {
  if (which(cmd)) return which(cmd);
  if (!isRoot()) return null;
  log(`${cmd} is missing: apt-get install -y ${pkg}`);
  let r = run('apt-get', ['install', '-y', '-q', pkg], { env: { ...CHILD_ENV, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) {
    run('apt-get', ['update', '-q']);
    r = run('apt-get', ['install', '-y', '-q', pkg], { env: { ...CHILD_ENV, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  return which(cmd);
}

/**
 * The .deb of `pkg` in bench/scratch/debs: the one there, else fetched with `apt-get
 * download` (after an `apt-get update`, as root, when that fails). Returns { file, path, downloaded }.
 */
export function debFile(pkg) {
  const debs = path.join(WORK_DIR, 'debs');
  fs.mkdirSync(debs, { recursive: true });
  const isPkg = (f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb');
  let file = fs.readdirSync(debs).find(isPkg);
  if (file) return { file, path: path.join(debs, file), downloaded: false };
  if (!which('apt-get')) throw new Error(`apt-get is not available to download ${pkg}`);
  log(`apt-get download ${pkg}`);
  let r = run('apt-get', ['download', pkg], { cwd: debs });
  if (r.status !== 0 && isRoot()) {
    run('apt-get', ['update', '-q']);
    r = run('apt-get', ['download', pkg], { cwd: debs });
  }
  if (r.status !== 0) throw new Error(`apt-get download ${pkg} failed: ${r.stderr.trim()}`);
  file = fs.readdirSync(debs).find(isPkg);
  if (!file) throw new Error(`apt-get download ${pkg} left no .deb behind`);
  return { file, path: path.join(debs, file), downloaded: true };
}

// ---------------------------------------------------------------------------------------
// Cache policy

let cachePolicy;

/**
 * 'cold': the page cache is dropped before every timed run (needs root and a writable
 * /proc/sys/vm/drop_caches); 'warm': each command runs once untimed first.
 */
export function getCachePolicy() {
  if (cachePolicy) return cachePolicy;
  cachePolicy = dropCaches() ? 'cold' : 'warm';
  return cachePolicy;
}

export function dropCaches() {
  if (!isRoot()) return false;
  spawnSync('sync');
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Timing

let timeBin;

function timeBinary() {
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
export function timeCommand(cmd, args, opts = {}) {
  const tb = timeBinary();
  const tf = path.join(os.tmpdir(), `cake-bench-time-${process.pid}.txt`);
  fs.rmSync(tf, { force: true });
  const argv = tb ? ['-f', '%e %M %U %S', '-o', tf, cmd, ...args] : args;
  const busy0 = cpuBusySeconds();
  const t0 = process.hrtime.bigint();
  const r = run(tb ?? cmd, argv, opts);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const busy = busy0 === null ? null : cpuBusySeconds() - busy0;
  let rssKiB = null;
  let user = null;
  let sys = null;
  if (tb && fs.existsSync(tf)) {
    const last = fs.readFileSync(tf, 'utf8').trim().split('\n').pop() ?? '';
    const m = /^([\d.]+) (\d+) ([\d.]+) ([\d.]+)$/.exec(last);
    if (m) {
      rssKiB = Number(m[2]);
      user = Number(m[3]);
      sys = Number(m[4]);
    }
    fs.rmSync(tf, { force: true });
  }
  // CPU time the rest of the machine used meanwhile (other processes, kernel threads such as
  // writeback): a measure of how disturbed this run was.
  const othersCpu = busy !== null && user !== null ? Math.max(0, busy - user - sys) : null;
  return { ...r, wall, rssKiB, user, sys, othersCpu };
}

let clkTck;

/** Busy CPU seconds of the whole machine so far (all cores, /proc/stat), or null. */
export function cpuBusySeconds() {
  const line = safeRead('/proc/stat').split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  clkTck ??= Number(run('getconf', ['CLK_TCK']).stdout.trim()) || 100;
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + (steal || 0)) / clkTck;
}

/** Wall time of fsync()ing one file (coreutils `sync FILE`). */
export function timeFsync(file) {
  const t0 = process.hrtime.bigint();
  runOrThrow('sync', [file]);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// ---------------------------------------------------------------------------------------
// Formatting

export function fmtBytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function fmtSec(s) {
  return s === null || s === undefined ? '–' : `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

export function fmtInt(n) {
  return n === null || n === undefined ? '–' : n.toLocaleString('en-US');
}

// ---------------------------------------------------------------------------------------
// The machine

export function machineInfo() {
  const cpu = /model name\s*:\s*(.*)/.exec(safeRead('/proc/cpuinfo'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const memKiB = Number(/MemTotal:\s*(\d+)/.exec(safeRead('/proc/meminfo'))?.[1] ?? 0);
  const nproc = run('nproc').stdout.trim() || String(os.availableParallelism());
  const mke2fsV = run('mke2fs', ['-V']);
  const e2fsprogs = /mke2fs ([\w.~+-]+)/.exec(`${mke2fsV.stdout}${mke2fsV.stderr}`)?.[1] ?? 'unknown';
  const head = run('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_DIR }).stdout.trim() || 'unknown';
  const dirty = run('git', ['status', '--porcelain', '--', 'src', 'package.json'], { cwd: REPO_DIR }).stdout.trim() !== '';
  return {
    date: run('date', ['-u']).stdout.trim() || new Date().toUTCString(),
    nproc,
    cpu,
    memory: fmtBytes(memKiB * 1024),
    kernel: run('uname', ['-r']).stdout.trim() || os.release(),
    node: process.version,
    e2fsprogs,
    commit: dirty ? `${head} (with uncommitted changes in src/)` : head,
  };
}

function safeRead(p) {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------
// Arguments and tool versions shared by the benchmarks

/**
 * Parses `--trees a,b` and `--runs N` (the options every benchmark takes); `known` are
 * the tree names allowed, `defaults` the ones measured when --trees is not given.
 */
export function parseTreeArgs(argv, known, defaults = known) {
  const o = { trees: [...defaults], runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--trees' || a.startsWith('--trees=')) {
      o.trees = val().split(',').map((s) => s.trim()).filter(Boolean);
      for (const t of o.trees) if (!known.includes(t)) throw new Error(`unknown tree ${JSON.stringify(t)} (known: ${known.join(', ')})`);
    } else if (a === '--runs' || a.startsWith('--runs=')) {
      o.runs = Number(val());
      if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a whole number >= 1');
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** Installed versions of Debian packages, e.g. { cpio: '2.13+dfsg-7.1' } (missing: absent). */
export function debVersions(pkgs) {
  const r = run('dpkg-query', ['-W', '-f', '${Package} ${Version}\\n', ...pkgs]);
  const out = {};
  for (const line of r.stdout.split('\n')) {
    const [p, v] = line.trim().split(' ');
    if (p && v) out[p] = v;
  }
  return out;
}

/** When dist/cli/main.js was last built (its mtime, ISO), or null. */
export function distBuilt() {
  try {
    return fs.statSync(path.join(REPO_DIR, 'dist', 'cli', 'main.js')).mtime.toISOString();
  } catch {
    return null;
  }
}

/**
 * A benchmark's result: the items of its trees, each stamped with how they were measured,
 * and a note on each when dist/ was rebuilt while it ran (`built` was taken at the start).
 */
export function finishRun(results, stamp, built, started) {
  const builtAfter = distBuilt();
  for (const r of results) {
    Object.assign(r, stamp, { distBuilt: built });
    if (builtAfter !== built) r.notes?.push(`dist/ was rebuilt during the benchmark (${built} → ${builtAfter}): the runs may mix two builds`);
  }
  return { items: Object.fromEntries(results.map((r) => [r.name, r])), seconds: (Date.now() - started) / 1000 };
}

/** Summary of a list of timed runs ({ wall, rssKiB, user, sys, ... }). */
export function summarizeRuns(xs) {
  return {
    runs: xs,
    median: median(xs.map((x) => x.wall)),
    medianDurable: xs.every((x) => typeof x.fsync === 'number') ? median(xs.map((x) => x.wall + x.fsync)) : null,
    medianCpu: median(xs.map((x) => (x.user ?? NaN) + (x.sys ?? NaN))),
    peakRssKiB: xs.some((x) => x.rssKiB !== null) ? Math.max(...xs.map((x) => x.rssKiB ?? 0)) : null,
  };
}

/** A note on the CPU the rest of the machine used during a set of timed runs, or null. */
export function othersCpuNote(runs) {
  const o = runs.filter((x) => typeof x.othersCpu === 'number');
  if (!o.length) return null;
  const long = o.filter((x) => x.wall >= 1); // shorter runs: /proc/stat's 10 ms ticks are too coarse
  const worst = long.length ? Math.max(...long.map((x) => x.othersCpu / x.wall)) : null;
  return `CPU used by the rest of the machine (other processes, kernel writeback) during the timed runs: ${o.reduce((acc, x) => acc + x.othersCpu, 0).toFixed(1)} s in all${worst === null ? '' : `; at most ${(100 * worst).toFixed(0)}% of one core during a run`}`;
}
