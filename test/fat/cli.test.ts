// `cake-img mkfs --type vfat` end to end: as the unprivileged user 65534, from a directory
// and from a tarball; what FAT cannot hold named (or skipped under --lenient); the size
// advice; options that mean nothing for FAT; --uuid, --label, --offset, SOURCE_DATE_EPOCH;
// one sha256 whatever the host's time zone and locale.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAT16_BOOT_SECTOR, FAT32_BOOT_SECTOR } from '../../src/bake/fat/boot-sector.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { expectFsckFatClean, hasFatTools, mdir } from '../oracles/fat.js';
import { canRunAsNobody, cakeImg, oneErrorLine } from '../helpers/cli.js';
import { expectMtoolsView, readImage } from '../helpers/fat.js';
import { sha256File, tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-fat-cli-');
fs.chmodSync(work, 0o777); // the unprivileged run writes its image here
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** An ESP-like directory every user can read, with times in odd seconds, a hard link and a sparse file. */
function makeEsp(): string {
  const root = path.join(work, 'esp');
  for (const d of ['EFI/BOOT', 'loader/entries', 'Program Files/sub dir']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.writeFileSync(path.join(root, 'EFI/BOOT/BOOTX64.EFI'), Buffer.alloc(200_000, 0x5a));
  fs.writeFileSync(path.join(root, 'loader/loader.conf'), 'timeout 0\n');
  fs.writeFileSync(path.join(root, 'loader/entries/Debian GNU-Linux.conf'), 'title Debian\n');
  fs.writeFileSync(path.join(root, 'Program Files/sub dir/ünïcödé.txt'), 'hello\n');
  fs.writeFileSync(path.join(root, 'read-only.txt'), 'ro\n');
  fs.chmodSync(path.join(root, 'read-only.txt'), 0o444);
  fs.linkSync(path.join(root, 'loader/loader.conf'), path.join(root, 'loader/loader.conf.bak')); // a copy in the image
  const sparse = fs.openSync(path.join(root, 'sparse.bin'), 'w'); // a hole, then data: zeros in the image
  fs.writeSync(sparse, Buffer.from('tail'), 0, 4, 3 << 20);
  fs.closeSync(sparse);
  execFileSync('find', [root, '-exec', 'touch', '-h', '-d', '@1700000001', '{}', '+']);
  execFileSync('chmod', ['-R', 'a+rX', root]);
  return root;
}

describe.skipIf(!hasFatTools())('cake-img mkfs --type vfat', () => {
  let esp = '';
  beforeAll(() => {
    esp = makeEsp();
  });

  it.skipIf(!canRunAsNobody)('images a directory as uid 65534 (host files copied by the device): fsck.fat-clean, mtools reads it back', async () => {
    const img = path.join(work, 'nobody.img');
    const r = cakeImg(['mkfs', '--type', 'vfat', esp, img, '--label', 'esp'], { asNobody: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^.*nobody\.img: vfat \(FAT16\), 8\.00 MiB \(auto: the tree needs [\d.]+ MiB\), 7 files, 7 directories, [\d.]+ MiB free, 1024-byte clusters, volume ID [0-9A-F]{4}-[0-9A-F]{4}\n$/);
    expect(fs.statSync(img).uid).toBe(65534);
    expectFsckFatClean(img);
    expect(mdir(img).label).toBe('ESP');
    const src = await loadDirectory(new NodeSourceFs(esp));
    await expectMtoolsView(img, path.join(work, 'nobody.d'), src.tree, src.content);
    await src.content.close();
  });

  it('a tarball with a symlink: refused naming the entry, skipped with a warning under --lenient', () => {
    const tar = path.join(work, 'with-link.tar');
    const d = path.join(work, 'linked');
    fs.mkdirSync(path.join(d, 'boot'), { recursive: true });
    fs.writeFileSync(path.join(d, 'boot/vmlinuz'), 'kernel');
    fs.symlinkSync('vmlinuz', path.join(d, 'boot/current'));
    execFileSync('tar', ['-C', d, '--owner=1000', '--group=1000', '-cf', tar, '.']);
    const img = path.join(work, 'link.img');
    const r = cakeImg(['mkfs', '--type', 'vfat', tar, img]);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r)).toBe(`cake-img: error: ${tar}: /boot/current: is a symbolic link, which FAT cannot hold (--lenient skips it with a warning)`);
    expect(fs.existsSync(img)).toBe(false);
    const l = cakeImg(['mkfs', '--type', 'vfat', tar, img, '--lenient']);
    expect(l.status, l.stderr).toBe(0);
    expect(l.stderr).toBe(`cake-img: warning: ${tar}: /boot/current: is a symbolic link, which FAT cannot hold; skipped\n`);
    expectFsckFatClean(img);
    expect(mdir(img, '::/boot').entries.map((e) => e.short)).toEqual(['vmlinuz']); // owners 1000: ignored
  });

  it('a size too small says what the tree needs; nothing is left behind', () => {
    const img = path.join(work, 'small.img');
    const r = cakeImg(['mkfs', '--type', 'vfat', esp, img, '--size', '4M', '--fat-type', '32']);
    expect(r.status).toBe(2);
    expect(oneErrorLine(r)).toMatch(/--fat-type: 4\.00 MiB is too small for FAT32 .*; the smallest is 33\.0 MiB$/);
    const big = path.join(work, 'big');
    fs.mkdirSync(big, { recursive: true });
    fs.writeFileSync(path.join(big, 'blob'), Buffer.alloc(5 << 20, 1));
    const f = cakeImg(['mkfs', '--type', 'vfat', big, img, '--size', '4M']);
    expect(f.status).toBe(1);
    expect(oneErrorLine(f)).toMatch(/: the tree needs at least 6\.00 MiB \(\d+ bytes\) but the size is 4\.00 MiB; use --size 6M or --size auto$/);
    expect(fs.existsSync(img)).toBe(false);
    expect(fs.readdirSync(work).filter((x) => x.includes('.cake-'))).toEqual([]);
    expect(cakeImg(['mkfs', '--type', 'vfat', big, img, '--size', '6M']).status).toBe(0);
    expectFsckFatClean(img);
  });

  it('options that mean nothing for FAT, and bad values, are one-line usage errors', () => {
    const img = path.join(work, 'opts.img');
    for (const [args, message] of [
      [['--inode-size', '256'], /--inode-size: has no meaning for --type vfat/],
      [['--journal-blocks', '1024'], /--journal-blocks: has no meaning for --type vfat/],
      [['--no-journal'], /--no-journal: has no meaning for --type vfat/],
      [['--features', '64bit'], /--features: has no meaning for --type vfat/],
      [['--owner', '0:0'], /--owner: has no meaning for --type vfat/],
      [['--uuid', '99999999-9999-9999-9999-999999999999'], /--uuid: a FAT volume ID is 8 hex digits, XXXX-XXXX/],
      [['--label', 'much too long'], /--label: a FAT label holds at most 11 characters/],
      [['--fat-type', '12'], /argument '12' is invalid/],
    ] as [string[], RegExp][]) {
      const r = cakeImg(['mkfs', '--type', 'vfat', esp, img, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(oneErrorLine(r)).toMatch(message);
    }
    const e = cakeImg(['mkfs', esp, img, '--fat-type', '32']);
    expect(oneErrorLine(e)).toMatch(/--fat-type: is for --type vfat/);
    const t = cakeImg(['mkfs', '--type', 'ntfs', esp, img]);
    expect(t.status).toBe(2);
    expect(fs.existsSync(img)).toBe(false);
  });

  it('--uuid is the volume ID, --fat-type 32, SOURCE_DATE_EPOCH clamps every time', () => {
    const img = path.join(work, 'ids.img');
    const r = cakeImg(['mkfs', '--type', 'vfat', esp, img, '--uuid', '1234-abcd', '--fat-type', '32'], { env: { SOURCE_DATE_EPOCH: '1600000000' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/vfat \(FAT32\), 33\.0 MiB/);
    expectFsckFatClean(img);
    const root = mdir(img);
    expect(root.serial).toBe('1234-ABCD');
    expect(root.entries.every((e) => e.time === '2020-09-13 12:26')).toBe(true); // 1600000000
    const late = cakeImg(['mkfs', '--type', 'vfat', esp, img], { env: { SOURCE_DATE_EPOCH: '4354819199' } });
    expect(late.status).toBe(2);
    expect(oneErrorLine(late)).toMatch(/SOURCE_DATE_EPOCH: 4354819199 is after 2107-12-31, the last time FAT can store/);
  });

  it('--offset puts the volume inside an existing file, with BPB_HiddSec, and leaves the rest alone', () => {
    const img = path.join(work, 'disk.img');
    fs.writeFileSync(img, Buffer.alloc(40 << 20, 0xaa));
    const r = cakeImg(['mkfs', '--type', 'vfat', esp, img, '--offset', String(1 << 20), '--size', '32M']);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.statSync(img).size).toBe(40 << 20);
    expect(readImage(img, 0, 1 << 20).every((b) => b === 0xaa)).toBe(true);
    expect(readImage(img, 33 << 20, 7 << 20).every((b) => b === 0xaa)).toBe(true);
    expect(FAT16_BOOT_SECTOR.decode(readImage(img, 1 << 20)).BPB_HiddSec).toBe(2048);
    const part = path.join(work, 'part.img'); // fsck.fat has no offset option: check the volume as its own file
    fs.writeFileSync(part, readImage(img, 1 << 20, 32 << 20));
    expectFsckFatClean(part);
    expect(FAT32_BOOT_SECTOR.offsets.BPB_HiddSec).toBe(FAT16_BOOT_SECTOR.offsets.BPB_HiddSec);
  });

  it('one sha256 whatever the time zone and locale', () => {
    const sums = new Set<string>();
    const envs: Record<string, string>[] = [{ TZ: 'UTC', LC_ALL: 'C' }, { TZ: 'America/New_York', LC_ALL: 'C.UTF-8' }, { TZ: 'Asia/Kolkata', LANG: 'de_DE.UTF-8', LC_ALL: '' }];
    for (const env of envs) {
      const img = path.join(work, `tz-${sums.size}.img`);
      const r = cakeImg(['mkfs', '--type', 'vfat', esp, img, '--label', 'ESP'], { env });
      expect(r.status, r.stderr).toBe(0);
      sums.add(sha256File(img));
      fs.rmSync(img);
    }
    expect(sums.size).toBe(1);
  });

  it('--help shows --type with an example', () => {
    const r = cakeImg(['mkfs', '--help']);
    expect(r.stdout).toContain('--type <TYPE>');
    expect(r.stdout).toContain('--fat-type <BITS>');
    expect(r.stdout).toMatch(/\n {2}cake-img mkfs --type vfat esp\/ esp\.img/);
  });
});
