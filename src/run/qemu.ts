// Runs qemu-system-x86_64 on a serial console. With `expect`, resolves as soon as the
// text appears on the guest's console (the guest is stopped once that line is complete,
// so what follows the marker on its line is kept), else fails after the timeout. Only
// the console (QEMU's stdout) is searched: QEMU's own messages (stderr) are kept apart, so
// a marker can never be "seen" in an error message, and QEMU failing to start or exiting
// with an error is a failure, never success. Without `expect`, the console is the user's
// terminal.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { CakeError, ToolError } from '../util/errors.js';
import { type Accel, detectAccel } from './accel.js';

export interface QemuRequest {
  /** A disk image, attached as a virtio disk in snapshot mode (never modified). */
  disk?: string;
  /** QEMU's name for its format: raw (default), qcow2, vpc, vmdk. */
  diskFormat?: string;
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
  /** QEMU's own messages to leave out (a known-harmless warning). */
  dropOutput?: RegExp;
  /** The QEMU to run (default qemu-system-x86_64 on PATH): a fetched one brings its libraries and data directories. */
  qemu?: { command: string; env?: Record<string, string>; args?: string[] };
  /** How QEMU is started: the host layer passes its tracked spawn (killed with cake-img). */
  spawn?: (command: string, args: readonly string[], opts: SpawnOptions & { group?: boolean }) => ChildProcess;
}

export interface QemuResult {
  matched: boolean;
  accel: Accel;
  /** The guest's console output (the tail, when long). */
  output: string;
}

/** A file name as a QEMU option value: commas are doubled (QEMU's own escape), so a name cannot add options. */
export function qemuOptionValue(v: string): string {
  return v.replace(/,/g, ',,');
}

export function qemuArgs(r: QemuRequest, accel: Accel): string[] {
  const args = ['-nographic', '-no-reboot', '-m', r.memory ?? '512M', '-accel', accel];
  if (accel === 'kvm') args.push('-cpu', 'host');
  if (r.disk) args.push('-drive', `file=${qemuOptionValue(r.disk)},format=${r.diskFormat ?? 'raw'},if=virtio,snapshot=on`);
  if (r.kernel) args.push('-kernel', r.kernel);
  if (r.initrd) args.push('-initrd', r.initrd);
  if (r.append !== undefined) args.push('-append', r.append);
  return [...args, ...(r.extraArgs ?? [])];
}

export function lastLines(text: string, n = 40): string {
  return text.split(/\r?\n/).slice(-n).join('\n');
}

const KEEP = 1 << 20;

export async function runQemu(r: QemuRequest): Promise<QemuResult> {
  const accel = !r.accel || r.accel === 'auto' ? detectAccel().accel : r.accel;
  const bin = r.qemu?.command ?? 'qemu-system-x86_64';
  const args = [...(r.qemu?.args ?? []), ...qemuArgs(r, accel)];
  const interactive = r.expect === undefined;
  const start = r.spawn ?? spawn;
  // An interactive QEMU reads the keyboard, so it stays in our process group (the terminal's).
  const child = start(bin, args, {
    stdio: interactive ? 'inherit' : ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...r.qemu?.env }, group: !interactive,
  });
  let output = '';
  let messages = ''; // QEMU's stderr
  let matched = false;
  let timedOut = false;
  return new Promise<QemuResult>((resolve, reject) => {
    const timer = r.timeoutSec && !interactive
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, r.timeoutSec * 1000)
      : null;
    let stopAfter = -1; // once matched: stop when the console finishes that line
    let grace: NodeJS.Timeout | null = null;
    child.stdout?.on('data', (buf: Buffer) => {
      const text = buf.toString('latin1');
      output += text;
      if (output.length > KEEP) {
        const cut = output.length - (KEEP >> 1); // keep the tail
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
    });
    child.stderr?.on('data', (buf: Buffer) => {
      let text = buf.toString('utf8');
      if (r.dropOutput) text = text.replace(r.dropOutput, '');
      messages = (messages + text).slice(-8192);
      if (text) r.onOutput?.(text);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      reject(e.code === 'ENOENT'
        ? new CakeError('ENOTOOL', 'tool', `${bin} not found: install qemu-system-x86 (Debian/Ubuntu: apt-get install qemu-system-x86)`)
        : new CakeError('ETOOL', 'tool', `${bin} could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (grace) clearTimeout(grace);
      if (matched) return resolve({ matched, accel, output });
      const said = messages.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
      if (timedOut) return resolve({ matched, accel, output });
      if (code !== 0) return reject(new ToolError(bin, code ?? (signal ? 128 : null), said || `exited with ${code ?? signal}`));
      if (!interactive) return reject(new CakeError('ETOOL', 'tool', `${bin} exited before ${JSON.stringify(r.expect)} appeared on the console${said ? `: ${said}` : ''}`));
      resolve({ matched, accel, output });
    });
  });
}
