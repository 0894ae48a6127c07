// Oracles are real tools. Locally a missing one skips its tests with a note; in CI
// (CI=true) it is a failure: .ci/run installs them all.
import { execFileSync } from 'node:child_process';

const found = new Map<string, boolean>();

export function hasTool(name: string): boolean {
  let ok = found.get(name);
  if (ok === undefined) {
    try {
      execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
      ok = true;
    } catch {
      ok = false;
    }
    found.set(name, ok);
  }
  if (!ok && process.env.CI) throw new Error(`oracle ${name} is missing in CI (.ci/run must install it)`);
  return ok;
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
export const TOOL_PATH = `${process.env.PATH}:/usr/sbin:/sbin`;
