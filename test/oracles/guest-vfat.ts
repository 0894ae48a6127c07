// The kernel's vfat driver as a judge without loop devices or a host vfat module: Debian's
// kernel boots under QEMU (TCG) with a small initramfs (busybox, virtio and the FAT
// modules), mounts the volume read-only (UTF-8 names, times as UTC), and writes a tar of
// what it reads onto a second virtio disk, which the test reads back with cake-img's tar
// reader. Used where the host kernel has no vfat (this project's CI machines have none).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeInitramfs } from '../../src/api/initramfs.js';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { runQemu } from '../../src/run/qemu.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { type DebianKernel, debianKernel } from '../helpers/debian.js';
import { tmpDir } from '../helpers/image.js';
import { hasTool } from './tools.js';

export const canGuestVfat = (): boolean =>
  hasTool('qemu-system-x86_64') && hasTool('apt-get') && hasTool('dpkg-deb') && hasTool('depmod') && fs.existsSync('/bin/busybox');

const MODULES = ['virtio_pci', 'virtio_blk', 'vfat', 'nls_cp437', 'nls_utf8'];
const OUT_BYTES = 256 << 20;

/** Module files in load order (dependencies first), from the kernel's modules.dep. */
function closure(k: DebianKernel, names: string[]): string[] {
  const dep = new Map<string, string[]>();
  for (const line of fs.readFileSync(path.join(k.modules, 'modules.dep'), 'utf8').split('\n')) {
    const [file, rest] = line.split(':');
    if (file) dep.set(file, (rest ?? '').trim().split(/\s+/).filter(Boolean));
  }
  const byName = new Map([...dep.keys()].map((f) => [path.basename(f).replace(/\.ko.*$/, '').replace(/-/g, '_'), f]));
  const order: string[] = [];
  const visit = (f: string): void => {
    if (order.includes(f)) return;
    for (const d of dep.get(f) ?? []) visit(d);
    order.push(f);
  };
  for (const n of names) visit(byName.get(n) ?? (() => { throw new Error(`the kernel has no module ${n}`); })());
  return order;
}

let initrd: Promise<{ kernel: string; initrd: string }> | undefined;

function guestInitrd(): Promise<{ kernel: string; initrd: string }> {
  initrd ??= (async () => {
    const k = await debianKernel();
    const mods = closure(k, MODULES);
    const m = new MemorySourceFs();
    for (const d of ['bin', 'dev', 'mnt', 'proc', 'sys', 'modules']) m.addDir(d);
    m.addFile('bin/busybox', fs.readFileSync('/bin/busybox'), { mode: 0o100755 });
    m.addNode('dev/console', 0o020600, { rdevMajor: 5, rdevMinor: 1 });
    mods.forEach((f, i) => m.addFile(`modules/${String(i).padStart(2, '0')}-${path.basename(f)}`, fs.readFileSync(path.join(k.modules, f)), { mode: 0o100644 }));
    m.addFile('init', new TextEncoder().encode([
      '#!/bin/busybox sh',
      'B=/bin/busybox',
      '$B mount -t proc proc /proc; $B mount -t sysfs sys /sys; $B mount -t devtmpfs dev /dev',
      'for m in /modules/*; do $B insmod $m || echo "CAKE-VFAT-FAILED insmod $m"; done',
      'n=0; while [ ! -b /dev/vdb ] && [ $n -lt 100 ]; do $B sleep 0.1; n=$((n+1)); done',
      'if $B mount -t vfat -o ro,iocharset=utf8,tz=UTC,fmask=0022,dmask=0022 /dev/vda /mnt; then',
      '  cd /mnt && $B tar -cf /dev/vdb . && echo CAKE-VFAT-DONE || echo CAKE-VFAT-FAILED tar',
      'else echo CAKE-VFAT-FAILED mount; fi',
      '$B poweroff -f',
      '',
    ].join('\n')), { mode: 0o100755 });
    const src = await loadDirectory(m);
    const dir = tmpDir('cake-guest-vfat-');
    const file = path.join(dir, 'initrd.gz');
    await writeInitramfs(src.tree, src.content, file, true);
    return { kernel: k.vmlinuz, initrd: file };
  })();
  return initrd;
}

/** What the guest kernel reads from the FAT volume `img`, as a tar file at `out`. */
export async function guestVfatTar(img: string, out: string): Promise<void> {
  const g = await guestInitrd();
  fs.writeFileSync(out, '');
  fs.truncateSync(out, OUT_BYTES);
  const esc = (p: string) => p.replace(/,/g, ',,');
  const r = await runQemu({
    kernel: g.kernel, initrd: g.initrd, append: 'console=ttyS0 panic=-1 quiet', memory: '256M', accel: 'tcg', timeoutSec: 240,
    expect: 'CAKE-VFAT-',
    extraArgs: ['-drive', `file=${esc(img)},format=raw,if=virtio,readonly=on`, '-drive', `file=${esc(out)},format=raw,if=virtio`],
  });
  if (!r.matched || !/CAKE-VFAT-DONE/.test(r.output)) throw new Error(`the guest did not read the volume:\n${r.output.slice(-3000)}`);
}
