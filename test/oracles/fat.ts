// FAT judges: dosfstools' fsck.fat, mtools (rootless: mdir lists, mcopy extracts with the
// times), and as root the kernel's vfat driver through a read-only loop mount.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import { canLoopMount } from './mount.js';
import { TOOL_PATH, hasTool } from './tools.js';

export const hasFatTools = (): boolean => hasTool('fsck.fat') && hasTool('mcopy') && hasTool('mdir');

/** mtools reads FAT times as local time: UTC makes them what we wrote. No user config. */
const MTOOLS_ENV = { ...process.env, PATH: TOOL_PATH, TZ: 'UTC', LC_ALL: 'C.UTF-8', MTOOLSRC: '/dev/null' };

/** `fsck.fat -n` exits 0 and has nothing to say beyond its banner and the summary line. */
export function expectFsckFatClean(img: string): void {
  const r = spawnSync('fsck.fat', ['-n', img], { encoding: 'utf8', env: { ...process.env, PATH: TOOL_PATH } });
  const said = `${r.stdout}${r.stderr}`;
  expect(r.status, said).toBe(0);
  const remarks = said.split('\n').filter((l) => l !== '' && !/^fsck\.fat \d/.test(l) && !/: \d+ files, \d+\/\d+ clusters$/.test(l));
  expect(remarks, said).toEqual([]);
}

/** `fsck.fat -n` output and status, for tests that expect a complaint. */
export function fsckFat(img: string): { status: number; output: string } {
  const r = spawnSync('fsck.fat', ['-n', img], { encoding: 'utf8', env: { ...process.env, PATH: TOOL_PATH } });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** `mcopy -s -m`: the whole volume into `dest` (created), with modification times. */
export function mtoolsExtract(img: string, dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  execFileSync('mcopy', ['-s', '-m', '-n', '-i', img, '::/', `${dest}/`], { env: MTOOLS_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface MdirEntry {
  /** The 8.3 name as mdir shows it (lower case where NTRes says so), "BASE.EXT" or "BASE". */
  short: string;
  /** The long name, or null when the directory holds none for this entry. */
  long: string | null;
  dir: boolean;
  size: number;
  /** "YYYY-MM-DD HH:MM" (mdir shows minutes). */
  time: string;
}

/** `mdir -a` of one directory (not `.`/`..`), parsed, plus the volume label and serial lines. */
export function mdir(img: string, dir = '::/'): { entries: MdirEntry[]; label: string | null; serial: string } {
  const out = execFileSync('mdir', ['-a', '-i', img, dir], { env: MTOOLS_ENV, encoding: 'utf8' });
  const entries: MdirEntry[] = [];
  for (const line of out.split('\n')) {
    const m = /^(.{8}) (.{3}) +(<DIR>|\d+) +(\d{4}-\d\d-\d\d) +(\d+):(\d\d)(?: $| {2}(.*)$)/.exec(line);
    if (!m) continue;
    const base = m[1]!.trimEnd();
    if (base === '.' || base === '..') continue;
    const ext = m[2]!.trimEnd();
    entries.push({ short: ext ? `${base}.${ext}` : base, long: m[7] ?? null, dir: m[3] === '<DIR>', size: m[3] === '<DIR>' ? 0 : Number(m[3]), time: `${m[4]} ${m[5]!.padStart(2, '0')}:${m[6]}` });
  }
  const label = /Volume in drive : is (.*)$/m.exec(out)?.[1]?.trimEnd() ?? null;
  const serial = /Volume Serial Number is ([0-9A-F-]+)/.exec(out)?.[1] ?? '';
  return { entries, label, serial };
}

/**
 * Root, loop devices and a host kernel with vfat (loaded on demand). A host without vfat
 * is no failure: the kernel's view then comes from a guest kernel (guest-vfat.ts), which
 * needs only QEMU and Debian's kernel.
 */
export const canMountVfat = canLoopMount && (() => {
  const has = () => /\bvfat$/m.test(fs.readFileSync('/proc/filesystems', 'utf8'));
  if (!has()) spawnSync('modprobe', ['vfat'], { env: { ...process.env, PATH: TOOL_PATH }, stdio: 'ignore' });
  return has();
})();

/** Runs `fn` on the volume mounted read-only (UTF-8 names, times as UTC). */
export async function withVfatMount<T>(img: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-vfat-'));
  const env = { ...process.env, PATH: TOOL_PATH };
  execFileSync('mount', ['-t', 'vfat', '-o', 'loop,ro,utf8,tz=UTC,fmask=0022,dmask=0022', img, dir], { env });
  try {
    return await fn(dir);
  } finally {
    try {
      execFileSync('umount', [dir], { env, stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', dir], { env });
    }
    fs.rmdirSync(dir);
  }
}
