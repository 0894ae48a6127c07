// `cake-img bake` and `cake-img boot`
import { Command, InvalidArgumentError } from 'commander';
import { parseEpoch } from '../util/epoch.js';
import { CakeError, formatBytes } from '../util/errors.js';

export function registerBake(program: Command): void {
  program
    .command('bake')
    .description('bake a rootfs and a kernel into a bootable disk image: MBR, ext4, initramfs, extlinux (no root)')
    .requiredOption('--rootfs <SRC>', 'the root filesystem: a directory, .tar/.tar.gz/.tar.zst, a docker save archive or an OCI layout')
    .option('--platform <OS/ARCH>', 'container image rootfs: the platform to take from an index', 'linux/amd64')
    .option('--lenient', 'archive or container image rootfs: skip hostile entries with a warning')
    .requiredOption('--kernel <K>', 'a bzImage/vmlinuz file, a directory with boot/vmlinuz-* and lib/modules/*, or a linux-image .deb')
    .option('--kernel-modules <DIR>', "the kernel's lib/modules/<version> (with a bare kernel file)")
    .option('--modules <LIST>', 'modules the initramfs loads, comma-separated; dependencies come along', '')
    .option('--options <CMDLINE>', 'kernel command line', 'console=tty1 console=ttyS0')
    .option('--size <SIZE>', 'disk size: 128M, 1G, ... or auto', 'auto')
    .option('--uuid <UUID>', 'root filesystem UUID (default: derived from the inputs)')
    .option('--debug', 'open a shell in the initramfs before switching root')
    .option('--busybox <FILE>', 'static busybox for the initramfs (default: the host\'s busybox-static)')
    .option('--syslinux <PATH>', 'syslinux pieces: a directory with ldlinux.bss/.sys/.c32 and mbr.bin, or an extlinux binary')
    .requiredOption('-o, --output <IMG>', 'disk image to write')
    .addHelpText('after', `
The disk: an MBR (syslinux mbr.bin) with one active Linux partition from 1 MiB to the
end, holding ext4 with the rootfs plus /boot/vmlinux, /boot/initrd, /boot/syslinux.cfg
and /boot/ldlinux.*; extlinux is installed by patching its boot sector and ldlinux.sys.

Examples:
  cake-img bake --rootfs rootfs.tar.gz --kernel linux-image-6.1.0-56-amd64.deb \\
      --modules virtio_pci,virtio_blk,ext4 --size 128M -o machine.img
  cake-img bake --rootfs rootfs/ --kernel /boot/vmlinuz-$(uname -r) \\
      --kernel-modules /lib/modules/$(uname -r) --modules virtio_blk,ext4 -o machine.img`)
    .action(async (o: Record<string, unknown>) => {
      const { bake } = await import('../api/bake.js');
      const r = await bake({
        rootfs: o.rootfs as string, kernel: o.kernel as string, kernelModules: o.kernelModules as string | undefined,
        modules: String(o.modules ?? '').split(',').map((s) => s.trim()).filter(Boolean), options: o.options as string,
        size: o.size as string, uuid: o.uuid as string | undefined, debug: Boolean(o.debug), busybox: o.busybox as string | undefined,
        syslinux: o.syslinux as string | undefined, output: o.output as string, sourceDateEpoch: parseEpoch(process.env.SOURCE_DATE_EPOCH),
        platform: o.platform as string, lenient: Boolean(o.lenient),
      });
      for (const n of r.notes) process.stderr.write(`cake-img: note: ${n}\n`);
      process.stdout.write(`${o.output}: bootable disk, ${formatBytes(r.diskBytes)}, root UUID ${r.uuid}; kernel ${r.kernel}; ` +
        `modules: ${r.modules.join(' ') || '(none)'}; syslinux from ${r.syslinux}\n`);
    });

  program
    .command('boot')
    .argument('<IMG>', 'a raw disk image')
    .argument('[QEMU_ARGS...]', 'extra qemu arguments, after --')
    .description('boot an image in QEMU on the serial console (the image is never modified: snapshot mode)')
    .option('--expect <TEXT>', 'exit 0 as soon as TEXT appears on the console; non-zero after the timeout')
    .option('--timeout <S>', 'seconds to wait for --expect', (v: string) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be whole seconds');
      return Number(v);
    }, 300)
    .option('--memory <SIZE>', 'guest memory', '512M')
    .option('--accel <A>', 'auto, kvm or tcg (auto: KVM only where guests can really run)', 'auto')
    .addHelpText('after', `
Without --expect the console is yours (quit QEMU with Ctrl-A X).

Examples:
  cake-img boot machine.img
  cake-img boot machine.img --expect 'login:' --timeout 120 --accel tcg
  cake-img boot machine.img -- -smp 2`)
    .action(async (img: string, extra: string[], o: Record<string, unknown>) => {
      const { boot } = await import('../api/boot.js');
      const expect = o.expect as string | undefined;
      const r = await boot({
        image: img, expect, timeoutSec: o.timeout as number, memory: o.memory as string, accel: o.accel as 'auto',
        extraArgs: extra, onOutput: expect === undefined ? undefined : (t) => process.stdout.write(t),
      });
      if (expect !== undefined) {
        if (r.matched) process.stderr.write(`\ncake-img: saw ${JSON.stringify(expect)} (${r.accel}: ${r.accelReason})\n`);
        else throw new CakeError('ETIMEOUT', 'tool', `${JSON.stringify(expect)} did not appear within ${o.timeout} s (${r.accel}); last console lines:\n${(await import('../run/qemu.js')).lastLines(r.output)}`);
      }
    });
}
