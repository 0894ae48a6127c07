// GPT disks end to end: `bake --firmware hybrid` as uid 65534 gives one file that boots on
// SeaBIOS (gptmbr.bin → extlinux on the root) and on OVMF (systemd-boot from the ESP), to
// the rootfs's /sbin/init; `--firmware uefi` boots on OVMF. Judged by sfdisk --verify,
// sgdisk -v, fsck.fat -n on the ESP, mtools reading its files, e2fsck on the root, the
// kernel's own view of the partitions (/sys/block in the guest), and reproducibility.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFsckClean } from '../oracles/e2fsck.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';
import { canRunAsNobody, cakeImg } from '../helpers/cli.js';
import { type DebianKernel, debianKernel } from '../helpers/debian.js';
import { sha256File, tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-uefi-');
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const toolEnv = { ...process.env, PATH: TOOL_PATH, LC_ALL: 'C' };
const canBake = () =>
  hasTool('qemu-system-x86_64') && hasTool('apt-get') && hasTool('depmod') && hasTool('sfdisk') && hasTool('sgdisk') &&
  hasTool('fsck.fat') && hasTool('mdir') && hasTool('extlinux') && fs.existsSync('/bin/busybox') &&
  (fs.existsSync('/usr/share/OVMF/OVMF_CODE_4M.fd') || !!process.env.CI) && (fs.existsSync('/usr/lib/systemd/boot/efi/systemd-bootx64.efi') || !!process.env.CI);
const MODULES = 'virtio_pci,virtio_blk,ext4';
const env = { XDG_CACHE_HOME: path.join(work, 'cache'), SOURCE_DATE_EPOCH: '1700000000' };

/** A busybox rootfs tarball whose /sbin/init prints a marker, the partitions the kernel sees, and powers off. */
function rootfsTarball(): string {
  const root = path.join(work, 'rootfs');
  for (const d of ['bin', 'sbin', 'dev', 'proc', 'sys', 'mnt', 'etc']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(root, 'bin/sh'));
  fs.writeFileSync(path.join(root, 'sbin/init'), [
    '#!/bin/sh',
    '/bin/busybox mount -t proc proc /proc',
    '/bin/busybox mount -t sysfs sys /sys',
    'efi=bios; [ -d /sys/firmware/efi ] && efi=uefi',
    'parts=$(cd /sys/block/vda && /bin/busybox ls -d vda* | /bin/busybox tr "\\n" " ")',
    'echo "CAKE-GPT-$((6*7)) firmware=$efi parts=$parts root=$(/bin/busybox cat /sys/block/vda/vda2/start)"',
    '/bin/busybox poweroff -f',
    '',
  ].join('\n'), { mode: 0o755 });
  const tar = path.join(work, 'rootfs.tar.gz');
  execFileSync('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@1700000000', '-czf', tar, '.']);
  fs.chmodSync(tar, 0o644);
  return tar;
}

/** Copies partition `n` (1-based) of a GPT image out, as sfdisk places it. */
function partition(img: string, n: number, out: string): { start: number; size: number } {
  const t = JSON.parse(execFileSync('sfdisk', ['--json', img], { encoding: 'utf8', env: toolEnv })).partitiontable;
  const p = t.partitions[n - 1];
  const fd = fs.openSync(img, 'r');
  const buf = Buffer.alloc(p.size * 512);
  fs.readSync(fd, buf, 0, buf.length, p.start * 512);
  fs.closeSync(fd);
  fs.writeFileSync(out, buf);
  return { start: p.start, size: p.size };
}

