// The kernel's vfat driver as a judge: a read-only mount with UTF-8 names and UTC times
// reads the source tree back, names beyond the BMP (surrogate pairs, which mtools 4.0
// cannot show) included, and the read-only attribute as a missing write bit. On the host
// (root, loop devices, a kernel with vfat) by a loop mount; elsewhere — this project's CI
// machines have no vfat module — by Debian's kernel in a QEMU guest.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { textToByteString } from '../../src/tree/names.js';
import { canMountVfat, expectFsckFatClean } from '../oracles/fat.js';
import { canGuestVfat } from '../oracles/guest-vfat.js';
import { buildFat, expectKernelFatView } from '../helpers/fat.js';
import { tmpDir } from '../helpers/image.js';

// Made when a test runs: a file whose tests are all skipped runs no hooks to remove it.
let work = '';
afterAll(() => work && fs.rmSync(work, { recursive: true, force: true }));

describe.skipIf(!canMountVfat && !canGuestVfat())(`FAT: the kernel view (${canMountVfat ? 'loop mount' : 'guest kernel'})`, () => {
  for (const fatType of [16, 32] as const) {
    it(`FAT${fatType}: Unicode names beyond the BMP, aliases, case bits, copies, read-only, times`, async () => {
      const m = new MemorySourceFs();
      const t = (sec: number) => ({ mtime: { sec, nsec: 0 } });
      m.addDir('EFI', t(1_700_000_001));
      m.addDir(textToByteString('EFI/😀 emoji dir'), t(1_600_000_000));
      m.addFile(textToByteString('EFI/😀 emoji dir/𝄞 music.txt'), new TextEncoder().encode('clef'), t(1_500_000_000));
      m.addFile('readme.txt', new TextEncoder().encode('lower case 8.3'), t(315_532_799)); // 1979: clamped to 1980
      m.addFile('Program Files', new Uint8Array(5000).fill(3), { ...t(4_200_000_000), mode: 0o100444 });
      m.addFile('Program Filez', new Uint8Array(0), t(1_700_000_000));
      m.addHardLink('copy of readme', 'readme.txt');
      m.addFile(textToByteString('ß and SS.TXT'), new Uint8Array(1), t(1_700_000_000));
      m.addFile(textToByteString('x'.repeat(254) + 'é'), new Uint8Array(2), t(1_700_000_000));
      const src = await loadDirectory(m);
      work ||= tmpDir('cake-fat-kernel-');
      const img = path.join(work, `k${fatType}.img`);
      await buildFat(src.tree, src.content, img, { fatType, label: 'KERNEL' });
      expectFsckFatClean(img);
      await expectKernelFatView(img, src.tree, src.content);
    });
  }
});
