// Wrong results that were reported as success, each now right or refused: a negative tar
// size, xattrs the kernel holds but the planner refused, QEMU failures and QEMU's own
// messages taken for the guest's, size messages whose advice did not work, and cooks
// whose times came from the clock.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSyslinux } from '../../src/host/syslinux.js';
import { planDisk } from '../../src/bake/disk.js';
import { planExt4 } from '../../src/bake/ext4/planner.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { DoesNotFitError } from '../../src/util/errors.js';
import { cakeImg, canRunAsNobody, oneErrorLine } from '../helpers/cli.js';
import { fakeKernel } from '../helpers/fake-kernel.js';
import { buildImage, testOptions, tmpDir } from '../helpers/image.js';
import { randomTree } from '../helpers/random-tree.js';
import { rawTar } from '../helpers/raw-tar.js';
import { expectFsckClean } from '../oracles/e2fsck.js';
import { canLoopMount } from '../oracles/mount.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';

const work = tmpDir('cake-results-');
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const env = { XDG_CACHE_HOME: path.join(work, 'cache'), SOURCE_DATE_EPOCH: '1700000000' };
fs.mkdirSync(env.XDG_CACHE_HOME, { mode: 0o777 });
fs.chmodSync(env.XDG_CACHE_HOME, 0o777);
const run = (args: string[], extraEnv: Record<string, string> = {}) => cakeImg(args, { asNobody: canRunAsNobody, env: { ...env, ...extraEnv } });
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, PATH: TOOL_PATH, TZ: 'UTC' } });

describe('tar fields out of range are corrupt input', () => {
  for (const [what, entry, message] of [
    ['a base-256 size of -1', { name: 'f', size: -1n }, /size field is negative \(-1\)/],
    ['a base-256 gid of -2', { name: 'f', gid: -2n, body: Buffer.from('x') }, /gid field is negative \(-2\)/],
  ] as const) {
    it(`${what}: one line, exit 1, no image (it used to give an image e2fsck rejects)`, () => {
      const tar = path.join(work, `${what.replace(/\W+/g, '-')}.tar`);
      fs.writeFileSync(tar, rawTar([entry]), { mode: 0o644 });
      const img = path.join(work, `${path.basename(tar)}.img`);
      const r = run(['mkfs', tar, img]);
      expect(r.status, r.stderr).toBe(1);
      expect(oneErrorLine(r)).toMatch(message);
      expect(fs.existsSync(img)).toBe(false);
    });
  }
});

