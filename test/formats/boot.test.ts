// The busybox-machine example (examples/busybox-machine: busybox-static cooked under
// proot, a getty on ttyS0) baked as qcow2 by its own recipe with `format: 'qcow2'`, built
// and booted as uid 65534: QEMU (TCG), told the format by `cake-img boot`, runs
// SeaBIOS → mbr.bin → extlinux → the kernel → the initramfs → busybox init to the login
// prompt, reading every byte through the qcow2 mapping. The kernel is the tests' Debian
// kernel (the package the example's kernelFromDebian() resolves to).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cakeImg, canRunAsNobody } from '../helpers/cli.js';
import { type DebianKernel, debianKernel } from '../helpers/debian.js';
import { tmpDir } from '../helpers/image.js';
import { hasTool } from '../oracles/tools.js';
import { check, hasQemuImg, info } from './qemu-img.js';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/busybox-machine/cake.config.ts');
const work = tmpDir('cake-formats-boot-');
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const env = { XDG_CACHE_HOME: path.join(work, 'cache'), HOME: work };
const canBoot = () => hasQemuImg() && hasTool('qemu-system-x86_64') && hasTool('proot') && hasTool('apt-get') && hasTool('extlinux') && hasTool('depmod');

describe.skipIf(!canBoot())('the busybox example as qcow2', () => {
  let k: DebianKernel;
  beforeAll(async () => {
    k = await debianKernel();
    fs.mkdirSync(env.XDG_CACHE_HOME, { mode: 0o777 });
    fs.chmodSync(env.XDG_CACHE_HOME, 0o777);
  }, 600_000);

  it('builds from its recipe with format: "qcow2" and boots under TCG to its login prompt', () => {
    const dir = path.join(work, 'recipe');
    fs.mkdirSync(dir, { mode: 0o777 });
    fs.chmodSync(dir, 0o777);
    const recipe = path.join(dir, 'cake.config.ts');
    fs.writeFileSync(recipe, `
import example from ${JSON.stringify(EXAMPLE)};
import { bake, kernelFile } from 'cake-img';
const machine = example['busybox-machine'];
export default { ...example, 'busybox-machine': bake({ ...machine, kernel: kernelFile(${JSON.stringify(k.root)}), format: 'qcow2' }) };
`);
    fs.chmodSync(recipe, 0o644);
    const out = path.join(dir, 'out');
    const b = cakeImg(['build', recipe, '--out', out, '--only', 'busybox-machine', '--json'], { asNobody: canRunAsNobody, env, timeoutMs: 600_000 });
    expect(b.status, b.stderr + b.stdout.slice(-2000)).toBe(0);
    const img = path.join(out, 'busybox-machine.qcow2');
    expect(info(img, 'qcow2')).toMatchObject({ format: 'qcow2', 'virtual-size': 128 << 20 });
    expect(check(img, 'qcow2').status).toBe(0);
    const r = cakeImg(['boot', img, '--expect', 'login:', '--accel', 'tcg', '--timeout', '600', '--memory', '256M'], { asNobody: canRunAsNobody, env, timeoutMs: 700_000 });
    expect(r.status, r.stdout.slice(-3000) + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/busybox-machine login:/);
  }, 1_300_000);
});
