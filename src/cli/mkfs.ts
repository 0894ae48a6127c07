// `cake-img mkfs SRC IMG`
import { parseEpoch } from '../util/epoch.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatBytes } from '../util/errors.js';

const whole = (name: string) => (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return Number(v);
};

export function registerMkfs(program: Command): void {
  program
    .command('mkfs')
    .argument('<SRC>', 'source tree: a directory, .tar/.tar.gz/.tar.zst, a docker save archive or an OCI layout')
    .argument('<IMG>', 'image file to write')
    .description('write a tree straight into an ext4 or FAT filesystem image (no root, no mount)')
    .addOption(new Option('--type <TYPE>', 'filesystem: ext4, or vfat (FAT16/FAT32, e.g. an EFI system partition)').choices(['ext4', 'vfat']).default('ext4'))
    .option('--size <SIZE>', 'filesystem size: 128M, 1G, ... or auto (smallest that fits, plus a margin)', 'auto')
    .option('--format <F>', 'image format: raw, qcow2, vhd or vmdk (default: from IMG\'s extension .img/.raw, .qcow2, .vhd, .vmdk; else raw)')
    .option('--qcow2-compress', 'qcow2: deflate each cluster (smaller, slower; deterministic)')
    .option('--uuid <UUID>', 'filesystem UUID, or for vfat the volume ID XXXX-XXXX (default: derived from the tree)')
    .option('--label <LABEL>', 'volume label (ext4: at most 16 bytes; vfat: 11 ASCII characters, stored upper case)')
    .addOption(new Option('--fat-type <BITS>', 'vfat: force FAT16 or FAT32 (default: FAT16 below 512 MiB, FAT32 from 512 MiB)').choices(['16', '32']))
    .option('--offset <BYTES>', 'write the filesystem at this byte offset of IMG (an existing file is updated in place)', whole('--offset'))
    .option('--owner <UID:GID>', 'give every file this owner (like rsync --chown)')
    .option('--block-size <BYTES>', 'block size: 1024, 2048 or 4096 (default 4096)', whole('--block-size'))
    .option('--inode-size <BYTES>', 'inode size: 256, 512 or 1024 (default 256)', whole('--inode-size'))
    .option('--journal-blocks <N>', 'journal size in blocks (default: as mke2fs)', whole('--journal-blocks'))
    .option('--no-journal', 'no journal (ext4 without has_journal)')
    .option('--features <LIST>', 'feature toggles, e.g. 64bit or ^dir_index')
    .option('--no-xattrs', 'do not read extended attributes from a directory source')
    .option('--platform <OS/ARCH>', 'container image source: the platform to take from an index', 'linux/amd64')
    .option('--lenient', 'archive or container image source: skip hostile entries (escapes, links out of the root) with a warning; vfat: skip what FAT cannot hold')
    .option('-v, --verbose', 'also print how long reading, planning and writing took')
    .addHelpText('after', `
Times are clamped to SOURCE_DATE_EPOCH when it is set; the superblock times are
SOURCE_DATE_EPOCH or 0. Same input and options give a byte-identical image.
vfat writes times as UTC; symlinks, devices, xattrs and names FAT cannot hold are
errors naming the entry (--lenient skips them with a warning); hard links become copies.

Examples:
  cake-img mkfs rootfs/ root.ext4
  cake-img mkfs rootfs.tar.gz root.ext4 --size 1G --label root --owner 0:0
  cake-img mkfs rootfs/ disk.img --offset 1048576 --size 127M
  cake-img mkfs --type vfat esp/ esp.img --label ESP            # an EFI system partition, FAT16 or FAT32 by size
  cake-img mkfs --type vfat esp/ esp.img --size 512M --uuid 1234-ABCD
  cake-img mkfs rootfs/ root.qcow2                                # the filesystem as a qcow2 image`)
    // The implementation loads on use, so `--help` and other commands start fast.
    .action(async (src: string, img: string, o: Record<string, unknown>) => {
      const req = {
        source: src,
        image: img,
        format: o.format as string | undefined,
        qcow2Compress: Boolean(o.qcow2Compress),
        size: o.size as string,
        uuid: o.uuid as string | undefined,
        label: o.label as string | undefined,
        offset: o.offset as number | undefined,
        owner: o.owner as string | undefined,
        blockSize: o.blockSize as number | undefined,
        inodeSize: o.inodeSize as number | undefined,
        journalBlocks: o.journalBlocks as number | undefined,
        noJournal: o.journal === false,
        features: o.features as string | undefined,
        fatType: o.fatType === undefined ? undefined : (Number(o.fatType) as 16 | 32),
        xattrs: o.xattrs !== false,
        platform: o.platform as string,
        lenient: Boolean(o.lenient),
        sourceDateEpoch: parseEpoch(process.env.SOURCE_DATE_EPOCH),
      };
      const r = o.type === 'vfat' ? await (await import('../api/mkfs-vfat.js')).mkfsVfat(req) : await (await import('../api/mkfs.js')).mkfs(req);
      for (const w of r.warnings) process.stderr.write(`cake-img: warning: ${w}\n`);
      for (const n of r.notes) process.stderr.write(`cake-img: note: ${n}\n`);
      const inFormat = r.format === 'raw' ? '' : ` in ${r.format}`;
      if (o.verbose) {
        const t = r.timings;
        process.stderr.write(`cake-img: read ${t.load.toFixed(0)} ms, plan ${t.plan.toFixed(0)} ms, write ${t.write.toFixed(0)} ms\n`);
      }
      const s = r.summary;
      const auto = o.size === 'auto' ? ` (auto: the tree needs ${formatBytes(s.minimumBytes)})` : '';
      if ('volumeId' in r) {
        const v = r.summary;
        process.stdout.write(
          `${img}: vfat (FAT${v.fatType})${inFormat}, ${formatBytes(r.sizeBytes)}${auto}, ${v.files} files, ${v.directories} directories, ` +
            `${formatBytes(v.freeBytes)} free, ${v.clusterBytes}-byte clusters, volume ID ${r.volumeId}\n`,
        );
        return;
      }
      const e = r.summary;
      process.stdout.write(
        `${img}: ext4${inFormat}, ${formatBytes(r.sizeBytes)}${auto}, ${e.inodesUsed} inodes used of ${e.inodesTotal}, ` +
          `${formatBytes(e.freeBytes)} free, ${e.journalBytes ? `journal ${formatBytes(e.journalBytes)}` : 'no journal'}, UUID ${r.uuid}\n`,
      );
    });
}
