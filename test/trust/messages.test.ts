// The "ugly but should be right" list: every error names the source it is about and
// prints on one line, sizes and times say what is wrong, an output never replaces its own
// input, bake does not silently replace a user's /boot files, usage errors are one line
// with the same exit code, recipes are checked whole before any work, and the cache
// follows the XDG spec.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gc } from '../../src/cook/store.js';
import { cakeImg, canRunAsNobody, oneErrorLine } from '../helpers/cli.js';
import { fakeKernel } from '../helpers/fake-kernel.js';
import { tmpDir } from '../helpers/image.js';
import { rawTar } from '../helpers/raw-tar.js';
import { packTar } from '../helpers/tar-pack.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';

const work = tmpDir('cake-messages-');
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const cache = path.join(work, 'cache');
fs.mkdirSync(cache, { mode: 0o777 });
fs.chmodSync(cache, 0o777);
const env = { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: '1700000000' };
const run = (args: string[], extra: Record<string, string> = {}, cwd?: string) => cakeImg(args, { asNobody: canRunAsNobody, env: { ...env, ...extra }, cwd });
const file = (name: string, data: Buffer | string): string => {
  const f = path.join(work, name);
  fs.writeFileSync(f, data);
  fs.chmodSync(f, 0o644);
  return f;
};

let root = '';
let kernel = '';
beforeAll(() => {
  root = path.join(work, 'root');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  execFileSync('chmod', ['-R', 'a+rX', root]);
  kernel = fakeKernel(path.join(work, 'vmlinuz'));
});

describe('errors name the source archive, and print on one line whatever the names hold', () => {
  it('a 300-byte name, an empty symlink target, a /boot that is a file: "ARCHIVE: /path: problem"', async () => {
    const long = file('long.tar', await packTar([{ name: 'a/' }, { name: `a/${'n'.repeat(300)}`, body: 'x' }]));
    let r = run(['mkfs', long, path.join(work, 'long.img')]);
    expect(oneErrorLine(r)).toMatch(/long\.tar: \/a\/n{300}: name is 300 bytes; ext4 allows 255/);
    const empty = file('empty-link.tar', await packTar([{ name: 'l', type: 'symlink', linkname: '' }]));
    r = run(['mkfs', empty, path.join(work, 'empty.img')]);
    expect(oneErrorLine(r)).toMatch(/empty-link\.tar: \/l: symlink with an empty target/);
    if (hasTool('extlinux')) {
      const boot = file('boot-file.tar', await packTar([{ name: 'boot', body: 'not a directory' }]));
      r = run(['bake', '--firmware', 'bios', '--rootfs', boot, '--kernel', kernel, '--size', '32M', '-o', path.join(work, 'boot.img')]);
      expect(oneErrorLine(r)).toMatch(/boot-file\.tar: \/boot: exists in the rootfs but is not a directory/);
    }
  });

  it('a name with a newline, a tab and an escape sequence: still one line', async () => {
    const evil = file('evil-names.tar', await packTar([{ name: `x\ny\t\x1b[2J${'z'.repeat(300)}`, body: 'x' }]));
    const r = run(['mkfs', evil, path.join(work, 'evil.img')]);
    expect(r.status).toBe(1);
    const line = oneErrorLine(r);
    expect(line).toContain('x\\ny\\t\\u001b[2J');
    const out = run(['mkfs', root, path.join(work, 'no\nsuch dir', 'x.img')]);
    expect(oneErrorLine(out)).toMatch(/"[^"]*no\\nsuch dir\/x\.img": the directory/);
  });

  it('a truncated gzip names a position inside the file', () => {
    // Data that does not compress, so 700 bytes of gzip stop well inside the first member.
    const noise = randomBytes(200_000);
    const whole = gzipSync(rawTar([{ name: 'f', body: noise }]));
    expect(whole.length).toBeGreaterThan(100_000);
    const cut = file('cut.tar.gz', whole.subarray(0, 700));
    const r = run(['mkfs', cut, path.join(work, 'cut.img')]);
    const m = /ends after (\d+) compressed bytes/.exec(oneErrorLine(r));
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![1])).toBe(700);
  });
});

