// Module resolution against a synthetic lib/modules/<version> (depmod's file formats),
// compressed modules made by the real xz, zstd and gzip tools, and every bad input the
// initrd builder must refuse in one line.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initrd } from '../../src/api/initrd.js';
import { loadModuleIndex, resolveModules } from '../../src/bake/initrd/modules.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { hasTool } from '../oracles/tools.js';
import { CLI } from '../helpers/cli.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-mod-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const V = '9.9.9-test';
const dir = path.join(work, 'lib/modules', V);
const UUID = '12345678-1234-1234-1234-123456789abc';

/** Fake .ko files are tagged text; what matters is that they come out decompressed. */
function writeModule(rel: string, compress?: 'xz' | 'zst' | 'gz'): void {
  const p = path.join(dir, rel.replace(/\.(xz|zst|gz)$/, ''));
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, `module ${path.basename(p)}\n`.repeat(50));
  if (compress === 'xz') execFileSync('xz', ['-f', p]);
  if (compress === 'zst') execFileSync('zstd', ['-q', '--rm', '-f', p]);
  if (compress === 'gz') execFileSync('gzip', ['-nf', p]);
}

beforeAll(() => {
  if (!hasTool('xz') || !hasTool('zstd')) return;
  writeModule('kernel/fs/ext4/ext4.ko.xz', 'xz');
  writeModule('kernel/fs/jbd2/jbd2.ko.zst', 'zst');
  writeModule('kernel/fs/mbcache.ko.gz', 'gz');
  writeModule('kernel/lib/crc16.ko');
  writeModule('kernel/crypto/crc32c_generic.ko');
  writeModule('kernel/drivers/block/virtio_blk.ko');
  writeModule('kernel/drivers/virtio/virtio_ring.ko');
  fs.writeFileSync(path.join(dir, 'modules.dep'), [
    'kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko kernel/fs/mbcache.ko.gz kernel/fs/jbd2/jbd2.ko.zst',
    'kernel/fs/jbd2/jbd2.ko.zst:',
    'kernel/fs/mbcache.ko.gz:',
    'kernel/lib/crc16.ko:',
    'kernel/crypto/crc32c_generic.ko:',
    'kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko',
    'kernel/drivers/virtio/virtio_ring.ko:',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'modules.builtin'), 'kernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/virtio/virtio.ko\n');
  fs.writeFileSync(path.join(dir, 'modules.softdep'), '# comment\nsoftdep ext4 pre: crypto-crc32c\nsoftdep virtio_blk post: nosuchthing\n');
  fs.writeFileSync(path.join(dir, 'modules.alias'), 'alias crypto-crc32c crc32c_generic\n');
});

describe.skipIf(!hasTool('xz') || !hasTool('zstd') || !hasTool('cpio'))('kernel modules', () => {
  it('resolves the closure in load order; soft deps via aliases; built-ins skipped', async () => {
    const idx = await loadModuleIndex(new NodeSourceFs(dir), dir);
    const plan = resolveModules(idx, ['virtio-pci', 'virtio_blk', 'ext4']);
    expect(plan.builtin).toEqual(['virtio_pci']);
    expect(plan.load).toEqual([
      'kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/block/virtio_blk.ko',
      'kernel/crypto/crc32c_generic.ko',
      'kernel/lib/crc16.ko',
      'kernel/fs/mbcache.ko.gz',
      'kernel/fs/jbd2/jbd2.ko.zst',
      'kernel/fs/ext4/ext4.ko.xz',
    ]);
    expect(plan.notes).toEqual(['soft dependency nosuchthing of virtio_blk not found; skipped']);
  });

  it('stores compressed modules decompressed, and /init loads them in order', async () => {
    const out = path.join(work, 'initrd.gz');
    await initrd({ kernelModules: dir, modules: ['ext4'], rootUuid: UUID, output: out });
    const x = path.join(work, 'x');
    fs.mkdirSync(x);
    execFileSync('sh', ['-c', `gzip -dc "${out}" | cpio -idm --quiet`], { cwd: x });
    for (const m of ['ext4.ko', 'jbd2/jbd2.ko', 'mbcache.ko']) {
      const p = path.join(x, 'lib/modules', V, 'kernel/fs', m.includes('/') ? m : m === 'ext4.ko' ? 'ext4/ext4.ko' : m);
      expect(fs.readFileSync(p, 'utf8')).toMatch(/^module /);
    }
    const init = fs.readFileSync(path.join(x, 'init'), 'utf8');
    const order = [...init.matchAll(/^insmod '([^']+)'/gm)].map((m) => path.basename(m[1]!));
    expect(order).toEqual(['crc32c_generic.ko', 'crc16.ko', 'mbcache.ko', 'jbd2.ko', 'ext4.ko']);
    expect(init).toContain(`findfs UUID=${UUID}`);
    expect(init).not.toContain('sh +m\nroot=');
    expect(fs.lstatSync(path.join(x, 'bin/switch_root')).isSymbolicLink()).toBe(true);
    expect(fs.statSync(path.join(x, 'init')).mode & 0o777).toBe(0o755);
  });

  it('--debug opens a shell before switching root; output is reproducible', async () => {
    const a = path.join(work, 'd1.gz');
    const b = path.join(work, 'd2.gz');
    await initrd({ kernelModules: dir, modules: ['ext4'], rootUuid: UUID, output: a, debug: true });
    await initrd({ kernelModules: dir, modules: ['ext4'], rootUuid: UUID, output: b, debug: true });
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true);
    const init = execFileSync('sh', ['-c', `gzip -dc "${a}" | cpio -i --quiet --to-stdout init`], { encoding: 'utf8' });
    expect(init).toMatch(/debug shell.*\nsh \+m\n/);
  });

  describe('bad input: one line, exit 1, no output file', () => {
    const bad = (name: string, args: () => string[], message: RegExp, status = 1) =>
      it(name, () => {
        const out = path.join(work, `bad-${name.replace(/\W+/g, '-')}.gz`);
        const r = spawnSync(process.execPath, [CLI, 'initrd', ...args(), '--root-uuid', UUID, '-o', out], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(status);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(message);
        expect(fs.existsSync(out)).toBe(false);
      });
    bad('missing busybox', () => ['--busybox', path.join(work, 'no-busybox')], /no-busybox: no such file/);
    bad('dynamic busybox', () => ['--busybox', process.execPath], /is dynamically linked; .*busybox-static/);
    bad('busybox without findfs', () => {
      const b = Buffer.from(fs.readFileSync('/bin/busybox'));
      const s = b.toString('latin1');
      for (let i = s.indexOf('\0findfs\0'); i >= 0; i = s.indexOf('\0findfs\0', i + 1)) b.write('\0fXndfs\0', i, 'latin1');
      const p = path.join(work, 'busybox-nofindfs');
      fs.writeFileSync(p, b);
      return ['--busybox', p];
    }, /lacks the applets \/init needs: findfs/);
    bad('unknown module', () => ['--kernel-modules', dir, '--modules', 'ext5'], /no module "ext5" in .*\(close: ext4\)/, 2);
    bad('no modules.dep', () => {
      const d = path.join(work, 'lib/modules/0.0-empty');
      fs.mkdirSync(d, { recursive: true });
      return ['--kernel-modules', d, '--modules', 'ext4'];
    }, /0\.0-empty: has no modules\.dep .*depmod -b/);

  });
});