describe.skipIf(!canLoopMount || !hasTool('mke2fs') || !hasTool('debugfs'))('xattrs: whatever the kernel holds in a 256-byte inode and one block, mkfs holds', () => {
  const xattr = createRequire(import.meta.url)('@napi-rs/xattr') as {
    setAttributeSync(p: string, n: string, v: Buffer): void;
    listAttributesSync(p: string): string[];
  };
  const img = path.join(work, 'kernel-xattrs.ext4');
  const mnt = path.join(work, 'kernel-xattrs');
  beforeAll(() => {
    // An ext4 the kernel writes (mke2fs defaults: 256-byte inodes, 4 KiB blocks, no ea_inode), mounted read-write.
    sh('mke2fs', ['-q', '-t', 'ext4', '-I', '256', '-b', '4096', '-O', '^ea_inode', img, '64M']);
    fs.mkdirSync(mnt);
    sh('mount', ['-o', 'loop', img, mnt]);
  });
  afterAll(() => {
    try {
      sh('umount', [mnt]);
    } catch {
      sh('umount', ['-l', mnt]);
    }
  });

  /** Sets the xattrs on a fresh file through the kernel; false when the kernel refuses them (then nothing can hold them). */
  function kernelHolds(dir: string, attrs: [string, number][]): boolean {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'f'), 'data\n');
    try {
      for (const [name, size] of attrs) xattr.setAttributeSync(path.join(dir, 'f'), name, Buffer.alloc(size, name.length + size));
      return true;
    } catch (e) {
      if (/ENOSPC|E2BIG|No space|too large/i.test(String((e as Error).message ?? e))) return false;
      throw e;
    }
  }

  async function expectHeld(dir: string, n: number): Promise<void> {
    const loaded = await loadDirectory(new NodeSourceFs(dir), { label: dir });
    const out = path.join(work, `xattr-${n}.img`);
    try {
      await buildImage(loaded.tree, loaded.content, out);
      expectFsckClean(out);
      const listed = sh('debugfs', ['-R', 'ea_list /f', out]);
      for (const name of xattr.listAttributesSync(path.join(dir, 'f'))) expect(listed).toContain(`${name} (`);
    } finally {
      await loaded.content.close();
      fs.rmSync(out, { force: true });
    }
  }

  it('the review case: about 4.1 KB, two small values in the inode and two of 1-3 KB in the block', async () => {
    const dir = path.join(mnt, 'review');
    expect(kernelHolds(dir, [['user.c', 20], ['user.d', 20], ['user.a', 3000], ['user.b', 1000]])).toBe(true);
    await expectHeld(dir, 0);
  });

  it('random sets the kernel accepted (100 cases)', async () => {
    let n = 0;
    let held = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.stringMatching(/^user\.[a-z]{1,12}$/), fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3500 }))), { minLength: 1, maxLength: 10, selector: (t) => t[0] }),
        async (attrs) => {
          const dir = path.join(mnt, `r${++n}`);
          if (!kernelHolds(dir, attrs)) return; // more than ext4 holds: nobody can
          held++;
          await expectHeld(dir, n);
        },
      ),
      { numRuns: 100 },
    );
    expect(held).toBeGreaterThan(30); // the property was not vacuous
  }, 300_000);
});

describe.skipIf(!hasTool('qemu-system-x86_64'))("QEMU's failures are failures, and only the guest's console is searched", () => {
  it('--expect does not match what QEMU itself prints, and QEMU failing to start is exit 1', () => {
    const img = path.join(work, 'empty.img');
    fs.writeFileSync(img, Buffer.alloc(1 << 20), { mode: 0o644 });
    // QEMU rejects the option on stderr ("invalid option") and exits 1; the marker is only in that message.
    const r = run(['boot', img, '--expect', 'invalid option', '--timeout', '30', '--accel', 'tcg', '--', '-no-such-option']);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(oneErrorLine(r)).toMatch(/qemu-system-x86_64 failed \(exit 1\)/);
  }, 60_000);
});

describe.skipIf(!hasTool('debugfs'))('sizes: messages state the real need, and their advice works', () => {
  let root = '';
  beforeAll(() => {
    root = path.join(work, 'sized');
    fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
    execFileSync('chmod', ['-R', 'a+rX', root]);
  });

  it('--size 100T says what ext4 holds; --size 1K says 1 KiB', () => {
    let r = run(['mkfs', root, path.join(work, 'big.img'), '--size', '100T']);
    expect(r.status).toBe(2);
    expect(oneErrorLine(r)).toMatch(/--size: 100\.0 TiB is more than cake-img writes: at most 16\.0 TiB/);
    r = run(['mkfs', root, path.join(work, 'tiny.img'), '--size', '1K']);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r)).toMatch(/needs at least [\d.]+ [KM]iB .* but the size is 1\.00 KiB; use --size \d+M/);
  });

  it.skipIf(!hasTool('extlinux'))("bake's advice is a disk size, and following it works", () => {
    const kernel = fakeKernel(path.join(work, 'vmlinuz'));
    const img = path.join(work, 'advice.img');
    const r = run(['bake', '--firmware', 'bios', '--rootfs', root, '--kernel', kernel, '--size', '2M', '-o', img]);
    expect(r.status).toBe(1);
    const advice = /use --size (\d+M)/.exec(oneErrorLine(r))![1]!;
    const ok = run(['bake', '--firmware', 'bios', '--rootfs', root, '--kernel', kernel, '--size', advice, '-o', img]);
    expect(ok.status, ok.stderr).toBe(0);
  });

  it.skipIf(!hasTool('extlinux'))('for random trees, the size the error advises fits (mkfs and the disk)', async () => {
    const pieces = await findSyslinux({ cacheDir: env.XDG_CACHE_HOME });
    let tooSmall = 0;
    await fc.assert(
      fc.asyncProperty(randomTree, fc.integer({ min: 1, max: 300 }), async (m, kib) => {
        const src = await loadDirectory(m);
        const advised = (e: unknown): number => {
          expect(e).toBeInstanceOf(DoesNotFitError);
          tooSmall++;
          return Number(/use --size (\d+)M/.exec((e as Error).message)![1]) * 2 ** 20;
        };
        try {
          planExt4(src.tree, testOptions({ size: kib * 1024 }));
        } catch (e) {
          planExt4(src.tree, testOptions({ size: advised(e) })); // must not throw
        }
        const disk = (size: number) => planDisk({
          rootfs: src.tree, rootContent: src.content, kernel: new Uint8Array(5000), initrd: new Uint8Array(7000), syslinux: pieces,
          append: 'console=ttyS0', ext4: testOptions({ size }), diskSignature: 1, time: { sec: 0, nsec: 0 },
        });
        try {
          disk(kib * 1024 + (1 << 20));
        } catch (e) {
          disk(advised(e));
        }
      }),
      { numRuns: 100 },
    );
    expect(tooSmall).toBeGreaterThan(50); // the advice was really followed, not only the sizes that fit
  }, 120_000);
});

