// Disks for the format tests: a random tree (test/helpers/random-tree.ts) planned as a
// whole bootable disk (MBR, ext4 at 1 MiB, extlinux) with the host's syslinux pieces and
// a small fake kernel and initrd, and written raw; the formats are judged against it.
import * as fs from 'node:fs';
import { type DiskPlan, planDisk, writeDisk } from '../../src/bake/disk.js';
import type { SyslinuxPieces } from '../../src/bake/disk.js';
import { NodeFileBlockDevice } from '../../src/host/node-block-device.js';
import { findSyslinux } from '../../src/host/syslinux.js';
import type { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import type { LoadedTree } from '../../src/sources/directory.js';
import { testOptions, tmpDir } from '../helpers/image.js';

let pieces: SyslinuxPieces | null = null;

/** The host's syslinux pieces (extlinux and mbr.bin are installed where these tests run). */
export async function syslinuxPieces(): Promise<SyslinuxPieces> {
  if (!pieces) {
    // The cache is only written when the pieces are fetched from Debian (no host extlinux).
    const cache = tmpDir('cake-syslinux-');
    try {
      pieces = await findSyslinux({ cacheDir: cache });
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  }
  return pieces;
}

export const hasSyslinux = fs.existsSync('/usr/bin/extlinux') && fs.existsSync('/usr/lib/syslinux/mbr/mbr.bin');

export interface TestDisk {
  plan: DiskPlan;
  loaded: LoadedTree;
}

/** A disk plan for a tree: `size` bytes or auto, 1024- or 4096-byte blocks. */
export async function planTestDisk(m: MemorySourceFs, opts: { size?: number | 'auto'; blockSize?: number; seed?: number } = {}): Promise<TestDisk> {
  const loaded = await loadDirectory(m);
  const seed = opts.seed ?? 1;
  const kernel = Uint8Array.from({ length: 50_000 + seed * 13 }, (_, i) => (i * 7 + seed) & 0xff);
  const initrd = Uint8Array.from({ length: 20_000 + seed }, (_, i) => (i * 11 + seed) & 0xff);
  const plan = planDisk({
    rootfs: loaded.tree, rootContent: loaded.content, kernel, initrd, syslinux: await syslinuxPieces(),
    append: 'console=ttyS0', ext4: testOptions({ size: opts.size ?? 'auto', blockSize: opts.blockSize ?? 4096 }),
    diskSignature: 0x1234 + seed, time: { sec: 1_700_000_000, nsec: 0 },
  });
  return { plan, loaded };
}

/** Writes the plan as a raw sparse image file. */
export async function writeRawDisk(d: TestDisk, file: string): Promise<void> {
  const dev = NodeFileBlockDevice.create(file, d.plan.diskBytes);
  try {
    await writeDisk(d.plan, dev, { assumeZeroed: true });
  } finally {
    dev.close();
  }
}
