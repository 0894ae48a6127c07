// `cake-img initrd`
import { parseEpoch } from '../util/epoch.js';
import { Command } from 'commander';
import { formatBytes } from '../util/errors.js';

export function registerInitrd(program: Command): void {
  program
    .command('initrd')
    .description('build the boot initramfs: busybox, kernel modules in dependency order, and an /init that switches to the root found by UUID')
    .requiredOption('--root-uuid <UUID>', 'UUID of the root filesystem to mount')
    .option('--busybox <FILE>', 'a static busybox (default: the host\'s, from busybox-static)')
    .option('--kernel-modules <DIR>', 'a kernel\'s lib/modules/<version> directory')
    .option('--modules <LIST>', 'modules to load, comma-separated; their dependencies come along', '')
    .option('--debug', 'open a shell in the initramfs before switching root')
    .requiredOption('-o, --output <FILE>', 'the gzip-compressed archive to write')
    .addHelpText('after', `
Built-in modules are skipped; compressed modules (.ko.xz, .ko.zst, .ko.gz) are stored
decompressed, since busybox insmod cannot load them.

Example:
  cake-img initrd --kernel-modules /lib/modules/$(uname -r) --modules virtio_pci,virtio_blk,ext4 \\
      --root-uuid 99999999-9999-9999-9999-999999999999 -o initrd.gz`)
    // The implementation loads on use, so `--help` and other commands start fast.
    .action(async (o: Record<string, unknown>) => {
      const { initrd } = await import('../api/initrd.js');
      const r = await initrd({
        busybox: o.busybox as string | undefined,
        kernelModules: o.kernelModules as string | undefined,
        modules: String(o.modules ?? '').split(',').map((s) => s.trim()).filter(Boolean),
        rootUuid: o.rootUuid as string,
        debug: Boolean(o.debug),
        output: o.output as string,
        sourceDateEpoch: parseEpoch(process.env.SOURCE_DATE_EPOCH),
      });
      for (const n of r.notes) process.stderr.write(`cake-img: note: ${n}\n`);
      if (r.builtin.length) process.stderr.write(`cake-img: note: built into the kernel, not loaded: ${r.builtin.join(', ')}\n`);
      const names = r.loadOrder.map((p) => p.slice(p.lastIndexOf('/') + 1).replace(/\.ko.*$/, ''));
      process.stdout.write(`${o.output}: initramfs, ${formatBytes(r.bytes)}; modules in load order: ${names.join(' ') || '(none)'}\n`);
    });
}
