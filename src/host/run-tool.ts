// Running a host tool to completion (apt-get, dpkg-deb, ...) as a tracked child: in a
// process group of its own, ended with cake-img (lifecycle.ts). Resolves with its output;
// rejects with the spawn error (ENOENT: not installed) or its exit status and stderr.
import { spawnTracked } from './lifecycle.js';

export interface ToolRun {
  stdout: string;
  stderr: string;
}

export class ToolExit extends Error {
  constructor(readonly command: string, readonly status: number | null, readonly stderr: string) {
    super(`${command} exited with ${status ?? 'a signal'}`);
  }
}

export function runTool(command: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; maxBuffer?: number } = {}): Promise<ToolRun> {
  const max = opts.maxBuffer ?? 1 << 26;
  return new Promise((resolve, reject) => {
    const child = spawnTracked(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outLen = 0;
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      outLen += d.length;
      if (outLen <= max) out.push(d);
      else child.kill('SIGKILL');
    });
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-8192)));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && outLen <= max) resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: err });
      else reject(new ToolExit(`${command} ${args.join(' ')}`, outLen > max ? null : code, outLen > max ? 'output too large' : err));
    });
  });
}
