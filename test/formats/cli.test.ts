// The formats through the command line, as uid 65534 (when the tests run as root): mkfs
// and bake choose the format by extension or --format, each output is what qemu-img
// says it is and identical to the raw one, two runs give the same bytes; a VHD's size is
// rounded with a note; convert goes between every pair; a recipe's bake takes `format`;
// wrong combinations are one line and exit 2, with no output left.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuArgs } from '../../src/run/qemu.js';
import type { ImageFormat } from '../../src/bake/image-formats/format.js';
import { cakeImg, canRunAsNobody, oneErrorLine } from '../helpers/cli.js';
import { fakeKernel } from '../helpers/fake-kernel.js';
import { sha256File, tmpDir } from '../helpers/image.js';
import { hasTool } from '../oracles/tools.js';
import { check, compare, hasQemuImg, info } from './qemu-img.js';

const work = tmpDir('cake-formats-cli-');
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const env = { SOURCE_DATE_EPOCH: '1700000000', XDG_CACHE_HOME: path.join(work, 'cache') };
const run = (args: string[]) => cakeImg(args, { asNobody: canRunAsNobody, env });
const FORMATS: [ImageFormat, string][] = [['raw', 'img'], ['qcow2', 'qcow2'], ['vhd', 'vhd'], ['vmdk', 'vmdk']];
let tree = '';
let kernel = '';

function dir(name: string): string {
  const d = path.join(work, name);
  fs.mkdirSync(d, { recursive: true, mode: 0o777 });
  fs.chmodSync(d, 0o777);
  return d;
}

beforeAll(() => {
  tree = path.join(dir('in'), 'tree');
  for (const d of ['bin', 'etc', 'var/lib']) fs.mkdirSync(path.join(tree, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(tree, 'bin/busybox'));
  fs.symlinkSync('busybox', path.join(tree, 'bin/sh'));
  fs.writeFileSync(path.join(tree, 'etc/hostname'), 'formats\n');
  fs.writeFileSync(path.join(tree, 'var/lib/zeros'), Buffer.alloc(300_000)); // zero data: allocated in ext4, all-zero clusters
  kernel = fakeKernel(path.join(work, 'in', 'vmlinuz'));
  fs.mkdirSync(env.XDG_CACHE_HOME, { recursive: true, mode: 0o777 });
  fs.chmodSync(env.XDG_CACHE_HOME, 0o777);
  for (const p of [path.join(work, 'in'), tree]) fs.chmodSync(p, 0o755);
});

const canBake = () => hasTool('extlinux') && fs.existsSync('/bin/busybox');
const bakeArgs = (out: string, extra: string[] = []) =>
  ['bake', '--rootfs', tree, '--kernel', kernel, '--busybox', '/bin/busybox', '--size', '48M', '-o', out, ...extra];

describe.skipIf(!hasQemuImg())('mkfs and bake by format', () => {
  it('mkfs: each format by extension and by --format, identical to the raw filesystem, twice the same bytes', () => {
    const d = dir('mkfs');
    const at = (k: number, ext: string) => path.join(dir(`mkfs/${k}`), `root.${ext}`);
    for (const [f, ext] of FORMATS) {
      for (const k of [1, 2]) {
        const r = run(['mkfs', tree, at(k, ext), '--size', '16M']);
        expect(r.status, r.stderr).toBe(0);
        if (f !== 'raw') expect(r.stdout).toContain(`ext4 in ${f}`);
      }
      // Twice, the same bytes (the same name: a VMDK's descriptor holds it).
      expect(sha256File(at(1, ext))).toBe(sha256File(at(2, ext)));
      const byOption = path.join(d, `root-${f}.bin`);
      expect(run(['mkfs', tree, byOption, '--size', '16M', '--format', f]).status).toBe(0);
      expect(compare(at(1, 'img'), byOption, f).status).toBe(0);
    }
    for (const [f, ext] of FORMATS.slice(1)) {
      const img = at(1, ext);
      expect(info(img, f)['virtual-size']).toBe(16 << 20);
      expect(compare(at(1, 'img'), img, f).status).toBe(0);
      if (f !== 'vhd') expect(check(img, f).status).toBe(0);
    }
  }, 300_000);

  it.skipIf(!canBake())('bake: every format boots the same bytes as raw; two builds, same sha256; qcow2 compressed too', () => {
    const d = dir('bake');
    for (const [f, ext] of [...FORMATS, ['qcow2', 'c.qcow2'] as [ImageFormat, string]]) {
      const extra = ext === 'c.qcow2' ? ['--qcow2-compress'] : [];
      const a = path.join(d, `a.${ext}`);
      const r = run(bakeArgs(a, extra));
      expect(r.status, r.stderr).toBe(0);
      if (f !== 'raw') expect(r.stdout).toContain(`bootable disk (${f}, file`);
      const b = path.join(dir('bake/again'), `a.${ext}`);
      expect(run(bakeArgs(b, extra)).status).toBe(0);
      expect(sha256File(a), `${ext} twice`).toBe(sha256File(b));
      if (f === 'raw') continue;
      expect(compare(path.join(d, 'a.img'), a, f).status, ext).toBe(0);
      if (f !== 'vhd') expect(check(a, f).status, ext).toBe(0);
    }
    // Compact: no bigger than the raw image's allocated bytes and its metadata.
    const blocks = (f: string) => fs.statSync(path.join(d, f)).blocks * 512;
    expect(blocks('a.qcow2')).toBeLessThanOrEqual(blocks('a.img') * 1.02 + (64 << 10));
  }, 300_000);

  it.skipIf(!canBake())('a VHD is rounded up to a whole MiB, and says so', () => {
    const out = path.join(dir('vhd-round'), 'odd.vhd');
    const r = run(bakeArgs(out).map((a) => (a === '48M' ? '50000000' : a)));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note: the size is rounded up from 50000000 to 50331648 bytes/);
    expect(info(out, 'vhd')['virtual-size']).toBe(50331648);
    expect(fs.statSync(out).size).toBe(50331648 + 512);
  }, 120_000);
});

