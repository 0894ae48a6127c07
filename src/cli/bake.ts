// `cake-img bake`
import { Command } from 'commander';
import { parseEpoch } from '../util/epoch.js';
import { formatBytes } from '../util/errors.js';

export function registerBake(program: Command): void {
  program
    .command('bake')
    .description('bake a rootfs and a kernel into a bootable disk image for BIOS, UEFI or both: partition table, ext4, initramfs, boot loaders (no root)')
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
    .option('--busybox <FILE>', 'static busybox for the initramfs (default: the rootfs\'s own static busybox, else the host\'s busybox-static)')
    .option('--syslinux <PATH>', 'syslinux pieces: Debian\'s extlinux and syslinux-common .debs (E.deb,S.deb), a directory with ldlinux.bss/.sys/.c32 and mbr.bin (and gptmbr.bin), or an extlinux binary')
    .option('--firmware <F>', 'bios (MBR + extlinux), uefi (GPT + ESP + systemd-boot) or hybrid (one GPT disk that boots on both)', 'hybrid')
    .option('--esp-size <SIZE>', 'uefi/hybrid: the EFI system partition\'s size, or auto (its files with room; FAT16 below 512 MiB)', 'auto')
    .option('--disk-guid <GUID>', 'uefi/hybrid: the GPT disk GUID (default: derived from the inputs; partition GUIDs derive from it)')
    .option('--systemd-boot <PATH>', 'uefi/hybrid: systemd-bootx64.efi (default: the host\'s systemd-boot-efi, else Debian\'s fetched rootless)')
    .option('--force', "replace files the rootfs already has where bake puts its own (/boot/vmlinux, /boot/initrd, /boot/syslinux.cfg, /boot/ldlinux.*)")
    .requiredOption('-o, --output <IMG>', 'disk image to write')
    .option('--format <F>', 'image format: raw, qcow2, vhd (fixed) or vmdk (streamOptimized); default: from IMG\'s extension, else raw')
    .option('--qcow2-compress', 'qcow2: deflate each cluster (smaller, slower; deterministic)')
    .option('-v, --verbose', 'also print how long reading, making the initrd, planning and writing took')
    .addHelpText('after', `
--firmware bios: an MBR (syslinux mbr.bin) with one active Linux partition from 1 MiB to
the end, holding ext4 with the rootfs plus /boot/vmlinux, /boot/initrd, /boot/syslinux.cfg
and /boot/ldlinux.*; extlinux is installed by patching its boot sector and ldlinux.sys.
--firmware uefi: a GPT disk; an EFI system partition (FAT) with systemd-boot at
EFI/BOOT/BOOTX64.EFI, its loader entry, the kernel and the initrd; then the ext4 root.
--firmware hybrid: the uefi disk plus gptmbr.bin and extlinux on the root (marked
legacy-BIOS-bootable), so the same file boots on BIOS and on UEFI.

Examples:
  cake-img bake --rootfs rootfs.tar.gz --kernel linux-image-6.1.0-56-amd64.deb \\
      --modules virtio_pci,virtio_blk,ext4 --size 128M -o machine.img
  cake-img bake --rootfs rootfs/ --kernel /boot/vmlinuz-$(uname -r) \\
      --kernel-modules /lib/modules/$(uname -r) --modules virtio_blk,ext4 -o machine.img
  cake-img bake --firmware hybrid --rootfs rootfs.tar.gz --kernel linux-image-amd64.deb \
      --modules virtio_pci,virtio_blk,ext4 -o machine.img
  cake-img bake --rootfs rootfs/ --kernel linux-image-amd64.deb -o machine.qcow2   # qcow2, written in one pass
  cake-img bake --rootfs rootfs/ --kernel linux-image-amd64.deb -o machine.vhd     # fixed VHD for Azure`)
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      // GPT-only options given for a bios disk are refused (the defaults are not "given").
      const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
      const { bake } = await import('../api/bake.js');
      const r = await bake({
        rootfs: o.rootfs as string, kernel: o.kernel as string, kernelModules: o.kernelModules as string | undefined,
        modules: String(o.modules ?? '').split(',').map((s) => s.trim()).filter(Boolean), options: o.options as string,
        size: o.size as string, uuid: o.uuid as string | undefined, debug: Boolean(o.debug), busybox: o.busybox as string | undefined,
        syslinux: o.syslinux as string | undefined, output: o.output as string, format: o.format as string | undefined,
        qcow2Compress: Boolean(o.qcow2Compress), sourceDateEpoch: parseEpoch(process.env.SOURCE_DATE_EPOCH),
        platform: o.platform as string, lenient: Boolean(o.lenient), force: Boolean(o.force),
        firmware: o.firmware as 'bios', espSize: given('espSize') ? o.espSize as string : undefined,
        diskGuid: o.diskGuid as string | undefined, systemdBoot: o.systemdBoot as string | undefined,
      });
      for (const w of r.warnings) process.stderr.write(`cake-img: warning: ${w}\n`);
      for (const n of r.notes) process.stderr.write(`cake-img: note: ${n}\n`);
      if (o.verbose) {
        const t = r.timings;
        process.stderr.write(`cake-img: read ${t.load.toFixed(0)} ms, initrd ${t.initrd.toFixed(0)} ms, plan ${t.plan.toFixed(0)} ms, write ${t.write.toFixed(0)} ms\n`);
      }
      const kind = r.format === 'raw' ? '' : ` (${r.format}, file ${formatBytes(r.fileBytes)})`;
      process.stdout.write(`${o.output}: bootable disk${kind}, ${formatBytes(r.diskBytes)}, root UUID ${r.uuid}; kernel ${r.kernel}; ` +
        `modules: ${r.modules.join(' ') || '(none)'}; ${r.firmware}; boot loaders from ${r.syslinux}\n`);
    });
}
