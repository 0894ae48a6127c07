// The acceptance boot with a real distribution: a Debian minbase rootfs with systemd and
// udev (mmdebstrap, as root, into a tarball), baked by uid 65534 and booted in QEMU (TCG)
// to systemd's serial getty: "login:" on ttyS0.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TOOL_PATH, hasTool, isRoot } from '../oracles/tools.js';
import { canRunAsNobody, cakeImg } from '../helpers/cli.js';
import { debianKernel } from '../helpers/debian.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-debian-');
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const CACHE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.cache/test-debian');

/** mmdebstrap needs root (or user namespaces) to make device nodes and owners: made once. */
function minbaseTarball(): string {
  const tar = path.join(CACHE, 'minbase-systemd.tar');
  if (fs.existsSync(tar)) return tar;
  fs.mkdirSync(CACHE, { recursive: true });
  // mmdebstrap picks the output format from the name: the partial file must end in .tar.
  const part = path.join(CACHE, 'partial-minbase-systemd.tar');
  execFileSync('mmdebstrap', ['--variant=minbase', '--include=systemd-sysv,udev', 'bookworm', part], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PATH: TOOL_PATH },
  });
  fs.renameSync(part, tar);
  return tar;
}

describe.skipIf(!(isRoot && canRunAsNobody && hasTool('mmdebstrap') && hasTool('qemu-system-x86_64') && hasTool('extlinux')))('Debian minbase', () => {
  it('baked by uid 65534, it boots systemd to a login prompt on ttyS0', async () => {
    const tar = minbaseTarball();
    fs.chmodSync(tar, 0o644);
    const k = await debianKernel();
    const env = { XDG_CACHE_HOME: path.join(work, 'cache') };
    fs.mkdirSync(env.XDG_CACHE_HOME, { mode: 0o777 });
    fs.chmodSync(env.XDG_CACHE_HOME, 0o777);
    const img = path.join(work, 'debian.img');
    const r = cakeImg(['bake', '--rootfs', tar, '--kernel', k.root, '--modules', 'virtio_pci,virtio_blk,ext4', '--options', 'console=ttyS0', '--size', '1G', '-o', img], { asNobody: true, env });
    expect(r.status, r.stderr).toBe(0);
    const b = cakeImg(['boot', img, '--expect', 'login:', '--timeout', '400', '--accel', 'tcg', '--memory', '512M'], { asNobody: true, env });
    expect(b.status, b.stdout.slice(-4000) + b.stderr).toBe(0);
    expect(b.stdout).toMatch(/Welcome to .*Debian GNU\/Linux 12/);
  }, 900_000);
});