describe.skipIf(!hasTool('proot') || !hasTool('tar'))('a cook with a script is reproducible without SOURCE_DATE_EPOCH', () => {
  it('two cooks in fresh caches, a second apart, give the same tar bytes', async () => {
    const src = path.join(work, 'repro-src');
    for (const d of ['bin', 'usr/bin', 'etc']) fs.mkdirSync(path.join(src, d), { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(src, 'bin/busybox'));
    fs.chmodSync(path.join(src, 'bin/busybox'), 0o755);
    for (const a of ['sh', 'echo', 'mkdir', 'touch']) fs.symlinkSync('busybox', path.join(src, 'bin', a));
    fs.symlinkSync('/bin/busybox', path.join(src, 'usr/bin/env'));
    fs.writeFileSync(path.join(src, 'etc/profile'), 'export PATH=/bin\n');
    execFileSync('touch', ['-h', '-d', '@1600000000', ...['bin', 'usr/bin', 'etc', 'etc/profile', 'bin/busybox', 'usr/bin/env', 'usr', '.', 'bin/sh', 'bin/echo', 'bin/mkdir', 'bin/touch'].map((p) => path.join(src, p))]);
    execFileSync('chmod', ['-R', 'a+rX', src]);
    const script = path.join(work, 'repro.sh');
    fs.writeFileSync(script, 'mkdir /made\necho "by the script" > /made/file\ntouch /etc/profile\n', { mode: 0o644 });
    const cook = (n: number): Buffer => {
      const cache = path.join(work, `repro-cache-${n}`);
      fs.mkdirSync(cache, { mode: 0o777 });
      fs.chmodSync(cache, 0o777);
      const out = path.join(work, `repro-${n}.tar`);
      const r = cakeImg(['cook', '--src', src, '--script', script, '--name', 'repro', '-q', '-o', out], { asNobody: canRunAsNobody, env: { XDG_CACHE_HOME: cache } });
      expect(r.status, r.stderr).toBe(0);
      return fs.readFileSync(out);
    };
    const a = cook(1);
    await new Promise((r) => setTimeout(r, 1100));
    const b = cook(2);
    expect(b.equals(a)).toBe(true);
    // Everything the script made is dated the newest time of the source (1600000000).
    const listed = sh('tar', ['--full-time', '-tvf', path.join(work, 'repro-1.tar')]);
    expect(listed).toMatch(/ 2020-09-13 12:26:40 \.\/made\/file$/m);
  }, 120_000);
});
