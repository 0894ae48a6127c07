// The page's bake (web/bake.ts, core layers only) run in Node against the CLI's
// `cake-img bake` on the same files and options: the disks must be byte-identical. Also:
// the TS depmod inside the page's kernel reader gives exactly what `depmod -b` gives on
// Debian's kernel, container image archives (docker save, OCI layout tar) as rootfs give
// the same disk too, and bad input gets the CLI's own error line.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostByteFile } from '../../src/host/archive-file.js';
import { nodeXz, registerHostDecoders } from '../../src/host/host-decoders.js';
import { MemoryBlockDevice } from '../../src/io/block-device.js';
import { readKernelDeb } from '../../src/sources/kernel-deb.js';
import { sha256 } from '../../src/util/sha256.js';
import { cliCommand, errorLine, planWebBake, writeWebBake } from '../../web/bake.js';
import { cakeImg } from '../helpers/cli.js';
import { sha256File, tmpDir } from '../helpers/image.js';
import { type WebDebs, busyboxRootfsTarball, cliSyslinux, webDebs } from '../helpers/web-fixtures.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';
import { busyboxDockerArchive, busyboxOciLayout } from '../helpers/busybox-image.js';

const work = tmpDir('cake-web-parity-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const MODULES = ['virtio_pci', 'virtio_blk', 'ext4'];
const OPTIONS = 'console=ttyS0 panic=-1';

describe.skipIf(!(hasTool('apt-get') && hasTool('dpkg-deb') && hasTool('depmod') && fs.existsSync('/bin/busybox')))('the page bakes what the CLI bakes', () => {
  let debs: WebDebs;
  let tar = '';
  let extlinux = '';
  beforeAll(async () => {
    registerHostDecoders();
    debs = await webDebs();
    tar = busyboxRootfsTarball(work);
    extlinux = cliSyslinux(debs, path.join(work, 'syslinux'), cakeImg(['bake', '--help']).stdout);
  }, 300_000);

  it("the kernel reader's depmod output is depmod -b's, byte for byte", async () => {
    const k = await readKernelDeb(hostByteFile(debs.kernel), MODULES, { xz: nodeXz() });
    const root = path.join(work, 'kernel');
    execFileSync('dpkg-deb', ['-x', debs.kernel, root], { env: { ...process.env, PATH: TOOL_PATH } });
    execFileSync('depmod', ['-b', root, k.version], { env: { ...process.env, PATH: TOOL_PATH } });
    for (const [name, text] of Object.entries(k.depmod)) {
      expect(text === fs.readFileSync(path.join(root, 'lib/modules', k.version, name), 'utf8'), name).toBe(true);
    }
    expect(k.load.map((p) => path.basename(p))).toEqual(expect.arrayContaining(['virtio_blk.ko', 'ext4.ko', 'jbd2.ko', 'mbcache.ko', 'crc16.ko']));
    expect(Buffer.from(k.image).equals(fs.readFileSync(path.join(root, 'boot', `vmlinuz-${k.version}`)))).toBe(true);
  }, 300_000);

  it('same disk bytes as cake-img bake (size 64M and auto)', async () => {
    for (const size of ['64M', 'auto']) {
      const img = path.join(work, `cli-${size}.img`);
      const r = cakeImg(['bake', '--firmware', 'bios', '--rootfs', tar, '--kernel', debs.kernel, '--syslinux', extlinux, '--modules', MODULES.join(','), '--options', OPTIONS, '--size', size, '-o', img], { env: { XDG_CACHE_HOME: path.join(work, 'cache') } });
      expect(r.status, r.stderr).toBe(0);
      const p = await planWebBake({
        rootfs: hostByteFile(tar), kernel: [hostByteFile(debs.kernel)], syslinux: [hostByteFile(debs.extlinux), hostByteFile(debs.syslinuxCommon)],
        modules: MODULES, options: OPTIONS, size, xzDecompress: nodeXz(),
      });
      const dev = new MemoryBlockDevice(p.plan.diskBytes);
      await writeWebBake(p, dev);
      const h = sha256();
      for (let at = 0; at < dev.size; at += 1 << 20) h.update(dev.readSync(at, Math.min(1 << 20, dev.size - at)));
      expect(h.hex(), size).toBe(sha256File(img));
      expect(p.busybox).toBe("the rootfs's /bin/busybox");
    }
  }, 600_000);

  it('same disk bytes from a docker save archive and an OCI layout tar as rootfs', async () => {
    const docker = await busyboxDockerArchive(path.join(work, 'image.docker.tar'));
    const layout = await busyboxOciLayout(path.join(work, 'layout'));
    const oci = path.join(work, 'image.oci.tar');
    execFileSync('tar', ['-C', layout, '-cf', oci, '.']);
    for (const image of [docker, oci]) {
      const img = path.join(work, `cli-${path.basename(image)}.img`);
      const r = cakeImg(['bake', '--firmware', 'bios', '--rootfs', image, '--kernel', debs.kernel, '--syslinux', extlinux, '--modules', MODULES.join(','), '--options', OPTIONS, '--size', '64M', '-o', img], { env: { XDG_CACHE_HOME: path.join(work, 'cache') } });
      expect(r.status, r.stderr).toBe(0);
      const p = await planWebBake({
        rootfs: hostByteFile(image), kernel: [hostByteFile(debs.kernel)], syslinux: [hostByteFile(debs.extlinux), hostByteFile(debs.syslinuxCommon)],
        modules: MODULES, options: OPTIONS, size: '64M', xzDecompress: nodeXz(),
      });
      const dev = new MemoryBlockDevice(p.plan.diskBytes);
      await writeWebBake(p, dev);
      const h = sha256();
      for (let at = 0; at < dev.size; at += 1 << 20) h.update(dev.readSync(at, Math.min(1 << 20, dev.size - at)));
      expect(h.hex(), image).toBe(sha256File(img));
    }
  }, 600_000);

  it('shows the equivalent command line', () => {
    expect(cliCommand({ rootfs: 'rootfs.tar.gz', kernel: ['k.deb'], syslinux: ['e.deb', 's.deb'], modules: MODULES, options: OPTIONS, size: '64M' }))
      .toBe("cake-img bake --firmware bios --rootfs rootfs.tar.gz --kernel k.deb --syslinux e.deb,s.deb --modules virtio_pci,virtio_blk,ext4 --options 'console=ttyS0 panic=-1' --size 64M -o disk.img");
  });

  it('a bad input gets the error line the CLI prints', async () => {
    const img = path.join(work, 'bad.img');
    const r = cakeImg(['bake', '--firmware', 'bios', '--rootfs', tar, '--kernel', debs.kernel, '--syslinux', extlinux, '--modules', 'virtio_blk,ext5', '--options', OPTIONS, '--size', '64M', '-o', img], { env: { XDG_CACHE_HOME: path.join(work, 'cache') } });
    expect(r.status).toBe(2);
    const page = await planWebBake({
      rootfs: hostByteFile(tar), kernel: [hostByteFile(debs.kernel)], syslinux: [hostByteFile(debs.extlinux), hostByteFile(debs.syslinuxCommon)],
      modules: ['virtio_blk', 'ext5'], options: OPTIONS, size: '64M', xzDecompress: nodeXz(),
    }).then(() => 'no error', errorLine);
    // The CLI names the modules directory by its host path, the page by the package: the rest is the same.
    const norm = (s: string) => s.replace(/ in .+ \(close/, " in DIR (close");
    expect(norm(page)).toBe(norm(r.stderr.trim()));
  }, 300_000);
});
