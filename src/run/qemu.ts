// Runs qemu-system-x86_64 on a serial console. With `expect`, resolves as soon as the
// text appears on the console (the guest is stopped once that line is complete, so what
// follows the marker on its line is kept), else fails after the timeout with the
// console's last lines. Without it, the console is the user's terminal.
import { spawn } from 'node:child_process';
import { CakeError, ToolError } from '../util/errors.js';
import { type Accel, detectAccel } from './accel.js';

export interface QemuRequest {
  /** A raw disk image, attached as a virtio disk in snapshot mode (never modified). */
  disk?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  memory?: string;
  accel?: Accel | 'auto';
  expect?: string;
  timeoutSec?: number;
  extraArgs?: string[];
  /** Console output as it arrives (tests log it; the CLI prints it). */
  onOutput?: (text: string) => void;
  /** Output to leave out (a known-harmless QEMU warning). */
  dropOutput?: RegExp;
  /** The QEMU to run (default qemu-system-x86_64 on PATH): a fetched one brings its libraries and data directories. */
  qemu?: { command: string; env?: Record<string, string>; args?: string[] };
}

export interface QemuResult {
  matched: boolean;
  accel: Accel;
  output: string;
}

export function qemuArgs(r: QemuRequest, accel: Accel): string[] {
  const args = ['-nographic', '-no-reboot', '-m', r.memory ?? '512M', '-accel', accel];
  if (accel === 'kvm') args.push('-cpu', 'host');
  if (r.disk) args.push('-drive', `file=${r.disk},format=raw,if=virtio,snapshot=on`);
  if (r.kernel) args.push('-kernel', r.kernel);
  if (r.initrd) args.push('-initrd', r.initrd);
  if (r.append !== undefined) args.push('-append', r.append);
  return [...args, ...(r.extraArgs ?? [])];
}

export function lastLines(text: string, n = 40): string {
  return text.split(/\r?\n/).slice(-n).join('\n');
}

export async function runQemu(r: QemuRequest): Promise<QemuResult> {
  const accel = !r.accel || r.accel === 'auto' ? detectAccel().accel : r.accel;
  const bin = r.qemu?.command ?? 'qemu-system-x86_64';
  const args = [...(r.qemu?.args ?? []), ...qemuArgs(r, accel)];
  const interactive = r.expect === undefined;
  const child = spawn(bin, args, { stdio: interactive ? 'inherit' : ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...r.qemu?.env } });
  let output = '';
  let matched = false;
  return new Promise<QemuResult>((resolve, reject) => {
    const timer = r.timeoutSec && !interactive
      ? setTimeout(() => child.kill('SIGKILL'), r.timeoutSec * 1000)
      : null;
    let stopAfter = -1; // once matched: stop when the console finishes that line
    let grace: NodeJS.Timeout | null = null;
    const onData = (buf: Buffer) => {
      let text = buf.toString('latin1');
      if (r.dropOutput) text = text.replace(r.dropOutput, '');
      output += text;
      if (output.length > 1 << 20) {
        const cut = output.length - (1 << 19); // keep the tail
        output = output.slice(cut);
        if (stopAfter >= 0) stopAfter = Math.max(0, stopAfter - cut);
      }
      r.onOutput?.(text);
      if (!matched && r.expect !== undefined) {
        const at = output.indexOf(r.expect);
        if (at >= 0) {
          matched = true;
          stopAfter = at + r.expect.length;
          grace = setTimeout(() => child.kill('SIGKILL'), 1000);
        }
      }
      if (matched && output.indexOf('\n', stopAfter) >= 0) child.kill('SIGKILL');
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      reject(e.code === 'ENOENT'
        ? new CakeError('ENOTOOL', 'tool', `${bin} not found: install qemu-system-x86 (Debian/Ubuntu: apt-get install qemu-system-x86)`)
        : e);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (grace) clearTimeout(grace);
      if (interactive || matched) return resolve({ matched, accel, output });
      if (code !== null && code !== 0) return reject(new ToolError(`${bin} ${args.join(' ')}`, code, lastLines(output)));
      resolve({ matched, accel, output });
    });
  });
}
