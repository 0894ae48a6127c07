// `cake-img initramfs SRC -o FILE[.gz]`
import { parseEpoch } from '../util/epoch.js';
import { Command, InvalidArgumentError } from 'commander';
import { formatBytes } from '../util/errors.js';

export function registerInitramfs(program: Command): void {
  program
    .command('initramfs')
    .argument('<SRC>', 'source tree: a directory, .tar/.tar.gz/.tar.zst, a docker save archive or an OCI layout')
    .description('encode any tree as a cpio newc archive (an initramfs), plain or gzip')
    .requiredOption('-o, --output <FILE>', 'archive to write; a name ending in .gz is gzip-compressed')
    .option('--owner <UID:GID>', 'give every file this owner')
    .option('--platform <OS/ARCH>', 'container image source: the platform to take from an index', 'linux/amd64')
    .option('--lenient', 'archive or container image source: skip hostile entries with a warning')
    .option('--gzip', 'compress with gzip whatever the name')
    .option('--no-gzip', 'never compress')
    .option('--gzip-level <N>', 'gzip level 1..9', (v: string) => {
      if (!/^[1-9]$/.test(v)) throw new InvalidArgumentError('must be 1..9');
      return Number(v);
    }, 9)
    .addHelpText('after', `
Entries are in a stable order (parents first, names sorted), inode numbers count up
from 1, times are clamped to SOURCE_DATE_EPOCH when set: the same tree gives the same
bytes on every host.

Examples:
  cake-img initramfs rootfs/ -o initramfs.cpio.gz
  cake-img initramfs rootfs.tar -o initramfs.cpio --owner 0:0`)
    // The implementation loads on use, so `--help` and other commands start fast.
    .action(async (src: string, o: Record<string, unknown>) => {
      const { initramfs } = await import('../api/initramfs.js');
      const r = await initramfs({
        source: src,
        output: o.output as string,
        owner: o.owner as string | undefined,
        gzip: o.gzip as boolean | undefined,
        gzipLevel: o.gzipLevel as number,
        sourceDateEpoch: parseEpoch(process.env.SOURCE_DATE_EPOCH),
        platform: o.platform as string,
        lenient: Boolean(o.lenient),
      });
      for (const w of r.warnings) process.stderr.write(`cake-img: warning: ${w}\n`);
      process.stdout.write(`${o.output}: cpio newc, ${r.records} entries, ${formatBytes(r.cpioBytes)}` +
        (r.fileBytes !== r.cpioBytes ? `, ${formatBytes(r.fileBytes)} compressed` : '') + '\n');
    });
}
