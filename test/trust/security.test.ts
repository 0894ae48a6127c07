// The security holes a hostile review found, each as the attack that worked, now refused:
// boot-config injection through kernel options, symlinks planted at temp names and
// outputs, owners that wrap to root, host files pulled in through modules.dep, tampered
// legacy docker layers, QEMU option injection through a file name, host links followed
// in --contents. The CLI runs as uid 65534 where the tests are root (CI).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syslinuxConfig } from '../../src/bake/disk.js';
import { encodeMbr, planMbr } from '../../src/bake/mbr/mbr.js';
import { InvalidOptionError } from '../../src/util/errors.js';
import { CLI, cakeImg, canRunAsNobody, oneErrorLine } from '../helpers/cli.js';
import { fakeKernel } from '../helpers/fake-kernel.js';
import { imageConfig } from '../helpers/image-config.js';
import { tmpDir } from '../helpers/image.js';
import { rawTar } from '../helpers/raw-tar.js';
import { packTar } from '../helpers/tar-pack.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';

const work = tmpDir('cake-security-');
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const cache = path.join(work, 'cache');
fs.mkdirSync(cache, { mode: 0o777 });
fs.chmodSync(cache, 0o777);
const env = { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: '1700000000' };
const run = (args: string[], opts: { cwd?: string } = {}) => cakeImg(args, { asNobody: canRunAsNobody, env, ...opts });
const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const debugfs = (args: string[]) => execFileSync('debugfs', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, PATH: TOOL_PATH } });

/** A directory writable by the CLI's user. */
function dir(name: string): string {
  const d = path.join(work, name);
  fs.mkdirSync(d, { recursive: true, mode: 0o777 });
  fs.chmodSync(d, 0o777);
  return d;
}