describe.skipIf(!hasQemuImg())('convert', () => {
  it('between every pair of formats, through qemu-img compare, leaving nothing else', () => {
    const d = dir('convert');
    const base = path.join(d, 'base.img');
    expect(run(['mkfs', tree, base, '--size', '16M']).status).toBe(0);
    const made: [ImageFormat, string][] = [];
    for (const [f, ext] of FORMATS) {
      const out = path.join(d, `from-raw.${ext}`);
      const r = run(['convert', base, out]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`${f} (from raw)`);
      made.push([f, out]);
    }
    for (const [from, file] of made) {
      for (const [to, ext] of FORMATS) {
        const out = path.join(d, `${from}-to.${ext}`);
        const r = run(['convert', file, out]);
        expect(r.status, `${from} → ${to}: ${r.stderr}`).toBe(0);
        expect(compare(base, out, to).status, `${from} → ${to}`).toBe(0);
        if (to === 'qcow2' || to === 'vmdk') expect(check(out, to).status).toBe(0);
        fs.rmSync(out);
      }
    }
    const left = fs.readdirSync(d).filter((n) => n.startsWith('.'));
    expect(left).toEqual([]);
  }, 300_000);
});

describe.skipIf(!hasQemuImg())('convert of an odd size', () => {
  it('a file that is not a whole sector (any file is a raw image) reads back the same in every format', () => {
    const d = dir('odd');
    const input = path.join(d, 'busybox.raw');
    fs.copyFileSync('/bin/busybox', input);
    fs.chmodSync(input, 0o644);
    for (const [f, ext] of FORMATS.slice(1)) {
      const out = path.join(d, `odd.${ext}`);
      const r = run(['convert', input, out]);
      expect(r.status, r.stderr).toBe(0);
      expect(compare(input, out, f).status, f).toBe(0);
    }
  }, 120_000);
});

