// The kernel as an oracle: a read-only loop mount, read back through the directory
// source. Needs root (CI runs as root); the tool itself never mounts anything.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isRoot, TOOL_PATH } from './tools.js';

export const canLoopMount = isRoot && (() => {
  try {
    execFileSync('losetup', ['-f'], { stdio: 'ignore', env: { ...process.env, PATH: TOOL_PATH } });
    return true;
  } catch {
    if (process.env.CI) throw new Error('CI runs as root but cannot use loop devices');
    return false;
  }
})();

export async function withLoopMount<T>(img: string, fn: (dir: string) => Promise<T>, offset = 0): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-mnt-'));
  // No "noload": the kernel must accept the journal as it is (clean, nothing to replay).
  const opts = `loop,ro${offset ? `,offset=${offset}` : ''}`;
  execFileSync('mount', ['-t', 'ext4', '-o', opts, img, dir], { env: { ...process.env, PATH: TOOL_PATH } });
  try {
    return await fn(dir);
  } finally {
    try {
      execFileSync('umount', [dir], { env: { ...process.env, PATH: TOOL_PATH }, stdio: 'ignore' });
    } catch {
      // Busy (a file left open by a failed check): detach lazily so no mount or loop device outlives the test.
      execFileSync('umount', ['-l', dir], { env: { ...process.env, PATH: TOOL_PATH } });
    }
    fs.rmdirSync(dir);
  }
}