/** A small busybox rootfs directory (readable by everyone). */
function rootfs(name: string): string {
  const root = dir(name);
  for (const d of ['bin', 'sbin', 'etc']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  fs.writeFileSync(path.join(root, 'etc/hostname'), 'cake\n', { mode: 0o644 });
  execFileSync('chmod', ['-R', 'a+rX', root]);
  return root;
}

const canBake = () => hasTool('extlinux') && hasTool('debugfs') && fs.existsSync('/bin/busybox');

describe.skipIf(!canBake())('boot configuration: a kernel command line cannot add directives', () => {
  const EVIL = 'console=ttyS0\nDEFAULT evil\nLABEL evil\n  KERNEL /etc/passwd';
  let root = '';
  let kernel = '';
  beforeAll(() => {
    root = rootfs('inject-root');
    kernel = fakeKernel(path.join(work, 'vmlinuz'));
  });

  it('the pure core refuses it', () => {
    expect(() => syslinuxConfig(EVIL)).toThrow(InvalidOptionError);
    expect(() => syslinuxConfig('console=ttyS0\u0085x')).toThrow(/control character/);
    expect(syslinuxConfig('console=ttyS0 quiet')).toBe('SERIAL 0 115200\nDEFAULT linux\nLABEL linux\n  LINUX /boot/vmlinux\n  INITRD /boot/initrd\n  APPEND console=ttyS0 quiet\n');
  });

  it('bake --options with a newline: a usage error, one line, no image', () => {
    const img = path.join(work, 'inject.img');
    const r = run(['bake', '--firmware', 'bios', '--rootfs', root, '--kernel', kernel, '--options', EVIL, '--size', '32M', '-o', img]);
    expect(r.status, r.stderr).toBe(2);
    expect(oneErrorLine(r)).toMatch(/--options: the kernel command line .* contains the control character U\+000A/);
    expect(fs.existsSync(img)).toBe(false);
    // The same bake with a clean line writes exactly the original's syslinux.cfg.
    const ok = run(['bake', '--firmware', 'bios', '--rootfs', root, '--kernel', kernel, '--options', 'console=ttyS0', '--size', '32M', '-o', img]);
    expect(ok.status, ok.stderr).toBe(0);
    const cfg = path.join(work, 'syslinux.cfg');
    debugfs(['-R', `dump /boot/syslinux.cfg ${cfg}`, `${img}?offset=${1 << 20}`]);
    expect(fs.readFileSync(cfg, 'utf8')).toBe('SERIAL 0 115200\nDEFAULT linux\nLABEL linux\n  LINUX /boot/vmlinux\n  INITRD /boot/initrd\n  APPEND console=ttyS0\n');
  });

  for (const form of ['ts', 'json'] as const) {
    it(`a ${form} recipe's options with a newline: refused when the recipe loads, before anything is cooked`, () => {
      const d = dir(`inject-${form}`);
      const rel = path.relative(d, root);
      const kern = path.relative(d, kernel);
      if (form === 'ts') {
        fs.writeFileSync(path.join(d, 'cake.config.ts'), `import { bake, cook, directory, kernelFile } from 'cake-img';
const base = cook({ src: directory(${JSON.stringify(rel)}) });
export default { base, vm: bake({ image: base, kernel: kernelFile(${JSON.stringify(kern)}), options: [${JSON.stringify(EVIL)}], size: '32M' }) };
`);
      } else {
        fs.writeFileSync(path.join(d, 'cake.config.json'), JSON.stringify({ base: { cook: { src: rel } }, vm: { bake: { image: 'base', kernel: { path: kern }, options: [EVIL], size: '32M' } } }));
      }
      const c = path.join(work, `cache-${form}`);
      const r = cakeImg(['build', d, '--out', path.join(d, 'out')], { asNobody: canRunAsNobody, env: { ...env, XDG_CACHE_HOME: c } });
      expect(r.status, r.stderr).toBe(1);
      expect(oneErrorLine(r)).toMatch(/output "vm": options: the kernel command line .* contains the control character U\+000A/);
      expect(fs.existsSync(path.join(c, 'cake-img/store'))).toBe(false); // nothing was cooked
    });
  }
});

describe('planted symlinks: never followed, at the temp name or at the output', () => {
  let root = '';
  beforeAll(() => {
    root = rootfs('link-root');
  });

  /** Runs the CLI through `sh -c 'ln -s VICTIM .NAME.cake-tmp-$$; exec node ...'`: the old temp name, planted for the very pid. */
  function withPlantedTemp(outDir: string, outName: string, victim: string, args: string[]) {
    const sh = `ln -s ${JSON.stringify(victim)} ${JSON.stringify(path.join(outDir, `.${outName}.cake-tmp-`))}$$ && exec "$@"`;
    const cmd = canRunAsNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', 'sh', '-c', sh, 'sh', process.execPath, CLI, ...args] : ['sh', '-c', sh, 'sh', process.execPath, CLI, ...args];
    return spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env: { ...process.env, PATH: TOOL_PATH, ...env } });
  }

  const cases: [string, (out: string) => string[]][] = [
    ['mkfs', (out) => ['mkfs', root, out, '--size', '16M']],
    ['initramfs', (out) => ['initramfs', root, '-o', out]],
    ['initrd', (out) => ['initrd', '--root-uuid', '12345678-1234-1234-1234-123456789abc', '-o', out]],
    ['cook -o tar', (out) => ['cook', '--src', root, '--name', 'links', '-q', '-o', out]],
  ];
  for (const [name, args] of cases) {
    it(`${name}: a link planted at the old temp name is left alone, its target untouched`, () => {
      const d = dir(`plant-${name.replace(/\W+/g, '-')}`);
      const victim = path.join(d, 'victim');
      fs.writeFileSync(victim, 'precious\n', { mode: 0o666 });
      const out = path.join(d, name.startsWith('cook') ? 'out.tar' : 'out.img');
      const r = withPlantedTemp(d, path.basename(out), victim, args(out));
      expect(r.status, r.stderr).toBe(0);
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
      expect(fs.lstatSync(out).isFile()).toBe(true);
      expect(fs.lstatSync(out).size).toBeGreaterThan(1000);
    });

    it(`${name}: an output that is a symlink is refused in one line; the link and its target stay`, () => {
      const d = dir(`outlink-${name.replace(/\W+/g, '-')}`);
      const victim = path.join(d, 'victim');
      fs.writeFileSync(victim, 'precious\n', { mode: 0o666 });
      const out = path.join(d, name.startsWith('cook') ? 'out.tar' : 'out.img');
      fs.symlinkSync(victim, out);
      const r = run(args(out));
      expect(r.status, r.stderr).toBe(1);
      expect(oneErrorLine(r)).toMatch(/is a symbolic link/);
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
      expect(fs.readlinkSync(out)).toBe(victim);
      expect(fs.readdirSync(d).sort()).toEqual([path.basename(out), 'victim'].sort()); // no temp left
    });
  }

  it('mkfs --offset into a symlink: refused; into a file: the file is replaced whole, never written through a link', () => {
    const d = dir('offset-links');
    const victim = path.join(d, 'victim');
    fs.writeFileSync(victim, Buffer.alloc(1 << 20, 7), { mode: 0o666 });
    fs.symlinkSync(victim, path.join(d, 'disk.img'));
    const r = run(['mkfs', root, path.join(d, 'disk.img'), '--offset', '1048576', '--size', '16M']);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r)).toMatch(/disk\.img: is a symbolic link/);
    expect(fs.readFileSync(victim).equals(Buffer.alloc(1 << 20, 7))).toBe(true);
  });

  it.skipIf(!canBake())('the initrd cache: a planted link is not read from, and not written through', () => {
    const d = dir('cache-links');
    const kernel = fakeKernel(path.join(d, 'vmlinuz'));
    const c = dir('cache-links-cache');
    const e = { ...env, XDG_CACHE_HOME: c };
    const bakeArgs = (img: string) => ['bake', '--firmware', 'bios', '--rootfs', root, '--kernel', kernel, '--size', '32M', '-o', img];
    const first = cakeImg(bakeArgs(path.join(d, 'a.img')), { asNobody: canRunAsNobody, env: e });
    expect(first.status, first.stderr).toBe(0);
    const initrdDir = path.join(c, 'cake-img/initrd');
    const [entry] = fs.readdirSync(initrdDir).filter((f) => f.endsWith('.gz'));
    const victim = path.join(d, 'victim');
    fs.writeFileSync(victim, gzipSync('not the initrd'), { mode: 0o666 });
    const before = fs.readFileSync(victim);
    fs.rmSync(path.join(initrdDir, entry!));
    fs.symlinkSync(victim, path.join(initrdDir, entry!));
    const second = cakeImg(bakeArgs(path.join(d, 'b.img')), { asNobody: canRunAsNobody, env: e });
    expect(second.status, second.stderr).toBe(0);
    expect(fs.readFileSync(victim).equals(before)).toBe(true);
    expect(fs.readFileSync(path.join(d, 'b.img')).equals(fs.readFileSync(path.join(d, 'a.img')))).toBe(true);
    // No temp file is left: only entries and the memo of this request (host/initrd-memo.ts).
    expect(fs.readdirSync(initrdDir).filter((f) => !f.endsWith('.gz') && !f.endsWith('.memo.json'))).toEqual([]);
    expect(fs.readdirSync(initrdDir).filter((f) => f.endsWith('.memo.json'))).toHaveLength(1);
  });
});

