// Judging a baked disk before its time counts, whichever tool made it: the partition table
// (sfdisk --json; sgdisk -v for GPT), the boot code in the first 440 bytes, e2fsck -fn of
// the root and its /boot, and for GPT disks fsck.fat -n of the ESP and its files, byte for
// byte against cake-img's. The partitions are copied out sparse: e2fsck and fsck.fat take
// no offset.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256File } from '../src/util/sha256-file.js';
import { e2fsck } from '../test/oracles/e2fsck.js';
import { CHILD_ENV, run, runOrThrow } from './host.js';

export const MBR_BIN = '/usr/lib/syslinux/mbr/mbr.bin';
export const GPTMBR_BIN = '/usr/lib/syslinux/mbr/gptmbr.bin';
export const SYSTEMD_BOOT = '/usr/lib/systemd/boot/efi/systemd-bootx64.efi';
export const BIOS_PART_OFFSET = 2048 * 512;
const BOOT_FILES = ['vmlinux', 'initrd', 'syslinux.cfg', 'ldlinux.sys', 'ldlinux.c32'];
const ESP_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const ROOT_TYPE = '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709';
/** mtools without a user configuration, reading FAT times as UTC, on any file. */
const MTOOLS_ENV = { ...CHILD_ENV, TZ: 'UTC', MTOOLSRC: '/dev/null', MTOOLS_SKIP_CHECK: '1' };

export interface Partition {
  start: number;
  size: number;
  type: string;
  bootable?: boolean;
  attrs?: string;
}

export interface DiskExpect {
  bytes: number;
  kernelBytes: number;
  /** The root filesystem's UUID (cake-img's), when known. */
  uuid?: string;
  /** GPT: the ESP's files (path → sha256) and its size in sectors, as in cake-img's image. */
  esp?: Map<string, string>;
  espSectors?: number;
}

export interface DiskCheck {
  ok: boolean;
  problems: string[];
  uuid: string | null;
}

/** `sfdisk --json`'s label and partitions, or a problem. */
export function partitionTable(img: string): { label: string; partitions: Partition[] } | string {
  const sf = run('sfdisk', ['--json', img]);
  if (sf.status !== 0) return `sfdisk --json: exit ${sf.status}: ${sf.stderr.trim()}`;
  try {
    const t = (JSON.parse(sf.stdout) as { partitiontable: { label: string; partitions?: Partition[] } }).partitiontable;
    return { label: t.label, partitions: t.partitions ?? [] };
  } catch {
    return 'sfdisk --json: not JSON';
  }
}

/** Copies `sectors` from `start` of `img` into `out`, sparse. */
function copyOut(img: string, start: number, sectors: number, out: string): void {
  runOrThrow('dd', [`if=${img}`, `of=${out}`, 'bs=1M', `skip=${start * 512}`, `count=${sectors * 512}`, 'iflag=skip_bytes,count_bytes', 'conv=sparse', 'status=none']);
}

function bootCode(img: string, file: string, problems: string[]): void {
  if (!fs.existsSync(file)) return;
  const want = fs.readFileSync(file).subarray(0, 440);
  const fd = fs.openSync(img, 'r');
  const head = Buffer.alloc(440);
  fs.readSync(fd, head, 0, 440, 0);
  fs.closeSync(fd);
  if (!head.subarray(0, want.length).equals(want)) problems.push(`the MBR boot code is not ${file}`);
}

/** The root partition: e2fsck -fn, /boot's files (the kernel's size), its UUID. */
function checkRoot(img: string, p: Partition, expect: DiskExpect, problems: string[]): string | null {
  const part = `${img}.root`;
  try {
    copyOut(img, p.start, p.size, part);
    const fk = e2fsck(['-fn'], part);
    if (fk.status !== 0) problems.push(`e2fsck -fn: exit ${fk.status}: ${fk.output.trim().split('\n').slice(0, 10).join(' | ')}`);
    const files = new Map<string, number>();
    for (const line of run('debugfs', ['-R', 'ls -p /boot', part]).stdout.split('\n')) {
      const f = line.split('/'); // /ino/mode/uid/gid/name/size/
      if (f.length >= 7) files.set(f[5]!, Number(f[6]));
    }
    const missing = BOOT_FILES.filter((f) => !files.has(f));
    if (missing.length) problems.push(`/boot lacks ${missing.join(', ')}`);
    if (files.has('vmlinux') && files.get('vmlinux') !== expect.kernelBytes) problems.push(`/boot/vmlinux is ${files.get('vmlinux')} bytes, the kernel ${expect.kernelBytes}`);
    const uuid = /^Filesystem UUID:\s*(\S+)/m.exec(run('dumpe2fs', ['-h', part]).stdout)?.[1] ?? null;
    if (expect.uuid && uuid !== expect.uuid) problems.push(`filesystem UUID ${uuid}, expected ${expect.uuid}`);
    return uuid;
  } finally {
    fs.rmSync(part, { force: true });
  }
}

/**
 * The files of a FAT partition (path → sha256), after `fsck.fat -n` found it clean;
 * a string says what is wrong.
 */
