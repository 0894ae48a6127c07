// `cake-img convert IN OUT`
import { Command } from 'commander';
import { parseEpoch } from '../util/epoch.js';
import { formatBytes } from '../util/errors.js';

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .argument('<IN>', 'an image: raw, qcow2, VHD (fixed or dynamic) or VMDK (monolithicSparse or streamOptimized); recognised by its bytes')
    .argument('<OUT>', 'the image to write')
    .description('convert a disk image between raw, qcow2, VHD and VMDK, streaming (no QEMU needed)')
    .option('--format <F>', 'output format: raw, qcow2, vhd (fixed) or vmdk (streamOptimized); default: from OUT\'s extension, else raw')
    .option('--qcow2-compress', 'qcow2: deflate each cluster (smaller, slower; deterministic)')
    .addHelpText('after', `
Only where the input holds data is read (holes, unallocated clusters and grains are
skipped); all-zero clusters are not stored. A VHD's virtual size is rounded up to a
whole MiB (Azure requires it). The same input gives the same output bytes.

Examples:
  cake-img convert disk.img disk.qcow2
  cake-img convert disk.qcow2 disk.vmdk               # streamOptimized, for VMware and AWS
  cake-img convert disk.vmdk disk.raw --format raw`)
    .action(async (input: string, output: string, o: Record<string, unknown>) => {
      const { convert } = await import('../api/convert.js');
      const r = await convert({
        input, output, format: o.format as string | undefined, qcow2Compress: Boolean(o.qcow2Compress),
        sourceDateEpoch: parseEpoch(process.env.SOURCE_DATE_EPOCH),
      });
      for (const n of r.notes) process.stderr.write(`cake-img: note: ${n}\n`);
      process.stdout.write(`${output}: ${r.to} (from ${r.from}), ${formatBytes(r.virtualSize)} disk, file ${formatBytes(r.fileBytes)}\n`);
    });
}
