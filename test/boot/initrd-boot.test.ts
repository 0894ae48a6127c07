// The whole early boot without a boot loader: Debian's kernel, our initrd (busybox, the
// virtio and ext4 modules with their closure from the installed Debian kernel, /init),
// and a root filesystem made by cake-img mkfs. /init must find the root by UUID, switch
// to it and run its /sbin/init, which prints a marker.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initrd } from '../../src/api/initrd.js';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { runQemu } from '../../src/run/qemu.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { parseUuid } from '../../src/bake/ext4/options.js';
import { hasTool } from '../oracles/tools.js';
import { debianKernel } from '../helpers/debian.js';
import { buildImage, tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-boot-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const UUID = '0c0ffee0-cake-4000-8000-000000000001'.replace('cake', 'ca4e');
const canBoot = () => hasTool('qemu-system-x86_64') && hasTool('apt-get') && hasTool('dpkg-deb') && hasTool('depmod') && fs.existsSync('/bin/busybox');

/** A busybox root whose /sbin/init prints a marker and powers off. */
async function rootImage(img: string): Promise<void> {
  const m = new MemorySourceFs();
  for (const d of ['bin', 'sbin', 'dev', 'proc', 'sys', 'mnt']) m.addDir(d);
  m.addFile('bin/busybox', fs.readFileSync('/bin/busybox'), { mode: 0o100755 });
  m.addSymlink('bin/sh', 'busybox');
  m.addFile('sbin/init', new TextEncoder().encode('#!/bin/sh\necho "CAKE-ROOT-$((6*7)) on $(/bin/busybox cat /proc/cmdline 2>/dev/null)"\n/bin/busybox poweroff -f\n'), { mode: 0o100755 });
  const src = await loadDirectory(m);
  await buildImage(src.tree, src.content, img, { uuid: parseUuid(UUID), size: 32 << 20 });
}

describe.skipIf(!canBoot())('initrd boots a cake-img root', () => {
  it('modules load, the root is found by UUID, switch_root runs /sbin/init', async () => {
    const k = await debianKernel();
    const img = path.join(work, 'root.img');
    await rootImage(img);
    const out = path.join(work, 'initrd.gz');
    const r = await initrd({ kernelModules: k.modules, modules: ['virtio_pci', 'virtio_blk', 'ext4'], rootUuid: UUID, output: out });
    expect(r.loadOrder.map((p) => path.basename(p))).toEqual(expect.arrayContaining(['virtio_blk.ko', 'jbd2.ko', 'ext4.ko']));
    const boot = await runQemu({ kernel: k.vmlinuz, initrd: out, disk: img, append: 'console=ttyS0 panic=-1', memory: '256M', accel: 'tcg', expect: 'CAKE-ROOT-42', timeoutSec: 240 });
    expect(boot.matched, boot.output.slice(-4000)).toBe(true);
    expect(boot.output).not.toMatch(/insmod .* failed.*(ext4|jbd2|virtio_blk)/);
  }, 300_000);

  it('when the root never appears, /init says so and opens a shell instead of panicking', async () => {
    const k = await debianKernel();
    const out = path.join(work, 'initrd-noroot.gz');
    await initrd({ kernelModules: k.modules, modules: ['virtio_pci', 'virtio_blk'], rootUuid: '11111111-2222-3333-4444-555555555555', output: out });
    const boot = await runQemu({ kernel: k.vmlinuz, initrd: out, append: 'console=ttyS0 panic=-1', memory: '256M', accel: 'tcg', expect: 'dropping to a shell', timeoutSec: 240 });
    expect(boot.matched, boot.output.slice(-4000)).toBe(true);
    expect(boot.output).toContain('no block device with UUID=11111111-2222-3333-4444-555555555555');
    expect(boot.output).not.toContain('Kernel panic');
  }, 300_000);
});