describe('sizes, journal and times beyond what the format holds', () => {
  it("a gzip bomb is refused from its headers, before it is inflated, when --size is fixed", () => {
    // One 1 GiB entry of zeros: a megabyte of gzip.
    const gz = execFileSync('sh', ['-c', `{ printf ''; } | python3 -c "
import sys, tarfile, io, gzip
class Zeros(io.RawIOBase):
    def __init__(s, n): s.left = n
    def readable(s): return True
    def readinto(s, b):
        n = min(len(b), s.left); b[:n] = bytes(n); s.left -= n; return n
out = gzip.GzipFile(fileobj=sys.stdout.buffer, mode='wb', compresslevel=1, mtime=0)
t = tarfile.open(fileobj=out, mode='w|', format=tarfile.PAX_FORMAT)
ti = tarfile.TarInfo('zeros'); ti.size = 1 << 30
t.addfile(ti, io.BufferedReader(Zeros(1 << 30)))
t.close(); out.close()
"`], { maxBuffer: 1 << 26 });
    const bomb = file('bomb.tar.gz', gz);
    const r = run(['mkfs', bomb, path.join(work, 'bomb.img'), '--size', '8M']);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r)).toMatch(/bomb\.tar\.gz: the file data its headers declare needs at least 1\.00 GiB .* but the size is 8\.00 MiB/);
  }, 60_000);

  it('--journal-blocks 999999999 is a usage error, not a 4 TiB image', () => {
    const img = path.join(work, 'journal.img');
    const r = run(['mkfs', root, img, '--journal-blocks', '999999999']);
    expect(r.status).toBe(2);
    expect(oneErrorLine(r)).toMatch(/--journal-blocks: a journal has 1024 to 10240000 blocks/);
    expect(fs.existsSync(img)).toBe(false);
  });

  it('SOURCE_DATE_EPOCH past what the format stores: refused, not wrapped', () => {
    let r = run(['mkfs', root, path.join(work, 'epoch.img')], { SOURCE_DATE_EPOCH: String(2 ** 34 + 2 ** 31) });
    expect(r.status).toBe(2);
    expect(oneErrorLine(r)).toMatch(/SOURCE_DATE_EPOCH: 19327352832 is after 2446-05-10, the last time ext4 can store/);
    r = run(['initramfs', root, '-o', path.join(work, 'epoch.cpio')], { SOURCE_DATE_EPOCH: String(2 ** 32) });
    expect(oneErrorLine(r)).toMatch(/SOURCE_DATE_EPOCH: 4294967296 is after 2106-02-07, the last time cpio newc can store/);
    r = run(['mkfs', root, path.join(work, 'epoch.img')], { SOURCE_DATE_EPOCH: '1e9' });
    expect(r.status).toBe(2);
  });
});

