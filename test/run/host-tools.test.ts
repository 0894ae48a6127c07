// Host tools fetched rootless: as uid 65534, with CAKE_IMG_FETCH_TOOLS=1 (so the host's own
// copies are not used), proot runs a cook script and QEMU boots a baked disk, both from
// packages apt-get downloaded into the cache. Where fetching is impossible, one line says
// what to install.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cakeImg, canRunAsNobody } from '../helpers/cli.js';
import { type DebianKernel, debianKernel } from '../helpers/debian.js';
import { hasTool } from '../oracles/tools.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-tools-'));
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const cache = path.join(work, 'cache');
const env = { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: '1700000000', CAKE_IMG_FETCH_TOOLS: '1' };
const run = (args: string[], extra: Record<string, string> = {}) => cakeImg(args, { asNobody: canRunAsNobody, env: { ...env, ...extra } });

describe.skipIf(!hasTool('apt-get') || !hasTool('dpkg-deb'))('tools fetched rootless', () => {
  let k: DebianKernel;
  const tree = path.join(work, 'tree');
  beforeAll(async () => {
    k = await debianKernel();
    for (const d of ['bin', 'sbin', 'usr/bin', 'etc', 'proc']) fs.mkdirSync(path.join(tree, d), { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(tree, 'bin/busybox'));
    fs.chmodSync(path.join(tree, 'bin/busybox'), 0o755);
    fs.symlinkSync('busybox', path.join(tree, 'bin/sh'));
    fs.symlinkSync('/bin/busybox', path.join(tree, 'usr/bin/env'));
    fs.writeFileSync(path.join(tree, 'etc/profile'), 'export PATH=/bin\n');
    execFileSync('chmod', ['-R', 'a+rX', work]);
    fs.mkdirSync(cache, { mode: 0o777 });
    fs.chmodSync(cache, 0o777);
  }, 300_000);

  it('proot from the package sources runs the cook script', () => {
    const script = path.join(work, 'init.sh');
    fs.writeFileSync(script, `/bin/busybox cat > /sbin/init <<'END'\n#!/bin/sh\n/bin/busybox mount -t proc proc /proc\necho "FETCHED-QEMU-$((6*7))"\n/bin/busybox poweroff -f\nEND\n/bin/busybox chmod 755 /sbin/init\n`, { mode: 0o644 });
    const r = run(['cook', '--src', tree, '--script', script, '--name', 'fetched', '-o', path.join(work, 'cooked.tar')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/fetching proot rootless with apt-get download/);
    const tools = fs.readdirSync(path.join(cache, 'cake-img/tools'));
    const proot = tools.find((t) => t.startsWith('proot_'));
    expect(proot, tools.join(' ')).toBeTruthy();
    expect(fs.existsSync(path.join(cache, 'cake-img/tools', proot!, 'usr/bin/proot'))).toBe(true);
    expect(execFileSync('tar', ['-tvf', path.join(work, 'cooked.tar')], { encoding: 'utf8' })).toMatch(/^-rwxr-xr-x 0\/0 .* \.\/sbin\/init$/m);
  });

  it.skipIf(!hasTool('extlinux'))('QEMU from the package sources (with its modules and firmware) boots the baked disk', () => {
    const img = path.join(work, 'fetched.img');
    const b = run(['bake', '--rootfs', path.join(work, 'cooked.tar'), '--kernel', k.root, '--modules', 'virtio_pci,virtio_blk,ext4', '--options', 'console=ttyS0 panic=-1', '--size', '64M', '-o', img]);
    expect(b.status, b.stderr).toBe(0);
    const r = run(['boot', img, '--expect', 'FETCHED-QEMU-42', '--accel', 'tcg', '--timeout', '300', '--memory', '256M']);
    expect(r.status, r.stderr + r.stdout.slice(-2000)).toBe(0);
    expect(r.stderr).toMatch(/fetching qemu-system-x86 rootless/);
    expect(fs.readdirSync(path.join(cache, 'cake-img/tools')).some((t) => t.startsWith('qemu-system-x86_'))).toBe(true);
  }, 600_000);

  it('where nothing can be fetched, one line says what to install', () => {
    // A PATH with nothing but setpriv (to become uid 65534): no proot, no apt-get.
    const empty = path.join(work, 'empty-path');
    fs.mkdirSync(empty, { recursive: true });
    fs.symlinkSync(execFileSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).trim(), path.join(empty, 'setpriv'));
    const r = run(['cook', '--src', tree, '--script', path.join(work, 'init.sh'), '--name', 'nofetch', '-q'], { PATH: empty });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/proot is not installed and could not be fetched \(apt-get not found.*\); install it: apt-get install proot/);
  });
});
