// Containment: hostile tarballs (every way out of the root we know) are refused naming
// the entry, or skipped with a warning under --lenient, and nothing outside the output
// changes. Also a symlink planted by the script does not carry --contents out of the root,
// and prepare / --path / --contents / cleanup do what the original recipe's steps do.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxOciLayout } from '../helpers/busybox-image.js';
import { cakeImg, canRunAsNobody } from '../helpers/cli.js';
import { hasTool } from '../oracles/tools.js';
import { packTar, type TarEntry } from '../helpers/tar-pack.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-hostile-'));
const outside = path.join(work, 'outside');
const cache = path.join(work, 'cache');
const env = { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: '1700000000' };
const run = (args: string[]) => cakeImg(args, { asNobody: canRunAsNobody, env });
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function tarball(file: string, entries: TarEntry[]): Promise<string> {
  fs.writeFileSync(file, await packTar(entries), { mode: 0o644 });
  return file;
}

const BASE: TarEntry[] = [{ name: 'etc/' }, { name: 'etc/ok', body: 'fine\n' }];

const CASES: [string, TarEntry[], string][] = [
  ['dotdot', [{ name: '../escape-dotdot', body: 'x' }], '../escape-dotdot'],
  ['absolute', [{ name: `${outside}/escape-abs`, body: 'x' }], 'escape-abs'],
  ['dot-slash-dotdot', [{ name: './../escape-dot', body: 'x' }], 'escape-dot'],
  ['deep-dotdot', [{ name: 'etc/../../escape-deep', body: 'x' }], 'escape-deep'],
  ['through-absolute-symlink', [{ name: 'evil', type: 'symlink', linkname: outside }, { name: 'evil/planted', body: 'x' }], 'evil/planted'],
  ['through-relative-symlink', [{ name: 'up', type: 'symlink', linkname: '../../../../..' }, { name: 'up/planted', body: 'x' }], 'up/planted'],
  ['hardlink-dotdot', [{ name: 'hl', type: 'link', linkname: '../../../etc/passwd' }], 'hl'],
  ['hardlink-absolute', [{ name: 'hl', type: 'link', linkname: '/etc/passwd' }], 'hl'],
  ['hardlink-through-symlink', [{ name: 'evil', type: 'symlink', linkname: '/etc' }, { name: 'hl', type: 'link', linkname: 'evil/passwd' }], 'hl'],
];

const passwdHash = (): string => createHash('sha256').update(fs.readFileSync('/etc/passwd')).digest('hex');
const passwdBefore = passwdHash();

/** Every path under `dir` (to prove nothing appeared). */
function listAll(dir: string): string[] {
  return execFileSync('find', [dir], { encoding: 'utf8' }).trim().split('\n').sort();
}

beforeAll(() => {
  fs.mkdirSync(outside);
  fs.mkdirSync(cache);
  fs.chmodSync(work, 0o777);
  fs.chmodSync(outside, 0o777); // writable by the user the CLI runs as: only containment keeps it empty
  fs.chmodSync(cache, 0o777);
});

