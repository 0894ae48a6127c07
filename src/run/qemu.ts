// Runs qemu-system-x86_64 on a serial console. With `expect`, resolves as soon as the
// text appears on the console (and stops the guest), else fails after the timeout with
// the console's last lines. Without it, the console is the user's terminal.
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
  qemu?: string;
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
  const bin = r.qemu ?? 'qemu-system-x86_64';
  const args = qemuArgs(r, accel);
  const interactive = r.expect === undefined;
  const child = spawn(bin, args, { stdio: interactive ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let matched = false;
  return new Promise<QemuResult>((resolve, reject) => {
    const timer = r.timeoutSec && !interactive
      ? setTimeout(() => child.kill('SIGKILL'), r.timeoutSec * 1000)
      : null;
    const onData = (buf: Buffer) => {
      const text = buf.toString('latin1');
      output += text;
      if (output.length > 1 << 20) output = output.slice(-(1 << 19)); // keep the tail
      r.onOutput?.(text);
      if (!matched && r.expect !== undefined && output.includes(r.expect)) {
        matched = true;
        child.kill('SIGKILL');
      }
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
      if (interactive || matched) return resolve({ matched, accel, output });
      if (code !== null && code !== 0) return reject(new ToolError(`${bin} ${args.join(' ')}`, code, lastLines(output)));
      resolve({ matched, accel, output });
    });
  });
}