describe.skipIf(!hasTool('debugfs') || !hasTool('cpio'))('owners that do not fit 32 bits never wrap (to root or anyone)', () => {
  const archive = (name: string, entries: Parameters<typeof rawTar>[0]): string => {
    const f = path.join(work, name);
    fs.writeFileSync(f, rawTar(entries), { mode: 0o644 });
    return f;
  };
  const BIG: [string, Record<string, string>, RegExp][] = [
    ['uid 2^40', { uid: String(2 ** 40) }, /owner uid 1099511627776 cannot be stored in/],
    ['uid 2^32 + 1000', { uid: String(2 ** 32 + 1000) }, /owner uid 4294968296 cannot be stored in/],
    ['gid 2^32 - 1 ((gid_t)-1)', { gid: String(2 ** 32 - 1) }, /group gid 4294967295 cannot be stored in/],
  ];
  for (const [what, pax, message] of BIG) {
    it(`${what}: mkfs and initramfs fail naming the entry; --lenient maps it to 65534`, () => {
      const tar = archive(`owner-${what.replace(/\W+/g, '-')}.tar`, [{ name: 'etc/' }, { name: 'etc/shadow', body: Buffer.from('x\n'), pax }]);
      const img = path.join(work, `${path.basename(tar)}.img`);
      const r = run(['mkfs', tar, img]);
      expect(r.status, r.stderr).toBe(1);
      expect(oneErrorLine(r)).toMatch(new RegExp(`${path.basename(tar)}: /etc/shadow: ${message.source} ext4`));
      expect(fs.existsSync(img)).toBe(false);
      const cpio = path.join(work, `${path.basename(tar)}.cpio`);
      const c = run(['initramfs', tar, '-o', cpio]);
      expect(c.status, c.stderr).toBe(1);
      expect(oneErrorLine(c)).toMatch(new RegExp(`/etc/shadow: ${message.source} cpio newc`));
      expect(fs.existsSync(cpio)).toBe(false);

      const ok = run(['mkfs', tar, img, '--lenient']);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stderr).toMatch(/warning: .*1 entry has an owner ext4 cannot store \(first: \/etc\/shadow\); mapped to 65534/);
      const stat = debugfs(['-R', 'stat /etc/shadow', img]);
      const field = 'uid' in pax ? 'User' : 'Group';
      expect(stat).toMatch(new RegExp(`${field}: +65534`));
      const okc = run(['initramfs', tar, '-o', cpio, '--lenient']);
      expect(okc.status, okc.stderr).toBe(0);
      const listed = execFileSync('sh', ['-c', `cpio -itv --numeric-uid-gid --quiet < ${JSON.stringify(cpio)}`], { encoding: 'utf8' });
      expect(listed).toMatch('uid' in pax ? /^-rw-r--r-- +1 65534 +0 .* etc\/shadow$/m : /^-rw-r--r-- +1 0 +65534 .* etc\/shadow$/m);
    });
  }

  it('a negative base-256 owner (-1) is corrupt input, not uid 4294967295', () => {
    const tar = archive('owner-negative.tar', [{ name: 'f', body: Buffer.from('x'), uid: -1n }]);
    for (const args of [['mkfs', tar, path.join(work, 'neg.img')], ['initramfs', tar, '-o', path.join(work, 'neg.cpio')]]) {
      const r = run(args);
      expect(r.status, r.stderr).toBe(1);
      expect(oneErrorLine(r)).toMatch(/owner-negative\.tar: header at byte 0: uid field is negative \(-1\)/);
    }
    expect(fs.existsSync(path.join(work, 'neg.img'))).toBe(false);
  });
});