describe('hostile tarballs', () => {
  for (const [name, entries, named] of CASES) {
    it(`${name}: refused naming the entry; skipped with --lenient; nothing outside changes`, async () => {
      const tar = await tarball(path.join(work, `${name}.tar`), [...BASE, ...entries]);
      const out = path.join(work, `${name}-out.tar`);
      const r = run(['cook', '--src', tar, '--name', name, '-q', '-o', out]);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(named);
      expect(fs.existsSync(out)).toBe(false);
      const lenient = run(['cook', '--src', tar, '--name', name, '--lenient', '-q', '-o', out]);
      expect(lenient.status, lenient.stderr).toBe(0);
      expect(lenient.stderr).toMatch(/warning: .*skipped/);
      const listed = execFileSync('tar', ['-tf', out], { encoding: 'utf8' });
      expect(listed).toContain('./etc/ok');
      expect(listed).not.toMatch(/escape|planted|\.\.\//);
      expect(fs.readdirSync(outside)).toEqual([]);
      expect(listAll(work).filter((p) => /escape|planted/.test(p))).toEqual([]);
      expect(passwdHash()).toBe(passwdBefore);
    });
  }
});

describe.skipIf(!hasTool('proot'))('host steps stay inside the root', () => {
  let oci = '';
  beforeAll(async () => {
    oci = await busyboxOciLayout(path.join(work, 'bb-oci'));
    execFileSync('chmod', ['-R', 'a+rX', oci]);
  }, 120_000);

  it('a symlink planted by the script does not carry --contents outside', () => {
    const payload = path.join(work, 'payload');
    fs.mkdirSync(path.join(payload, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(payload, 'sub/file'), 'payload\n');
    fs.symlinkSync('sub', path.join(payload, 'dirlink')); // a link inside --contents: copied as a link, never followed
    fs.symlinkSync('sub/file', path.join(payload, 'filelink')); // copied as a symlink
    execFileSync('chmod', ['-R', 'a+rX', payload]);
    const script = path.join(work, 'plant.sh');
    // Inside the root, the payload's parent directory becomes a symlink to a host directory.
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-elsewhere-'));
    fs.chmodSync(elsewhere, 0o777);
    fs.writeFileSync(script, `mkdir -p ${path.dirname(work)}\nln -s ${elsewhere} ${work}\n`, { mode: 0o644 });
    const out = path.join(work, 'planted.tar');
    const r = run(['cook', '--src', oci, '--script', script, '--contents', payload, '--name', 'planted', '-q', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const leaked = fs.readdirSync(elsewhere);
    fs.rmSync(elsewhere, { recursive: true, force: true });
    expect(leaked).toEqual([]);
    const listed = execFileSync('tar', ['--numeric-owner', '-tvf', out], { encoding: 'utf8' });
    // The copy went where the symlink points *inside* the root.
    const at = `\\.${elsewhere}/payload`;
    expect(listed).toMatch(new RegExp(`^-rw-r--r-- 0/0 .* ${at}/sub/file$`, 'm'));
    expect(listed).toMatch(new RegExp(`^l.* ${at}/dirlink -> sub$`, 'm'));
    expect(listed).not.toMatch(new RegExp(`${at}/dirlink/file`));
    expect(listed).toMatch(new RegExp(`^l.* ${at}/filelink -> sub/file$`, 'm'));
  });

  it('prepare, --path, --contents and cleanup run in the original order', () => {
    const extra = path.join(work, 'extra');
    fs.mkdirSync(extra);
    fs.writeFileSync(path.join(extra, 'tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
    execFileSync('chmod', ['-R', 'a+rX', extra]);
    const script = path.join(work, 'check.sh');
    fs.writeFileSync(script, 'cat /etc/prepared > /etc/seen-by-script\n', { mode: 0o644 });
    const out = path.join(work, 'steps.tar');
    const r = run([
      'cook', '--src', oci, '--name', 'steps', '-q', '-o', out, '--script', script,
      '--prepare', 'echo prepared > "$ROOTFS/etc/prepared"',
      '--path', '/opt/bin', '--path', '/usr/local/bin',
      '--contents', extra,
      // cleanup runs last, in the build directory: the contents are already there.
      '--cleanup', `rm rootfs/etc/prepared && test -x "$ROOTFS${extra}/tool"`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const file = (m: string): string => execFileSync('tar', ['-xOf', out, m], { encoding: 'utf8' });
    expect(file('./etc/seen-by-script')).toBe('prepared\n');
    expect(file('./etc/profile')).toMatch(/\nPATH=\/opt\/bin:\/usr\/local\/bin:\$PATH\n$/);
    expect(file(`.${extra}/tool`)).toBe('#!/bin/sh\necho tool\n');
    const listed = execFileSync('tar', ['--numeric-owner', '-tvf', out], { encoding: 'utf8' });
    expect(listed).toMatch(new RegExp(`^-rwxr-xr-x 0/0 .* \\.${extra}/tool$`, 'm'));
    expect(listed).not.toContain('./etc/prepared');
  });
});