export function espFiles(img: string, p: Partition): Map<string, string> | string {
  const part = `${img}.esp`;
  const dir = `${img}.esp.d`;
  try {
    copyOut(img, p.start, p.size, part);
    const fk = run('fsck.fat', ['-n', part]);
    if (fk.status !== 0) return `fsck.fat -n: exit ${fk.status}: ${`${fk.stdout}${fk.stderr}`.trim().split('\n').slice(0, 6).join(' | ')}`;
    fs.mkdirSync(dir);
    const cp = run('mcopy', ['-s', '-n', '-i', part, '::/', `${dir}/`], { env: MTOOLS_ENV });
    if (cp.status !== 0) return `mcopy -s: exit ${cp.status}: ${cp.stderr.trim()}`;
    const files = new Map<string, string>();
    for (const f of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
      if (fs.statSync(path.join(dir, f)).isFile()) files.set(f, sha256File(path.join(dir, f)));
    }
    return files;
  } finally {
    fs.rmSync(part, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Checks an MBR disk: one active Linux partition from sector 2048 to the end, mbr.bin, the root. */
export function checkBiosDisk(img: string, expect: DiskExpect): DiskCheck {
  const problems: string[] = [];
  const bytes = fs.statSync(img).size;
  if (bytes !== expect.bytes) problems.push(`image is ${bytes} bytes, expected ${expect.bytes}`);
  const pt = partitionTable(img);
  const wantSize = bytes / 512 - 2048;
  const p = typeof pt === 'string' ? undefined : pt.partitions[0];
  if (typeof pt === 'string') problems.push(pt);
  else if (pt.label !== 'dos') problems.push(`partition table ${pt.label}, expected dos`);
  else if (pt.partitions.length !== 1) problems.push(`${pt.partitions.length} partitions, expected 1`);
  else if (p!.start !== 2048 || p!.size !== wantSize || p!.type !== '83' || p!.bootable !== true) {
    problems.push(`partition ${JSON.stringify(p)}, expected start 2048, size ${wantSize}, type 83, bootable`);
  }
  bootCode(img, MBR_BIN, problems);
  const uuid = checkRoot(img, { start: 2048, size: wantSize, type: '83' }, expect, problems);
  return { ok: problems.length === 0, problems, uuid };
}

/**
 * Checks a hybrid GPT disk: `sgdisk -v` clean; an ESP from sector 2048 (of cake-img's size)
 * and a legacy-BIOS-bootable root-x86-64 partition after it to the last usable sector;
 * gptmbr.bin; the ESP clean with cake-img's files (when given); the root as for bios.
 */
export function checkHybridDisk(img: string, expect: DiskExpect): DiskCheck & { esp?: Map<string, string>; espSectors?: number } {
  const problems: string[] = [];
  const bytes = fs.statSync(img).size;
  if (bytes !== expect.bytes) problems.push(`image is ${bytes} bytes, expected ${expect.bytes}`);
  const v = run('sgdisk', ['-v', img]);
  if (!/No problems found/.test(v.stdout)) problems.push(`sgdisk -v: ${`${v.stdout}${v.stderr}`.trim().split('\n').slice(0, 4).join(' | ')}`);
  const pt = partitionTable(img);
  if (typeof pt === 'string') return { ok: false, problems: [...problems, pt], uuid: null };
  const [esp, root] = pt.partitions;
  const lastUsable = bytes / 512 - 34;
  if (pt.label !== 'gpt' || pt.partitions.length !== 2 || !esp || !root) return { ok: false, problems: [...problems, `partition table ${pt.label} with ${pt.partitions.length} partitions, expected gpt with 2`], uuid: null };
  if (esp.type !== ESP_TYPE || esp.start !== 2048 || (expect.espSectors !== undefined && esp.size !== expect.espSectors)) {
    problems.push(`partition 1 ${JSON.stringify(esp)}, expected an ESP from 2048${expect.espSectors ? `, ${expect.espSectors} sectors` : ''}`);
  }
  if (root.type !== ROOT_TYPE || root.start !== esp.start + esp.size || root.start + root.size - 1 !== lastUsable || root.attrs !== 'LegacyBIOSBootable') {
    problems.push(`partition 2 ${JSON.stringify(root)}, expected root-x86-64 right after the ESP to sector ${lastUsable}, LegacyBIOSBootable`);
  }
  bootCode(img, GPTMBR_BIN, problems);
  const files = espFiles(img, esp);
  if (typeof files === 'string') problems.push(`ESP: ${files}`);
  else if (expect.esp) {
    const differ = [...new Set([...files.keys(), ...expect.esp.keys()])].filter((f) => files.get(f) !== expect.esp!.get(f));
    if (differ.length) problems.push(`the ESP's files differ from cake-img's: ${differ.join(', ')}`);
  }
  const uuid = checkRoot(img, root, expect, problems);
  return { ok: problems.length === 0, problems, uuid, ...(typeof files === 'string' ? {} : { esp: files }), espSectors: esp.size };
}

/** The root partition's byte offset in a disk (the one partition of a bios disk, the second of a GPT). */
export function rootOffset(img: string): number {
  const pt = partitionTable(img);
  if (typeof pt === 'string') throw new Error(pt);
  const p = pt.partitions[pt.label === 'gpt' ? 1 : 0];
  if (!p) throw new Error(`${img}: no root partition`);
  return p.start * 512;
}
