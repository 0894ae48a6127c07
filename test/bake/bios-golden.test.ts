// `--firmware bios` is the original recipe's disk, byte for byte: a fixed tree, kernel,
// initrd and options, with the host's syslinux pieces, plan and write to the sha256 that
// cake-img gave before GPT and UEFI existed (recorded from commit 107c74c). The golden
// value is keyed by the syslinux pieces' own hash: a host with other pieces has no golden
// value, which fails in CI (it installs Debian's) and skips locally.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { planDisk, writeDisk } from '../../src/bake/disk.js';
import { BytesContent } from '../../src/io/content-source.js';
import { MemoryBlockDevice } from '../../src/io/block-device.js';
import { findSyslinux } from '../../src/host/syslinux.js';
import { type DirNode, type FileNode, newDir } from '../../src/tree/node.js';
import { testOptions, tmpDir } from '../helpers/image.js';
import { hasTool } from '../oracles/tools.js';

/** sha256 of bootSector + ldlinuxSys + ldlinuxC32 + mbr → sha256 of the disk. */
const GOLDEN: Record<string, string> = {
  // Debian 12 extlinux / syslinux-common 3:6.04~git20190206.bf6db5b4+dfsg1-3
  '856df528caed852b91fe397cce87c459c2ca601d3e8ffc1760bb4dc542c02f71': '4183d80522b0fa3ba0d7aa597cf87f3b60ec094cd1f0a1e6fb2f3e000f3eb420',
};

const t = { sec: 1_700_000_000, nsec: 0 };
const bytes = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * k + (i >> 9)) & 0xff);

function tree(content: BytesContent): DirNode {
  const root = newDir(0o755, 0, 0, t);
  const file = (data: Uint8Array, perm = 0o644, uid = 0): FileNode => ({
    kind: 'file', perm, uid, gid: uid, mtime: t, atime: t, ctime: t, xattrs: [], size: data.length, content: content.add(data),
  });
  const etc = newDir(0o755, 0, 0, t);
  etc.entries.set('hostname', file(new TextEncoder().encode('golden\n')));
  etc.entries.set('big', file(bytes(300_000, 7), 0o600, 1000));
  root.entries.set('etc', etc);
  const bin = newDir(0o755, 0, 0, t);
  bin.entries.set('tool', file(bytes(70_000, 13), 0o4755));
  bin.entries.set('sh', { kind: 'symlink', perm: 0o777, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], target: 'tool' });
  root.entries.set('bin', bin);
  return root;
}

describe.skipIf(!hasTool('extlinux'))('--firmware bios is the original disk', () => {
  it('plans and writes the same bytes as before GPT existed', async () => {
    const s = await findSyslinux({ cacheDir: tmpDir('cake-golden-') });
    const pieces = createHash('sha256').update(s.bootSector).update(s.ldlinuxSys).update(s.ldlinuxC32).update(s.mbr).digest('hex');
    const content = new BytesContent();
    const plan = planDisk({
      rootfs: { root: tree(content) }, rootContent: content, kernel: bytes(900_000, 3), initrd: bytes(200_000, 5),
      syslinux: s, append: 'console=ttyS0 quiet', ext4: testOptions({ size: 64 << 20, features: { ...testOptions().features, bit64: false } }),
      diskSignature: 0x12345678, time: t,
    });
    const dev = new MemoryBlockDevice(plan.diskBytes);
    await writeDisk(plan, dev);
    const h = createHash('sha256');
    for (let o = 0; o < dev.size; o += 1 << 20) h.update(dev.readSync(o, 1 << 20));
    const disk = h.digest('hex');
    const golden = GOLDEN[pieces];
    if (golden === undefined) {
      if (process.env.CI) throw new Error(`no golden disk for these syslinux pieces (${pieces}; disk ${disk})`);
      console.warn(`no golden disk for syslinux pieces ${pieces} (disk ${disk}): skipped`);
      return;
    }
    expect(disk).toBe(golden);
  });
});
