// The kernel accepts our archive: Debian's kernel boots our gzip'd newc initramfs under
// QEMU (TCG) and runs its /init, which prints a marker.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeInitramfs } from '../../src/api/initramfs.js';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { runQemu } from '../../src/run/qemu.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { hasTool } from '../oracles/tools.js';
import { debianKernel } from '../helpers/debian.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-boot-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const canBoot = () => hasTool('qemu-system-x86_64') && hasTool('apt-get') && hasTool('dpkg-deb') && hasTool('depmod') && fs.existsSync('/bin/busybox');

describe.skipIf(!canBoot())('initramfs boots', () => {
  it('Debian kernel runs our /init from a gzip newc archive', async () => {
    const k = await debianKernel();
    const m = new MemorySourceFs();
    m.addDir('bin');
    m.addFile('bin/busybox', fs.readFileSync('/bin/busybox'), { mode: 0o100755 });
    m.addDir('dev');
    m.addNode('dev/console', 0o020600, { rdevMajor: 5, rdevMinor: 1 });
    m.addFile('init', new TextEncoder().encode('#!/bin/busybox sh\n/bin/busybox echo "CAKE-INITRAMFS-$((6*7))"\n/bin/busybox poweroff -f\n'), { mode: 0o100755 });
    const src = await loadDirectory(m);
    const initrd = path.join(work, 'initrd.gz');
    await writeInitramfs(src.tree, src.content, initrd, true);
    const r = await runQemu({ kernel: k.vmlinuz, initrd, append: 'console=ttyS0 panic=-1', memory: '256M', accel: 'tcg', expect: 'CAKE-INITRAMFS-42', timeoutSec: 240 });
    expect(r.matched, r.output.slice(-3000)).toBe(true);
  }, 300_000);
});
