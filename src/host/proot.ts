// Running the bootstrap script inside the tree under proot, as the original recipe does:
//   proot --cwd=/ --root-id --rootfs=ROOTFS /usr/bin/env - /bin/sh -euc '. /etc/profile && /bootstrap'
// proot fakes root with ptrace, so it needs no privilege — but it does need ptrace, which
// seccomp profiles of hardened containers deny; a one-second probe finds that out first
// and says so instead of letting the script fail in a confusing way.
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { type HostTool, hostTool } from './host-tools.js';
import { CakeError } from '../util/errors.js';
import { resolveInRoot } from '../cook/in-root.js';

export const BOOTSTRAP = '/bootstrap';

/** How the proot process is started: the host layer passes its tracked spawn (lifecycle.ts). */
export type SpawnChild = (command: string, args: readonly string[], opts: SpawnOptions) => ChildProcess;
const TAIL_LINES = 20;

export interface ScriptResult {
  /** The last lines of the script's output (stdout and stderr interleaved). */
  tail: string[];
}

/** proot as given by CAKE_IMG_PROOT, else the host's, else fetched rootless (host-tools.ts). */
export async function prootTool(log?: (line: string) => void): Promise<HostTool> {
  const given = process.env.CAKE_IMG_PROOT;
  if (given) return { command: given, env: {}, args: [], from: 'CAKE_IMG_PROOT' };
  return hostTool('proot', log);
}

/** Checks proot exists and can trace; throws a one-line error with what to do. */
export function probeProot(proot: HostTool): void {
  const r = spawnSync(proot.command, ['--root-id', '/bin/true'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...proot.env } });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CakeError('ENOTOOL', 'tool', `proot not found: a cook script runs under proot; install it (Debian/Ubuntu: apt-get install proot) or set CAKE_IMG_PROOT to its path`);
    throw new CakeError('ENOTOOL', 'tool', `proot could not start: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const why = `${r.stderr}`.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
    if (/ptrace|Operation not permitted|seccomp/i.test(why)) {
      throw new CakeError('ENOPTRACE', 'tool', `proot cannot trace processes here (ptrace denied: ${why}); this host or container forbids ptrace (seccomp or a hardened profile). Run cook where ptrace is allowed, or cook without --script`);
    }
    throw new CakeError('ETOOL', 'tool', `proot probe failed (exit ${r.status}): ${why}`);
  }
}

/** proot's own environment (the script's is emptied by `env -`): only what proot reads. */
function prootEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const k of ['PROOT_NO_SECCOMP', 'PROOT_TMP_DIR', 'TMPDIR', 'PROOT_LOADER']) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

/** The bootstrap file: the script, defaulting to `sh -eu` when it has no #! line, removing itself at the end. */
export function bootstrapText(script: string): string {
  const body = script.startsWith('#!') ? script : `#!/bin/sh -eu\n${script}`;
  return `${body}${body.endsWith('\n') ? '' : '\n'}rm -f "$0"\n`;
}

/** Runs `script` inside `rootfs`; resolves when it succeeds, throws with its exit code and output tail when it fails. */
export async function runScript(rootfs: string, script: string, proot: HostTool, opts: { onLine?: (line: string) => void; spawn?: SpawnChild } = {}): Promise<ScriptResult> {
  const spawnChild = opts.spawn ?? spawn;
  for (const need of ['/bin/sh', '/usr/bin/env']) {
    const p = resolveInRoot(rootfs, need, { followLast: true });
    if (!fs.existsSync(p)) throw new CakeError('ESCRIPT', 'tool', `the tree has no ${need}, which running the script needs (proot ... /usr/bin/env - /bin/sh)`);
  }
  const bootstrap = resolveInRoot(rootfs, BOOTSTRAP);
  try {
    fs.unlinkSync(bootstrap);
  } catch {
    /* not there */
  }
  fs.writeFileSync(bootstrap, bootstrapText(script), { mode: 0o755, flag: 'wx' });
  const args = ['--cwd=/', '--root-id', `--rootfs=${rootfs}`, '/usr/bin/env', '-', '/bin/sh', '-euc', `. /etc/profile && ${BOOTSTRAP}`];
  const tail: string[] = [];
  let partial = '';
  const take = (d: Buffer): void => {
    const lines = (partial + d.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      opts.onLine?.(l);
      tail.push(l);
      if (tail.length > TAIL_LINES) tail.shift();
    }
  };
  const code = await new Promise<number | null>((resolve, reject) => {
    // In a process group of its own, killed whole when it ends or when cake-img is stopped:
    // nothing the script starts in the background outlives the cook.
    const child = spawnChild(proot.command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...prootEnv(), ...proot.env } });
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    child.on('error', reject);
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : null)));
  });
  if (partial) take(Buffer.from('\n'));
  try {
    fs.unlinkSync(bootstrap); // the script removes itself when it gets to the end; it may not have
  } catch {
    /* gone */
  }
  if (code !== 0) {
    throw new CakeError('ESCRIPT', 'tool', `the cook script failed (exit ${code ?? 'signal'}): ${tail.slice(-3).join(' | ') || 'no output'}`, { exitCode: code, tail });
  }
  return { tail };
}
