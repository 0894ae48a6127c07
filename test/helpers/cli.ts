// Runs the built CLI (dist/, made by `npm test`'s build step), optionally as the
// unprivileged user 65534 to prove the tool never needs root.
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRoot, TOOL_PATH } from '../oracles/tools.js';

/** The CLI under test; CAKE_TEST_CLI points the tests at another build (to show a test fails on an older one). */
export const CLI = process.env.CAKE_TEST_CLI ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function cakeImg(args: string[], opts: { asNobody?: boolean; env?: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number } = {}): CliResult {
  const env = { ...process.env, PATH: TOOL_PATH, ...opts.env };
  const cmd = opts.asNobody
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, CLI, ...args]
    : [process.execPath, CLI, ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env, cwd: opts.cwd, maxBuffer: 1 << 26, input: opts.input, timeout: opts.timeoutMs });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** cakeImg without blocking the test's event loop (for tests that serve the CLI from this process). */
export function cakeImgAsync(args: string[], opts: { asNobody?: boolean; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const env = { ...process.env, PATH: TOOL_PATH, ...opts.env };
  const cmd = opts.asNobody
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, CLI, ...args]
    : [process.execPath, CLI, ...args];
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : null;
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
  });
}

/** The command's stderr is exactly one line starting with "cake-img: error:" (what every failure must print). */
export function oneErrorLine(r: CliResult): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  if (lines.length !== 1 || !lines[0]!.startsWith('cake-img: error: ')) throw new Error(`expected one error line, got:\n${r.stderr}`);
  return lines[0]!;
}

/** Running as another user needs root to switch; CI is root. */
export const canRunAsNobody = isRoot;
