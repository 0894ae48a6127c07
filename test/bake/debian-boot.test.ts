// The acceptance boot with a real distribution, through the debian-machine example: its
// make-rootfs.sh (mmdebstrap, as root here) makes a minbase with systemd and udev, and uid
// 65534 builds the example's recipe (cook under proot, bake a hybrid disk of 1G) and boots
// the one image in QEMU (TCG) to systemd's serial getty, "login:" on ttyS0, twice: under
// SeaBIOS (gptmbr.bin, extlinux) and under OVMF (systemd-boot from the ESP).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cakeImg, canRunAsNobody } from '../helpers/cli.js';
import { tmpDir } from '../helpers/image.js';
import { TOOL_PATH, hasTool, isRoot } from '../oracles/tools.js';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = tmpDir('cake-debian-');
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const CACHE = path.join(top, '.cache/test-debian');

/** The example's own script makes the tarball, once (mmdebstrap takes a minute or two). */
function minbaseTarball(): string {
  const tar = path.join(CACHE, 'minbase-systemd.tar');
  if (fs.existsSync(tar)) return tar;
  fs.mkdirSync(CACHE, { recursive: true });
  execFileSync(path.join(top, 'examples/debian-machine/make-rootfs.sh'), [tar], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PATH: TOOL_PATH } });
  return tar;
}

describe.skipIf(!(isRoot && canRunAsNobody && hasTool('mmdebstrap') && hasTool('qemu-system-x86_64') && hasTool('extlinux') && hasTool('proot')))('the debian-machine example', () => {
  it('built by uid 65534 from its recipe, it boots systemd to a login prompt on ttyS0', () => {
    const tar = minbaseTarball();
    fs.chmodSync(tar, 0o644);
    const env = { XDG_CACHE_HOME: path.join(work, 'cache'), DEBIAN_ROOTFS: tar };
    fs.mkdirSync(env.XDG_CACHE_HOME, { mode: 0o777 });
    fs.chmodSync(env.XDG_CACHE_HOME, 0o777);
    const out = path.join(work, 'out');
    const r = cakeImg(['build', path.join(top, 'examples/debian-machine'), '--out', out], { asNobody: true, env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^debian-machine +1\.00 GiB +sha256:[0-9a-f]{64} +\S+ +built$/m);
    for (const firmware of ['bios', 'uefi']) {
      const b = cakeImg(['boot', path.join(out, 'debian-machine.img'), '--firmware', firmware, '--expect', 'login:', '--timeout', '400', '--accel', 'tcg', '--memory', '512M'], { asNobody: true, env });
      expect(b.status, b.stdout.slice(-4000) + b.stderr).toBe(0);
      expect(b.stdout).toMatch(/Welcome to .*Debian GNU\/Linux 12/);
      expect(b.stdout).toMatch(/debian-machine login:/);
      expect(b.stderr).toContain(`(${firmware}, tcg`);
      if (firmware === 'bios') expect(b.stdout).toMatch(/SYSLINUX 6\.04/);
      else expect(b.stdout).not.toMatch(/SYSLINUX/);
    }
  }, 1_200_000);
});