describe.skipIf(!hasQemuImg())('convert of runs across tables and batches', () => {
  it('data crossing an L2 table (512 MiB of guest), a 4 MiB read batch and a zero cluster inside a run reads back the same', () => {
    const d = dir('runs');
    const input = path.join(d, 'runs.raw');
    const K = 65536;
    const fd = fs.openSync(input, 'w');
    const put = (at: number, n: number, seed: number) => fs.writeSync(fd, Buffer.alloc(n, seed), 0, n, at);
    put(512 * 2 ** 20 - 3 * K, 8 * K, 1); // across the first L2 table's end
    fs.writeSync(fd, Buffer.alloc(K), 0, K, 512 * 2 ** 20 + 2 * K); // a zero cluster inside that run
    put(4 * 2 ** 20 - K - 100, 3 * K, 2); // across a read batch, unaligned
    put(700 * 2 ** 20 + 1, 10, 3); // one byte run in the middle of a cluster
    fs.ftruncateSync(fd, 1100 * 2 ** 20 + 4096 + 512 * 3); // an odd last cluster
    put(1100 * 2 ** 20, 4096 + 512 * 3, 4);
    fs.closeSync(fd);
    for (const [f, ext] of FORMATS.slice(1)) {
      const out = path.join(d, `runs.${ext}`);
      const r = run(['convert', input, out]);
      expect(r.status, r.stderr).toBe(0);
      expect(compare(input, out, f).status, f).toBe(0);
      if (f === 'qcow2' || f === 'vmdk') expect(check(out, f).status, f).toBe(0);
    }
  }, 120_000);
});

describe('wrong combinations: one line, exit 2, nothing written', () => {
  const bad = (name: string, args: (out: string) => string[], message: RegExp, out = 'x.qcow2') =>
    it(name, () => {
      const o = path.join(dir('bad'), out);
      const r = run(args(o));
      expect(r.status, r.stderr).toBe(2);
      expect(oneErrorLine(r)).toMatch(message);
      expect(fs.existsSync(o)).toBe(false);
    });
  bad('a --format the name contradicts', (o) => ['mkfs', tree, o, '--format', 'vmdk'], /--format: vmdk does not match the output name/);
  bad('an unknown format', (o) => ['mkfs', tree, o, '--format', 'vdi'], /--format: must be one of raw, qcow2, vhd, vmdk/, 'x.bin');
  bad('--qcow2-compress for a VHD', (o) => ['mkfs', tree, o, '--qcow2-compress'], /--qcow2-compress: compresses qcow2 output, and this output is vhd/, 'x.vhd');
  bad('--offset into a qcow2', (o) => ['mkfs', tree, o, '--offset', '1048576'], /--offset: writes into an existing raw image, not a qcow2 one/);
  bad('convert onto itself', () => ['convert', path.join(work, 'in', 'vmlinuz'), path.join(work, 'in', 'vmlinuz')], /is also the input/, 'never');
});

describe('boot tells QEMU the format', () => {
  it('-drive format= from the recognised format', () => {
    expect(qemuArgs({ disk: '/x/d,1.qcow2', diskFormat: 'qcow2' }, 'tcg')).toContain('file=/x/d,,1.qcow2,format=qcow2,if=virtio,snapshot=on');
    expect(qemuArgs({ disk: 'd.img' }, 'tcg')).toContain('file=d.img,format=raw,if=virtio,snapshot=on');
  });
});

describe.skipIf(!canBake() || !hasTool('proot'))('recipes', () => {
  it('a bake with format: "qcow2" lands as NAME.qcow2; a bad format is named before any work', () => {
    const d = dir('recipe');
    const recipe = path.join(d, 'cake.config.json');
    const spec = (format: string) => ({ base: { cook: { src: tree } }, vm: { bake: { image: 'base', kernel: { path: kernel }, size: '32M', format } } });
    fs.writeFileSync(recipe, JSON.stringify(spec('qcow2')));
    fs.chmodSync(recipe, 0o644);
    const out = path.join(d, 'out');
    const r = run(['build', recipe, '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readdirSync(out).filter((n) => !n.startsWith('.'))).toEqual(['vm.qcow2']);
    expect(info(path.join(out, 'vm.qcow2'), 'qcow2')['virtual-size']).toBe(32 << 20);
    fs.writeFileSync(recipe, JSON.stringify(spec('vdi')));
    const bad = run(['build', recipe, '--out', out, '--json']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/vm.*format: must be one of raw, qcow2, vhd, vmdk/);
  }, 300_000);
});