describe.skipIf(!hasTool('cpio'))('modules.dep cannot pull host files into an initrd', () => {
  const V = '9.9.9-evil';
  const secret = path.join(work, 'hostsecret.ko');
  beforeAll(() => {
    fs.writeFileSync(secret, 'HOST SECRET\n', { mode: 0o644 });
  });
  const modulesDir = (name: string, dep: string, extra: (d: string) => void = () => {}): string => {
    const d = path.join(work, name, 'lib/modules', V);
    fs.mkdirSync(path.join(d, 'kernel'), { recursive: true });
    fs.writeFileSync(path.join(d, 'kernel/ok.ko'), 'module ok\n');
    fs.writeFileSync(path.join(d, 'modules.dep'), `kernel/ok.ko:\n${dep}\n`);
    extra(d);
    execFileSync('chmod', ['-R', 'a+rX', path.join(work, name)]);
    return d;
  };
  const CASES: [string, string, string, RegExp, ((d: string) => void)?][] = [
    ['a path with ..', '../../../../hostsecret.ko:', 'hostsecret', /modules\.dep:2: module path "\.\.\/\.\.\/\.\.\/\.\.\/hostsecret\.ko" contains "\.\."/],
    ['an absolute path', `${secret}:`, 'hostsecret', /modules\.dep:2: module path ".*hostsecret\.ko" is absolute/],
    ['a dependency with ..', 'kernel/evil.ko: ../../../../hostsecret.ko', 'evil', /modules\.dep:2: module path "\.\.\/.*hostsecret\.ko" contains "\.\."/],
    ['a symlink to a host file', 'kernel/evil.ko:', 'evil', /kernel\/evil\.ko: is not a regular file/, (d) => fs.symlinkSync(secret, path.join(d, 'kernel/evil.ko'))],
    ['a directory symlink on the way', 'kernel/up/hostsecret.ko:', 'hostsecret', /kernel\/up is not a directory/, (d) => fs.symlinkSync(work, path.join(d, 'kernel/up'))],
  ];
  for (const [what, dep, module, message, extra] of CASES) {
    it(`${what}: an error naming the line or the file, and no initrd`, () => {
      const d = modulesDir(`mods-${what.replace(/\W+/g, '-')}`, dep, extra);
      const out = path.join(work, `${path.basename(path.dirname(path.dirname(path.dirname(d))))}.gz`);
      const r = run(['initrd', '--kernel-modules', d, '--modules', module, '--root-uuid', '12345678-1234-1234-1234-123456789abc', '-o', out]);
      expect(r.status, r.stderr).toBe(1);
      expect(oneErrorLine(r)).toMatch(message);
      expect(fs.existsSync(out)).toBe(false);
    });
  }
});