describe.skipIf(!canBake())('GPT disks: uefi and hybrid', () => {
  let tar = '';
  let k: DebianKernel;
  beforeAll(async () => {
    tar = rootfsTarball();
    k = await debianKernel();
    fs.mkdirSync(env.XDG_CACHE_HOME, { recursive: true, mode: 0o777 });
    fs.chmodSync(env.XDG_CACHE_HOME, 0o777);
  }, 300_000);
  const bakeArgs = (img: string, firmware: string, extra: string[] = []) =>
    ['bake', '--firmware', firmware, '--rootfs', tar, '--kernel', k.root, '--modules', MODULES, '--options', 'console=ttyS0 panic=-1', '--size', '96M', '-o', img, ...extra];
  const boot = (img: string, firmware: string) =>
    cakeImg(['boot', img, '--firmware', firmware, '--expect', 'CAKE-GPT-42', '--timeout', '300', '--accel', 'tcg', '--memory', '256M'], { asNobody: canRunAsNobody, env });

  it.skipIf(!canRunAsNobody)('a hybrid disk built as uid 65534 boots on SeaBIOS and on OVMF from the same file', () => {
    const img = path.join(work, 'hybrid.img');
    const r = cakeImg(bakeArgs(img, 'hybrid'), { asNobody: true, env });
    expect(r.status, r.stderr).toBe(0);
    const before = sha256File(img);
    const bios = boot(img, 'bios');
    expect(bios.status, bios.stdout.slice(-3000) + bios.stderr).toBe(0);
    expect(bios.stdout).toMatch(/SYSLINUX 6\.04/);
    expect(bios.stdout).toMatch(/CAKE-GPT-42 firmware=bios parts=vda1 vda2 +root=\d+/);
    const uefi = boot(img, 'uefi');
    expect(uefi.status, uefi.stdout.slice(-3000) + uefi.stderr).toBe(0);
    expect(uefi.stdout).toMatch(/CAKE-GPT-42 firmware=uefi parts=vda1 vda2 +root=\d+/);
    expect(uefi.stdout).not.toMatch(/SYSLINUX/);
    // The kernel saw the root where the GPT puts it; booting changed nothing (snapshot drives).
    const t = JSON.parse(execFileSync('sfdisk', ['--json', img], { encoding: 'utf8', env: toolEnv })).partitiontable;
    expect(uefi.stdout).toContain(`root=${t.partitions[1].start}`);
    expect(sha256File(img)).toBe(before);
  }, 900_000);

  it('a uefi disk boots on OVMF, and boot picks UEFI for it by itself', () => {
    const img = path.join(work, 'uefi.img');
    expect(cakeImg(bakeArgs(img, 'uefi'), { env }).status).toBe(0);
    expect(fs.readFileSync(img).subarray(0, 440).every((b) => b === 0)).toBe(true);
    const r = cakeImg(['boot', img, '--expect', 'CAKE-GPT-42', '--timeout', '300', '--accel', 'tcg', '--memory', '256M'], { env });
    expect(r.status, r.stdout.slice(-3000) + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\(uefi, tcg/);
    expect(r.stdout).toMatch(/firmware=uefi/);
  }, 600_000);

  it('the verifiers find both disks clean; two builds are identical', () => {
    for (const firmware of ['uefi', 'hybrid']) {
      const a = path.join(work, `${firmware}-a.img`), b = path.join(work, `${firmware}-b.img`);
      expect(cakeImg(bakeArgs(a, firmware), { env }).status).toBe(0);
      expect(cakeImg(bakeArgs(b, firmware), { env }).status).toBe(0);
      expect(sha256File(a)).toBe(sha256File(b));
      const verify = spawnSync('sfdisk', ['--verify', a], { encoding: 'utf8', env: toolEnv });
      expect(verify.status, verify.stdout + verify.stderr).toBe(0);
      expect(spawnSync('sgdisk', ['-v', a], { encoding: 'utf8', env: toolEnv }).stdout).toMatch(/No problems found/);
      const t = JSON.parse(execFileSync('sfdisk', ['--json', a], { encoding: 'utf8', env: toolEnv })).partitiontable;
      expect(t.label).toBe('gpt');
      expect(t.partitions.map((p: { type: string }) => p.type)).toEqual(['C12A7328-F81F-11D2-BA4B-00A0C93EC93B', '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709']);
      expect(t.partitions[0].start).toBe(2048);
      expect(t.partitions[1].attrs).toBe(firmware === 'hybrid' ? 'LegacyBIOSBootable' : undefined);
      const esp = path.join(work, `${firmware}.esp`);
      partition(a, 1, esp);
      const fsck = spawnSync('fsck.fat', ['-n', esp], { encoding: 'utf8', env: toolEnv });
      expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
      const dir = spawnSync('mdir', ['-/', '-b', '-i', esp, '::'], { encoding: 'utf8', env: { ...toolEnv, MTOOLS_SKIP_CHECK: '1' } });
      expect(dir.stdout.split('\n').filter((l) => l && !l.endsWith('/')).sort()).toEqual([
        '::/EFI/BOOT/BOOTX64.EFI', '::/linux/initrd', '::/linux/vmlinuz', '::/loader/entries/linux.conf', '::/loader/loader.conf',
      ]);
      const kernel = spawnSync('mtype', ['-i', esp, '::/linux/vmlinuz'], { env: { ...toolEnv, MTOOLS_SKIP_CHECK: '1' }, maxBuffer: 1 << 28 });
      expect(Buffer.from(kernel.stdout).equals(fs.readFileSync(k.vmlinuz))).toBe(true);
      const entry = spawnSync('mtype', ['-i', esp, '::/loader/entries/linux.conf'], { encoding: 'utf8', env: { ...toolEnv, MTOOLS_SKIP_CHECK: '1' } });
      expect(entry.stdout).toContain('options console=ttyS0 panic=-1');
      expectFsckClean(a, t.partitions[1].start * 512);
    }
  }, 600_000);

  describe('bad input: one line, no image', () => {
    const bad = (name: string, args: (img: string) => string[], message: RegExp, status: number) =>
      it(name, () => {
        const img = path.join(work, `bad-${name.replace(/\W+/g, '-')}.img`);
        const r = cakeImg(args(img), { env });
        expect(r.status, r.stderr).toBe(status);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(message);
        expect(fs.existsSync(img)).toBe(false);
      }, 120_000);
    bad('an unknown firmware', (img) => bakeArgs(img, 'coreboot'), /--firmware: must be bios, uefi or hybrid/, 2);
    bad('a kernel without an EFI stub', (img) => {
      const fake = path.join(work, 'bzimage-no-stub');
      const b = Buffer.alloc(4096, 0x90);
      b.write('HdrS', 0x202, 'latin1');
      fs.writeFileSync(fake, b);
      return ['bake', '--firmware', 'uefi', '--rootfs', tar, '--kernel', fake, '--size', '96M', '-o', img];
    }, /bzimage-no-stub: is not a PE image .*EFI stub/, 1);
    bad('an ESP FAT cannot be made that small', (img) => bakeArgs(img, 'uefi', ['--esp-size', '2M']), /--esp-size: 2.00 MiB is too small for FAT16/, 2);
    bad('an ESP too small for its files', (img) => bakeArgs(img, 'uefi', ['--esp-size', '4M']), /the EFI system partition .* needs at least .* use --esp-size \d+M/, 1);
    bad('a GPT option for a bios disk', (img) => bakeArgs(img, 'bios', ['--disk-guid', '11111111-2222-4333-8444-555555555555']), /--disk-guid: is for GPT disks/, 2);
    bad('a bad disk GUID', (img) => bakeArgs(img, 'uefi', ['--disk-guid', 'zz']), /--disk-guid: expected a GUID/, 2);
  });
});