describe('outputs', () => {
  it('mkfs self.tar self.tar refuses, and the tarball is as it was', async () => {
    const tar = file('self.tar', await packTar([{ name: 'f', body: 'x' }]));
    const before = fs.readFileSync(tar);
    const r = run(['mkfs', tar, tar]);
    expect(r.status).toBe(2);
    expect(oneErrorLine(r)).toMatch(/IMG: .*self\.tar is also the input .*self\.tar; write the output elsewhere/);
    expect(fs.readFileSync(tar).equals(before)).toBe(true);
  });

  it.skipIf(!hasTool('extlinux') || !hasTool('debugfs'))("bake does not replace the tree's own /boot files unless told to, and says when it did", async () => {
    const tar = file('own-boot.tar', await packTar([{ name: 'boot/' }, { name: 'boot/syslinux.cfg', body: 'DEFAULT mine\n' }, { name: 'boot/vmlinux/' }]));
    const img = path.join(work, 'own-boot.img');
    const r = run(['bake', '--firmware', 'bios', '--rootfs', tar, '--kernel', kernel, '--size', '32M', '-o', img]);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r)).toMatch(/own-boot\.tar: \/boot\/vmlinux, \/boot\/syslinux\.cfg: are in the rootfs already, where bake puts its own boot files; .* --force/);
    expect(fs.existsSync(img)).toBe(false);
    const f = run(['bake', '--firmware', 'bios', '--rootfs', tar, '--kernel', kernel, '--size', '32M', '--force', '-o', img]);
    expect(f.status, f.stderr).toBe(0);
    expect(f.stderr).toMatch(/note: replaced the rootfs's \/boot\/syslinux\.cfg \(--force\)/);
    const cfg = execFileSync('debugfs', ['-R', 'cat /boot/syslinux.cfg', `${img}?offset=${1 << 20}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, PATH: TOOL_PATH } });
    expect(cfg).toMatch(/^DEFAULT linux$/m);
  });
});

describe('usage errors: one line, a pointer to --help, exit 2', () => {
  const CASES: [string[], RegExp][] = [
    [['mkfs'], /error: missing required argument 'SRC' \(see: cake-img mkfs --help\)/],
    [['mkfs', '--bogus'], /error: unknown option '--bogus' \(see: cake-img mkfs --help\)/],
    [['bake'], /required option .* not specified \(see: cake-img bake --help\)/],
    [['no-such-command'], /unknown command 'no-such-command' \(see: cake-img --help\)/],
    [['mkfs', 'a', 'b', '--offset', '-5'], /--offset must be a whole number \(see: cake-img mkfs --help\)/],
    [['mkfs', 'a', 'b', '--size', '10Q'], /--size: cannot read size "10Q"/],
    [['store', 'gc', '--older-than', 'soon'], /--older-than: expected a number and a unit/],
  ];
  for (const [args, message] of CASES) {
    it(`cake-img ${args.join(' ')}`, () => {
      const r = cakeImg(args);
      expect(r.status).toBe(2);
      expect(oneErrorLine(r)).toMatch(message);
    });
  }
});

describe('recipes are checked whole before any work', () => {
  const recipe = (name: string, text: string): string => {
    const d = path.join(work, `recipe-${name}`);
    fs.mkdirSync(d, { recursive: true, mode: 0o777 });
    fs.chmodSync(d, 0o777);
    const f = path.join(d, name.endsWith('json') ? 'cake.config.json' : 'cake.config.ts');
    fs.writeFileSync(f, text);
    fs.chmodSync(f, 0o644);
    return f;
  };
  const build = (f: string) => run(['build', f, '--out', path.join(path.dirname(f), 'out')], { XDG_CACHE_HOME: path.join(path.dirname(f), 'cache') });

  it('a syntax error names the line and column (TypeScript and JSON)', () => {
    const ts = recipe('syntax', "import { cook } from 'cake-img';\nexport default {\n  a: cook({ src: '.' ,, }),\n};\n");
    expect(oneErrorLine(build(ts))).toMatch(new RegExp(`${ts.replace(/\./g, '\\.')}:3:\\d+: cannot load: ParseError`));
    const json = recipe('syntax-json', '{\n  "a": { "cook": { "src": "." } },\n}\n');
    expect(oneErrorLine(build(json))).toMatch(new RegExp(`${json.replace(/\./g, '\\.')}:3:1: not valid JSON`));
  });

  it('a src that is neither an output nor a path says so, naming the outputs', () => {
    const f = recipe('unknown-json', JSON.stringify({ base: { cook: { src: '.' } }, next: { cook: { src: 'bas' } } }));
    expect(oneErrorLine(build(f))).toMatch(/output "next": src "bas" is neither an output of this recipe \(base, next\) nor a file or directory/);
  });

  it("a bake's bad size fails before its cook runs", () => {
    const f = recipe('bad-size', `import { bake, cook } from 'cake-img';
const base = cook({ src: ${JSON.stringify(root)} });
export default { base, vm: bake({ image: base, kernel: ${JSON.stringify(kernel)}, size: 'lots' }) };
`);
    const r = build(f);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r)).toMatch(/output "vm": size: cannot read size "lots"/);
    expect(fs.existsSync(path.join(path.dirname(f), 'cache/cake-img/store'))).toBe(false);
  });

  it('an unknown field is an error, not ignored', () => {
    const f = recipe('typo-json', JSON.stringify({ base: { cook: { src: '.', scirpt: 'true' } } }));
    expect(oneErrorLine(build(f))).toMatch(/output "base": unknown field "scirpt" in a cook/);
  });
});

describe('the cache and the store', () => {
  it('a relative XDG_CACHE_HOME is ignored (the XDG spec), the cache goes to $HOME/.cache', () => {
    const home = path.join(work, 'home');
    fs.mkdirSync(home, { mode: 0o777 });
    fs.chmodSync(home, 0o777);
    const cwd = path.join(work, 'cwd');
    fs.mkdirSync(cwd, { mode: 0o777 });
    fs.chmodSync(cwd, 0o777);
    const r = cakeImg(['cook', '--src', root, '--name', 'xdg', '-q'], { asNobody: canRunAsNobody, cwd, env: { XDG_CACHE_HOME: 'relative-cache', HOME: home } });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readdirSync(cwd)).toEqual([]);
    expect(fs.existsSync(path.join(home, '.cache/cake-img/store'))).toBe(true);
  });

  it('store gc removes build directories of processes that are gone, and keeps a live one', () => {
    const store = path.join(work, 'gc-store');
    const build = path.join(store, '.build');
    fs.mkdirSync(build, { recursive: true });
    // A pid that cannot be running (above pid_max), and this process (alive, with its start time).
    const deadPid = 4_194_400;
    fs.mkdirSync(path.join(build, `old@${deadPid}.12345-abcdef`));
    const stat = fs.readFileSync('/proc/self/stat', 'latin1');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    fs.mkdirSync(path.join(build, `live@${process.pid}.${start}-abcdef`));
    fs.mkdirSync(path.join(build, `reused@${process.pid}.1-abcdef`)); // our pid, another start time: a dead process
    const r = gc(store, { olderThanMs: 30 * 86400e3 });
    expect(r.stale.map((p) => path.basename(p)).sort()).toEqual([`old@${deadPid}.12345-abcdef`, `reused@${process.pid}.1-abcdef`]);
    expect(fs.readdirSync(build)).toEqual([`live@${process.pid}.${start}-abcdef`]);
  });
});

describe('one line for every output a file cannot be, and for inputs that cannot be read', () => {
  const OUTPUTS: [string, string, number, RegExp][] = [
    ['-', '-', 2, /IMG: cannot write to standard output/],
    ['a name ending in /', `${'x'}/`, 2, /ends in "\/": name the file to write/],
    ['an empty name', '', 2, /IMG: the output name is empty/],
    ['/dev/stdout', '/dev/stdout', 1, /\/dev\/stdout: is (a symbolic link|a character device|a fifo|not a regular file)/],
  ];
  for (const [what, out, status, message] of OUTPUTS) {
    it(`mkfs to ${what}: exit ${status}, one line, no file named after it`, () => {
      const cwd = path.join(work, `out-${what.replace(/\W+/g, '-')}`);
      fs.mkdirSync(cwd, { recursive: true, mode: 0o777 });
      fs.chmodSync(cwd, 0o777);
      const r = run(['mkfs', root, out], {}, cwd);
      expect(r.status, r.stderr).toBe(status);
      expect(oneErrorLine(r)).toMatch(message);
      expect(fs.readdirSync(cwd)).toEqual([]);
    });
  }

  it.skipIf(!canRunAsNobody)('mkfs --offset into a disk the user cannot write: refused, the disk as it was', () => {
    const disk = path.join(work, 'theirs.img');
    fs.writeFileSync(disk, Buffer.alloc(4 << 20, 1));
    fs.chmodSync(disk, 0o644); // root's, read-only for uid 65534
    const r = run(['mkfs', root, disk, '--offset', '1048576', '--size', '2M']);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r)).toMatch(/theirs\.img: permission denied: --offset updates this file, and you cannot write it/);
    expect(fs.readFileSync(disk).equals(Buffer.alloc(4 << 20, 1))).toBe(true);
  });

  it.skipIf(!canRunAsNobody || !hasTool('extlinux'))('an unreadable kernel and an unreadable --contents file: one line naming them', () => {
    const k = fakeKernel(path.join(work, 'secret-vmlinuz'));
    fs.chmodSync(k, 0o600);
    let r = run(['bake', '--firmware', 'bios', '--rootfs', root, '--kernel', k, '--size', '32M', '-o', path.join(work, 'k.img')]);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r)).toMatch(/secret-vmlinuz: cannot read the kernel: permission denied/);
    const secret = path.join(work, 'secret.txt');
    fs.writeFileSync(secret, 'no\n');
    fs.chmodSync(secret, 0o600);
    r = run(['cook', '--src', root, '--contents', secret, '--name', 'secret', '-q']);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r)).toMatch(/secret\.txt: cannot read the --contents path: permission denied/);
  });

  it.skipIf(!hasTool('extlinux'))('a kernel larger than any kernel image: one line, no image, before anything is read into memory', () => {
    const k = fakeKernel(path.join(work, 'huge-vmlinuz'));
    fs.truncateSync(k, 600 << 20); // sparse: the header stays, the rest is a hole
    const img = path.join(work, 'huge-k.img');
    const r = run(['bake', '--firmware', 'bios', '--rootfs', root, '--kernel', k, '--size', '32M', '-o', img]);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r)).toMatch(/huge-vmlinuz: is 629145600 bytes, more than any kernel image/);
    expect(fs.existsSync(img)).toBe(false);
  });

  it.skipIf(!isRootHere() || !hasTool('extlinux'))('a full cache is not fatal to bake: a warning, the image, and no temp left in the cache', () => {
    const small = path.join(work, 'small-cache');
    fs.mkdirSync(small, { mode: 0o777 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128k,mode=0777', 'tmpfs', small]);
    try {
      const img = path.join(work, 'full-cache.img');
      const r = run(['bake', '--firmware', 'bios', '--rootfs', root, '--kernel', kernel, '--size', '32M', '-o', img], { XDG_CACHE_HOME: small });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/warning: cache .*initrd.* not written \(ENOSPC\); carrying on without it/);
      expect(fs.statSync(img).size).toBe(32 << 20);
      const left = execFileSync('find', [small, '-name', '.*.cake-*'], { encoding: 'utf8' }).trim();
      expect(left).toBe('');
    } finally {
      execFileSync('umount', ['-l', small]);
    }
  });
});

function isRootHere(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
