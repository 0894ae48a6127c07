// `cake-img boot`: the accelerator probe (KVM only where guests can run), SeaBIOS output
// on the serial console (so boot-loader errors are visible), and --expect's failure path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeMbr, planMbr } from '../../src/bake/mbr/mbr.js';
import { detectAccel } from '../../src/run/accel.js';
import { hasTool } from '../oracles/tools.js';
import { cakeImg } from '../helpers/cli.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-run-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('accelerator probe', () => {
  const sys = (mods: string[]) => {
    const d = fs.mkdtempSync(path.join(work, 'sys-'));
    for (const m of mods) fs.mkdirSync(path.join(d, m));
    return d;
  };
  const dev = path.join(work, 'kvm');
  fs.writeFileSync(dev, '');
  it('no /dev/kvm: TCG', () => expect(detectAccel(sys(['kvm_intel']), path.join(work, 'none')).accel).toBe('tcg'));
  it('the PVM flavour of KVM: TCG', () => expect(detectAccel(sys(['kvm', 'kvm_pvm']), dev)).toMatchObject({ accel: 'tcg', reason: expect.stringMatching(/PVM/) }));
  it('no vendor module: TCG', () => expect(detectAccel(sys(['kvm']), dev).accel).toBe('tcg'));
  it('kvm_intel or kvm_amd: KVM', () => {
    expect(detectAccel(sys(['kvm', 'kvm_intel']), dev).accel).toBe('kvm');
    expect(detectAccel(sys(['kvm', 'kvm_amd']), dev).accel).toBe('kvm');
  });
});

describe.skipIf(!hasTool('qemu-system-x86_64') || !fs.existsSync('/usr/lib/syslinux/mbr/mbr.bin'))('cake-img boot', () => {
  /** A disk whose only partition is not active: mbr.bin stops with its own message. */
  function inactiveDisk(): string {
    const img = path.join(work, 'inactive.img');
    const mbr = encodeMbr(planMbr(8 << 20, new Uint8Array(fs.readFileSync('/usr/lib/syslinux/mbr/mbr.bin')), 1));
    mbr[446] = 0; // clear the active flag
    const fd = fs.openSync(img, 'w');
    fs.ftruncateSync(fd, 8 << 20);
    fs.writeSync(fd, mbr, 0, 512, 0);
    fs.closeSync(fd);
    return img;
  }

  it('shows the BIOS and boot-loader messages on the serial console', () => {
    const r = cakeImg(['boot', inactiveDisk(), '--expect', 'Missing operating system', '--timeout', '60', '--accel', 'tcg']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Booting from Hard Disk/);
  }, 120_000);

  it('--expect fails after the timeout with the last console lines, and leaves the image as it was', () => {
    const img = inactiveDisk();
    const before = fs.readFileSync(img);
    const r = cakeImg(['boot', img, '--expect', 'this never appears', '--timeout', '8', '--accel', 'tcg']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^cake-img: error: "this never appears" did not appear within 8 s \(tcg\); the console is above\n$/);
    expect(r.stdout).toMatch(/Missing operating system/);
    expect(fs.readFileSync(img).equals(before)).toBe(true);
  }, 120_000);

  it('a missing image is one clear line', () => {
    const r = cakeImg(['boot', path.join(work, 'nope.img'), '--expect', 'x']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nope\.img: no such image/);
  });
});
