// `cake-img bake` end to end: built by uid 65534 from a rootfs tarball with root-owned
// files, the disk boots in QEMU (TCG) through mbr.bin → extlinux → kernel → initramfs →
// switch_root → the rootfs's /sbin/init. Also: sfdisk and e2fsck read it, two builds are
// identical, bad inputs fail in one line with no image left.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFsckClean } from '../oracles/e2fsck.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';
import { canRunAsNobody, cakeImg } from '../helpers/cli.js';
import { type DebianKernel, debianKernel } from '../helpers/debian.js';
import { sha256File, tmpDir } from '../helpers/image.js';
import { busyboxRootfsTarball } from '../helpers/web-fixtures.js';

const work = tmpDir('cake-bake-');
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const canBake = () =>
  hasTool('qemu-system-x86_64') && hasTool('apt-get') && hasTool('depmod') && hasTool('sfdisk') && hasTool('extlinux') && fs.existsSync('/bin/busybox');
const MODULES = 'virtio_pci,virtio_blk,ext4';
const env = { XDG_CACHE_HOME: path.join(work, 'cache'), SOURCE_DATE_EPOCH: '1700000000' };

describe.skipIf(!canBake())('cake-img bake', () => {
  let tar = '';
  let k: DebianKernel;
  beforeAll(async () => {
    tar = busyboxRootfsTarball(work);
    k = await debianKernel();
    fs.mkdirSync(env.XDG_CACHE_HOME, { recursive: true, mode: 0o777 });
    fs.chmodSync(env.XDG_CACHE_HOME, 0o777);
  }, 300_000);
  const bakeArgs = (img: string, extra: string[] = []) =>
    ['bake', '--firmware', 'bios', '--rootfs', tar, '--kernel', k.root, '--modules', MODULES, '--options', 'console=ttyS0 panic=-1', '--size', '64M', '-o', img, ...extra];

  it.skipIf(!canRunAsNobody)('built as uid 65534, it boots to the rootfs /sbin/init', () => {
    const img = path.join(work, 'nobody.img');
    const r = cakeImg(bakeArgs(img), { asNobody: true, env });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.statSync(img).uid).toBe(65534);
    const b = cakeImg(['boot', img, '--expect', 'CAKE-BAKED-42', '--timeout', '240', '--accel', 'tcg', '--memory', '256M'], { asNobody: true, env });
    expect(b.status, b.stdout.slice(-3000) + b.stderr).toBe(0);
    expect(b.stdout).toMatch(/SYSLINUX 6\.04/);
    expect(b.stdout).toMatch(/CAKE-BAKED-42 uid=0 BOOT_IMAGE=\/boot\/vmlinux console=ttyS0 panic=-1 initrd=\/boot\/initrd/);
  }, 400_000);

  it('sfdisk reads the partition, e2fsck finds the filesystem clean, two builds are identical', () => {
    const a = path.join(work, 'a.img');
    const b = path.join(work, 'b.img');
    expect(cakeImg(bakeArgs(a), { env }).status).toBe(0);
    expect(cakeImg(bakeArgs(b), { env }).status).toBe(0);
    expect(sha256File(a)).toBe(sha256File(b));
    // The second build took its initrd from the cache: the same bytes as a fresh one.
    const cached = fs.readdirSync(path.join(env.XDG_CACHE_HOME, 'cake-img', 'initrd'));
    expect(cached.filter((f) => f.endsWith('.gz')).length).toBeGreaterThanOrEqual(1);
    const t = JSON.parse(execFileSync('sfdisk', ['--json', a], { encoding: 'utf8', env: { ...process.env, PATH: TOOL_PATH } })).partitiontable;
    expect(t.partitions).toEqual([expect.objectContaining({ start: 2048, size: (64 << 20) / 512 - 2048, type: '83', bootable: true })]);
    expectFsckClean(a, 1 << 20);
    const ls = execFileSync('debugfs', ['-R', 'ls -l /boot', `${a}?offset=${1 << 20}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const f of ['vmlinux', 'initrd', 'syslinux.cfg', 'ldlinux.sys', 'ldlinux.c32']) expect(ls).toContain(f);
    const cfg = execFileSync('debugfs', ['-R', 'cat /boot/syslinux.cfg', `${a}?offset=${1 << 20}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(cfg).toBe('SERIAL 0 115200\nDEFAULT linux\nLABEL linux\n  LINUX /boot/vmlinux\n  INITRD /boot/initrd\n  APPEND console=ttyS0 panic=-1\n');
  }, 300_000);

  it('takes the kernel as a linux-image .deb (unpacked into the cache, depmod run)', () => {
    const dl = path.join(work, 'kernel-deb');
    fs.mkdirSync(dl, { recursive: true });
    execFileSync('apt-get', ['download', k.pkg], { cwd: dl, stdio: 'ignore', env: { ...process.env, PATH: TOOL_PATH } });
    const deb = path.join(dl, fs.readdirSync(dl).find((f) => f.endsWith('.deb'))!);
    const img = path.join(work, 'deb.img');
    const r = cakeImg(bakeArgs(img).map((a) => (a === k.root ? deb : a)), { env });
    expect(r.status, r.stderr).toBe(0);
    const out = path.join(work, 'vmlinux.from-image');
    execFileSync('debugfs', ['-R', `dump /boot/vmlinux ${out}`, `${img}?offset=${1 << 20}`], { stdio: 'ignore' });
    expect(fs.readFileSync(out).equals(fs.readFileSync(k.vmlinuz))).toBe(true);
    expect(fs.readdirSync(path.join(env.XDG_CACHE_HOME, 'cake-img', 'kernels')).length).toBe(1);
  }, 300_000);

  describe('bad input: one line, exit 1 (2 for a bad option value), no image', () => {
    const bad = (name: string, extra: () => string[], message: RegExp, args?: (img: string) => string[], status = 1) =>
      it(name, () => {
        const img = path.join(work, `bad-${name.replace(/\W+/g, '-')}.img`);
        const r = cakeImg(args ? args(img) : [...bakeArgs(img), ...extra()], { env });
        expect(r.status, r.stderr).toBe(status);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(message);
        expect(fs.existsSync(img)).toBe(false);
      }, 120_000);
    bad('rootfs too big for the size', () => ['--size', '4M'], /needs at least .* use --size \d+M/);
    bad('a module the kernel lacks', () => [], /no module "ext5" .*close: ext4/, (img) => bakeArgs(img).map((a) => (a === MODULES ? 'virtio_blk,ext5' : a)), 2);
    bad('no syslinux pieces', () => ['--syslinux', path.join(work, 'no-such-syslinux')], /no-such-syslinux/, undefined, 2);
  });
});
