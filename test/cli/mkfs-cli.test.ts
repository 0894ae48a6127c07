// `cake-img mkfs` end to end: as the unprivileged user 65534 from a tarball with owners
// and devices in its headers, reproducibility, --offset, and one-line errors that leave
// no file behind.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTarFile } from '../../src/host/archive-file.js';
import { expectFsckClean } from '../oracles/e2fsck.js';
import { hasTool, isRoot } from '../oracles/tools.js';
import { canRunAsNobody, cakeImg } from '../helpers/cli.js';
import { expectImageMatchesTree } from '../helpers/compare.js';
import { sha256File, tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-cli-');
fs.chmodSync(work, 0o777); // the unprivileged run writes its image here
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A rootfs tarball whose owners and devices exist only in the headers (made as root, or with --owner). */
function makeRootfsTar(): string {
  const root = path.join(work, 'rootfs');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.mkdirSync(path.join(root, 'home/user'), { recursive: true });
  fs.mkdirSync(path.join(root, 'dev'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/hostname'), 'cake\n');
  fs.writeFileSync(path.join(root, 'home/user/notes'), 'mine\n');
  fs.symlinkSync('../etc/hostname', path.join(root, 'home/link'));
  fs.linkSync(path.join(root, 'etc/hostname'), path.join(root, 'etc/hostname.bak'));
  const tar = path.join(work, 'rootfs.tar.gz');
  const args = ['-C', root, '--numeric-owner', '--sort=name', '--format=posix', '--mtime=@1700000000', '-czf', tar];
  if (isRoot) {
    execFileSync('mknod', [path.join(root, 'dev/null'), 'c', '1', '3']);
    execFileSync('chown', ['-R', '1000:1000', path.join(root, 'home/user')]);
    execFileSync('tar', [...args, '.']);
  } else {
    execFileSync('tar', [...args, '--owner=0', '--group=0', '.']);
  }
  return tar;
}

describe.skipIf(!hasTool('e2fsck') || !hasTool('debugfs'))('cake-img mkfs', () => {
  let tar = '';
  beforeAll(() => {
    tar = makeRootfsTar();
  });

  it.skipIf(!canRunAsNobody)('images a tarball as uid 65534 with owners and devices from the headers', async () => {
    const img = path.join(work, 'nobody.img');
    const r = cakeImg(['mkfs', tar, img, '--size', '16M'], { asNobody: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/nobody\.img: ext4, 16\.0 MiB/);
    expect(fs.statSync(img).uid).toBe(65534);
    expectFsckClean(img);
    const src = await loadTarFile(tar);
    expect(src.tree.root.entries.get('dev')!.kind).toBe('dir');
    await expectImageMatchesTree(img, src.tree, src.content);
    await src.content.close();
  });

  it('is reproducible: same input, same sha256; SOURCE_DATE_EPOCH clamps times', () => {
    const a = path.join(work, 'a.img');
    const b = path.join(work, 'b.img');
    const env = { SOURCE_DATE_EPOCH: '1600000000' };
    expect(cakeImg(['mkfs', tar, a], { env }).status).toBe(0);
    expect(cakeImg(['mkfs', tar, b], { env }).status).toBe(0);
    expect(sha256File(a)).toBe(sha256File(b));
    const st = execFileSync('debugfs', ['-R', 'stat /etc/hostname', a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(st).toMatch(/mtime: 0x5f5e1000:00000000/); // 1600000000
  });

  it('--owner overrides every owner; --uuid and --label are honoured', () => {
    const img = path.join(work, 'owner.img');
    const r = cakeImg(['mkfs', tar, img, '--owner', '0:0', '--uuid', '99999999-9999-9999-9999-999999999999', '--label', 'root']);
    expect(r.status).toBe(0);
    const out = execFileSync('dumpe2fs', ['-h', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(out).toMatch(/Filesystem UUID:\s+99999999-9999-9999-9999-999999999999/);
    expect(out).toMatch(/Filesystem volume name:\s+root/);
    const st = execFileSync('debugfs', ['-R', 'stat /home/user/notes', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(st).toMatch(/User:\s+0\s+Group:\s+0/);
  });

  it('--offset writes the filesystem inside an existing file and leaves the rest alone', () => {
    const img = path.join(work, 'disk.img');
    fs.writeFileSync(img, Buffer.alloc(512, 0xaa));
    const r = cakeImg(['mkfs', tar, img, '--offset', String(1 << 20), '--size', '16M']);
    expect(r.status).toBe(0);
    expect(fs.statSync(img).size).toBe((1 << 20) + (16 << 20));
    const head = Buffer.alloc(512);
    const fd = fs.openSync(img, 'r');
    fs.readSync(fd, head, 0, 512, 0);
    fs.closeSync(fd);
    expect(head.every((b) => b === 0xaa)).toBe(true);
    expectFsckClean(img, 1 << 20);
  });

  describe('bad input: one line, non-zero exit, no image left', () => {
    const bad = (name: string, args: (img: string) => string[], message: RegExp, opts: { asNobody?: boolean; status?: number } = {}) =>
      it(name, () => {
        const img = path.join(work, `bad-${name.replace(/\W+/g, '-')}.img`);
        const r = cakeImg(args(img), opts);
        expect(r.status, r.stderr).toBe(opts.status ?? 1);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(message);
        expect(fs.existsSync(img)).toBe(false);
        expect(fs.readdirSync(work).filter((f) => /^\..*\.cake-/.test(f))).toEqual([]);
      });

    bad('missing source', (img) => ['mkfs', path.join(work, 'nope'), img], /nope: cannot read the source: no such file or directory/);
    bad('too small', (img) => ['mkfs', tar, img, '--size', '40K'], /needs at least .* but the size is 40\.0 KiB; use --size \d+M/);
    // A bad option value is a usage error: exit 2.
    bad('bad size', (img) => ['mkfs', tar, img, '--size', 'lots'], /--size: cannot read size "lots"/, { status: 2 });
    bad('bad owner', (img) => ['mkfs', tar, img, '--owner', 'root'], /--owner: expected UID:GID/, { status: 2 });
    bad('bad feature', (img) => ['mkfs', tar, img, '--features', 'inline_data'], /inline_data is not offered/, { status: 2 });
    bad('not an archive', (img) => {
      const f = path.join(work, 'junk.bin');
      fs.writeFileSync(f, 'this is not a tarball at all');
      return ['mkfs', f, img];
    }, /junk\.bin: not a directory, container image, \.deb, or tar archive/);
    bad('truncated gzip', (img) => {
      const f = path.join(work, 'cut.tar.gz');
      const whole = fs.readFileSync(tar);
      fs.writeFileSync(f, whole.subarray(0, Math.floor(whole.length / 2)));
      return ['mkfs', f, img];
    }, /cut\.tar\.gz: .*(truncated|unexpected end|ends)/i);
    bad('dot-dot in a tar name', (img) => {
      const d = path.join(work, 'evil');
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'x'), 'x');
      const f = path.join(work, 'evil.tar');
      execFileSync('tar', ['-C', d, '--transform=s,^x$,../escape,', '-cf', f, 'x']);
      return ['mkfs', f, img];
    }, /evil\.tar: .*\.\./);
    if (canRunAsNobody) {
      bad('unreadable file', (img) => {
        const d = path.join(work, 'locked');
        fs.mkdirSync(d, { recursive: true });
        fs.chmodSync(d, 0o755);
        fs.writeFileSync(path.join(d, 'secret'), 'top secret');
        fs.chmodSync(path.join(d, 'secret'), 0o600);
        return ['mkfs', d, img];
      }, /locked\/secret: cannot read: EACCES/, { asNobody: true });
    }
  });

  it('--help lists every option with examples', () => {
    const r = cakeImg(['mkfs', '--help']);
    expect(r.status).toBe(0);
    for (const o of ['--size', '--uuid', '--label', '--offset', '--owner', '--block-size', '--inode-size', '--journal-blocks', '--no-journal', '--features', 'Examples:']) {
      expect(r.stdout).toContain(o);
    }
  });
});