describe.skipIf(!hasTool('debugfs'))('docker save archives: every layer checked against the image config', () => {
  const writeArchive = async (file: string, files: [string, Buffer | string][]): Promise<string> => {
    const { default: tarStream } = await import('tar-stream');
    const p = tarStream.pack();
    for (const [name, data] of files) p.entry({ name, mode: 0o644 }, Buffer.from(data));
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    fs.writeFileSync(file, Buffer.concat(chunks), { mode: 0o644 });
    return file;
  };
  /** The legacy `<id>/layer.tar` layout: the layer names say nothing about the bytes. */
  const legacy = async (name: string, layer: Buffer, cfgLayers: Buffer[] = [layer], cfgText?: string) => {
    const cfg = cfgText ?? imageConfig(cfgLayers);
    return writeArchive(path.join(work, name), [
      [`${sha(cfg)}.json`, cfg],
      [`${sha('layer')}/layer.tar`, layer],
      ['manifest.json', JSON.stringify([{ Config: `${sha(cfg)}.json`, RepoTags: ['t:1'], Layers: [`${sha('layer')}/layer.tar`] }])],
    ]);
  };

  it('a layer swapped for another (hostname EVIL) fails naming the layer and its diff_id; the honest archive loads', async () => {
    const good = await packTar([{ name: 'etc/' }, { name: 'etc/hostname', body: 'cake\n' }]);
    const evil = await packTar([{ name: 'etc/' }, { name: 'etc/hostname', body: 'EVIL\n' }]);
    const honest = await legacy('legacy-good.tar', good);
    const img = path.join(work, 'legacy.img');
    expect(run(['mkfs', honest, img]).status).toBe(0);
    const swapped = await legacy('legacy-evil.tar', evil, [good]);
    const r = run(['mkfs', swapped, img]);
    expect(r.status, r.stderr).toBe(1);
    expect(oneErrorLine(r)).toMatch(/legacy-evil\.tar: layer 1 \([0-9a-f]{64}\/layer\.tar\): the uncompressed layer does not match its diff_id sha256:[0-9a-f]{64}/);
  });

  it('a config that does not match its own name, or has no diff_ids, is refused', async () => {
    const layer = await packTar([{ name: 'f', body: 'x' }]);
    const named = await legacy('legacy-renamed.tar', layer, [layer]);
    // The same archive whose config text was edited after it was named.
    const edited = imageConfig([layer]).replace('"amd64"', '"arm64"');
    const cfgName = `${sha(imageConfig([layer]))}.json`;
    const tampered = await writeArchive(path.join(work, 'legacy-tampered.tar'), [
      [cfgName, edited], [`${sha('layer')}/layer.tar`, layer],
      ['manifest.json', JSON.stringify([{ Config: cfgName, Layers: [`${sha('layer')}/layer.tar`] }])],
    ]);
    expect(run(['mkfs', named, path.join(work, 'n.img')]).status).toBe(0);
    const r = run(['mkfs', tampered, path.join(work, 't.img')]);
    expect(oneErrorLine(r)).toMatch(/the image config does not match its name/);
    const bare = await legacy('legacy-no-diffids.tar', layer, [], JSON.stringify({ architecture: 'amd64', os: 'linux' }));
    expect(oneErrorLine(run(['mkfs', bare, path.join(work, 'b.img')]))).toMatch(/has no rootfs\.diff_ids/);
  });
});

describe.skipIf(!hasTool('qemu-system-x86_64') || !fs.existsSync('/usr/lib/syslinux/mbr/mbr.bin'))('QEMU options cannot come in through a file name', () => {
  it("boot 'we,ird.img' boots that file (commas escaped)", () => {
    const d = dir('qemu-names');
    const img = path.join(d, 'we,ird,format=qcow2.img');
    const mbr = encodeMbr(planMbr(8 << 20, new Uint8Array(fs.readFileSync('/usr/lib/syslinux/mbr/mbr.bin')), 1));
    mbr[446] = 0; // no active partition: mbr.bin says so and stops
    const fd = fs.openSync(img, 'w', 0o644);
    fs.ftruncateSync(fd, 8 << 20);
    fs.writeSync(fd, mbr, 0, 512, 0);
    fs.closeSync(fd);
    const r = run(['boot', img, '--expect', 'Missing operating system', '--timeout', '60', '--accel', 'tcg']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 120_000);
});

describe.skipIf(!hasTool('tar'))('--contents: links inside the copied tree are data, not directions', () => {
  it('a link to /etc inside a --contents directory is copied as a link; the host /etc stays out', () => {
    const payload = dir('contents-links');
    fs.writeFileSync(path.join(payload, 'note'), 'mine\n', { mode: 0o644 });
    fs.symlinkSync('/etc', path.join(payload, 'x'));
    const out = path.join(work, 'contents-links.tar');
    const r = run(['cook', '--src', rootfsForCook(), '--contents', payload, '--name', 'contents-links', '-q', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const listed = execFileSync('tar', ['-tvf', out], { encoding: 'utf8' });
    expect(listed).toMatch(new RegExp(`^l.* \\.${payload}/x -> /etc$`, 'm'));
    expect(listed).not.toMatch(/passwd/);
  });
});

function rootfsForCook(): string {
  const r = path.join(work, 'cook-root');
  if (!fs.existsSync(r)) rootfs('cook-root');
  return r;
}
