// The host the benchmarks run on: paths, running commands, tools installed with apt-get
// when missing (as root), the cake-img under test, and a description of the machine.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../src/util/errors.js';
import { CLI } from '../test/helpers/cli.js';
import { isRoot } from '../test/oracles/tools.js';

export { isRoot };
export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = path.dirname(BENCH_DIR);
export const WORK_DIR = path.join(BENCH_DIR, 'scratch');
export const OUT_DIR = path.join(WORK_DIR, 'out');
/** The cake-img that is timed: the built dist/ (npm run bench builds it first). */
export const CAKE_MAIN = CLI;

/** Environment for child processes: the sbin directories are on PATH even for a non-root user. */
export const CHILD_ENV: NodeJS.ProcessEnv = (() => {
  const env = { ...process.env };
  const parts = (env.PATH ?? '').split(':').filter(Boolean);
  for (const p of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!parts.includes(p)) parts.push(p);
  env.PATH = parts.join(':');
  env.LC_ALL = 'C';
  delete env.SOURCE_DATE_EPOCH;
  return env;
})();

export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never throws on its exit code). */
export function run(cmd: string, args: string[] = [], opts: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (r.error) return { status: -1, stdout: '', stderr: String(r.error.message ?? r.error) };
  return { status: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** The first lines of a command's output, for an error message. */
export const outputHead = (r: RunResult, lines = 8): string => `${r.stderr}${r.stdout}`.trim().split('\n').slice(0, lines).join('\n');
export const outputTail = (r: RunResult, lines = 8): string => `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-lines).join('\n');

/** Runs a command and throws with the end of its output when it fails. */
export function runOrThrow(cmd: string, args: string[] = [], opts: SpawnSyncOptions = {}): RunResult {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${outputTail(r, 20)}`);
  return r;
}

/** Runs cake-img (dist/) untimed and throws with its first lines when it fails. */
export function cakeOrThrow(what: string, args: string[], opts: SpawnSyncOptions = {}): RunResult {
  const r = run(process.execPath, [CAKE_MAIN, ...args], opts);
  if (r.status !== 0) throw new Error(`cake-img ${what} failed (exit ${r.status}): ${outputHead(r)}`);
  return r;
}

export function which(cmd: string): string | null {
  for (const dir of (CHILD_ENV.PATH ?? '').split(':')) {
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

/** `apt-get install -y PKGS` as root (after an `apt-get update` when the first try fails). */
export function aptInstall(pkgs: string[]): boolean {
  if (!isRoot) return false;
  log(`apt-get install -y ${pkgs.join(' ')}`);
  const env = { ...CHILD_ENV, DEBIAN_FRONTEND: 'noninteractive' };
  if (run('apt-get', ['install', '-y', '-q', ...pkgs], { env }).status === 0) return true;
  run('apt-get', ['update', '-q']);
  return run('apt-get', ['install', '-y', '-q', ...pkgs], { env }).status === 0;
}

/** Makes sure a Debian package providing `cmd` is installed (as root, through apt-get); its path or null. */
export function ensureTool(cmd: string, pkg: string): string | null {
  if (!which(cmd)) aptInstall([pkg]);
  return which(cmd);
}

/** Makes sure each [command, package] is there; throws naming the first that is not. */
export function requireTools(tools: [string, string][]): void {
  for (const [cmd, pkg] of tools) {
    if (!ensureTool(cmd, pkg)) throw new Error(`${cmd} is missing (${pkg}${isRoot ? ', and apt-get install failed' : '; run as root to install it'})`);
  }
}

/** Installed versions of Debian packages, e.g. { cpio: '2.13+dfsg-7.1' } (missing: absent). */
export function debVersions(pkgs: string[]): Record<string, string> {
  const r = run('dpkg-query', ['-W', '-f', '${Package} ${Version}\\n', ...pkgs]);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const [p, v] = line.trim().split(' ');
    if (p && v) out[p] = v;
  }
  return out;
}

/**
 * Environment for cake-img runs: a writable cache directory (XDG_CACHE_HOME, else
 * ~/.cache) and one SOURCE_DATE_EPOCH, as a reproducible build would have.
 */
export function cakeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...CHILD_ENV, SOURCE_DATE_EPOCH: '1700000000' };
  if (env.XDG_CACHE_HOME) return env;
  try {
    if (env.HOME) {
      fs.mkdirSync(path.join(env.HOME, '.cache'), { recursive: true });
      fs.accessSync(path.join(env.HOME, '.cache'), fs.constants.W_OK);
      return env;
    }
  } catch {
    /* not writable */
  }
  env.XDG_CACHE_HOME = path.join(WORK_DIR, 'xdg-cache');
  fs.mkdirSync(env.XDG_CACHE_HOME, { recursive: true });
  return env;
}

/** Fails early when dist/ is not built. */
export function requireBuilt(): void {
  if (!fs.existsSync(CAKE_MAIN)) throw new Error(`${path.relative(process.cwd(), CAKE_MAIN)} is missing: run \`npm run build\` first (npm run bench does)`);
}

/** When dist/cli/main.js was last built (its mtime, ISO), or null. */
export function distBuilt(): string | null {
  try {
    return fs.statSync(CAKE_MAIN).mtime.toISOString();
  } catch {
    return null;
  }
}

function safeRead(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

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
    memory: formatBytes(memKiB * 1024),
    kernel: run('uname', ['-r']).stdout.trim() || os.release(),
    node: process.version,
    e2fsprogs,
    commit: dirty ? `${head} (with uncommitted changes in src/)` : head,
  };
}

/** The load average now (1, 5, 15 minutes), for the log and the notes. */
export const loadAverage = (): string => os.loadavg().map((x) => x.toFixed(2)).join(', ');
