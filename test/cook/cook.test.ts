// `cake-img cook` end to end, run as uid 65534 when the tests run as root (CI): a layered
// busybox image (docker save and OCI layout) cooked with a script that edits /etc, adds a
// user and deletes a file; the result judged by GNU tar (owners, modes, devices, links)
// and by e2fsck after mkfs. Then the store: hits, --explain, --sha256, failures.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxDockerArchive, busyboxLayers, busyboxOciLayout } from '../helpers/busybox-image.js';
import { CLI, cakeImg, canRunAsNobody } from '../helpers/cli.js';
import { expectFsckClean } from '../oracles/e2fsck.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';
import { pushBlob, pushManifest, startRegistry } from '../helpers/registry.js';
import { imageConfig } from '../helpers/image-config.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-cook-'));
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const cache = path.join(work, 'cache');
const env = { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: '1700000000' };
const asNobody = canRunAsNobody;
const run = (args: string[]) => cakeImg(args, { asNobody, env });

const SCRIPT = `
echo 'welcome to the cooked busybox' > /etc/motd
sed -i 's/^root:x:0:0:root:/root:x:0:0:the admin:/' /etc/passwd
echo 'alice:x:1001:1001::/home/alice:/bin/sh' >> /etc/passwd
echo 'alice:x:1001:' >> /etc/group
mkdir /home/alice && chown 1001:1001 /home/alice
rm /usr/bin/delete-me
chmod 0700 /etc/profile
echo "script ran as $(id -u)"
`;

let docker = '';
let oci = '';
let script = '';
beforeAll(async () => {
  if (!hasTool('proot')) return;
  docker = await busyboxDockerArchive(path.join(work, 'busybox.tar'));
  oci = await busyboxOciLayout(path.join(work, 'busybox-oci'));
  script = path.join(work, 'setup.sh');
  fs.writeFileSync(script, SCRIPT);
  fs.mkdirSync(cache, { mode: 0o777 });
  execFileSync('chmod', ['-R', 'a+rX', work]);
  fs.chmodSync(cache, 0o777);
}, 120_000);

/** `tar tv --numeric-owner` of an archive: path → "mode uid/gid" (+ " -> target" / " link to"). */
function tarListing(file: string): Map<string, string> {
  const out = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' });
  const map = new Map<string, string>();
  for (const line of out.trim().split('\n')) {
    const m = /^(\S+)\s+(\d+\/\d+)\s+(\S+)\s+\S+\s+\S+\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unparsed tar line: ${line}`);
    const [, mode, owner, size, rest] = m;
    const [name, extra] = rest!.split(/ (->|link to) /).length > 1 ? [rest!.split(/ (?:->|link to) /)[0]!, rest!.slice(rest!.split(/ (?:->|link to) /)[0]!.length)] : [rest!, ''];
    map.set(name!.replace(/^\.\//, '/').replace(/\/$/, '') || '/', `${mode} ${owner}${mode!.startsWith('c') ? ` ${size}` : ''}${extra}`);
  }
  return map;
}

function tarFile(archive: string, member: string): string {
  return execFileSync('tar', ['-xOf', archive, member], { encoding: 'utf8' });
}

describe.skipIf(!hasTool('proot'))('cook a layered busybox image', () => {
  for (const kind of ['docker', 'oci'] as const) {
    it(`${kind}: script edits /etc, adds a user, deletes a file; owners kept`, () => {
      const out = path.join(work, `${kind}.tar`);
      const r = run(['cook', '--src', kind === 'docker' ? docker : oci, '--script', script, '--name', `bb-${kind}`, '-o', out]);
      expect(r.stderr, r.stderr).toContain('script ran as 0');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/cooked in .*-bb-/);
      const t = tarListing(out);
      // Kept from the layers: owners, setuid, the device, the cross-layer hard link.
      expect(t.get('/home/user')).toBe('drwxr-x--- 1000/1000');
      expect(t.get('/home/user/notes')).toBe('-rw------- 1000/1000');
      expect(t.get('/usr/bin/suid-tool')).toBe('-rwsr-xr-x 0/0');
      expect(t.get('/etc/shadow')).toMatch(/^-rw-r----- 0\/42$/);
      expect(t.get('/dev/null')).toBe('crw-rw-rw- 0/0 1,3');
      expect(t.get('/usr/bin/su')).toBe('hrwxr-xr-x 0/0 link to ./bin/busybox');
      expect(t.get('/tmp')).toBe('drwxrwxrwt 0/0');
      // Whiteouts and the opaque directory applied; no .wh. names.
      expect(t.has('/etc/obsolete')).toBe(false);
      expect(t.has('/opt/cache/stale')).toBe(false);
      expect(t.has('/opt/cache/fresh')).toBe(true);
      expect([...t.keys()].some((k) => k.includes('.wh.'))).toBe(false);
      // The script's work: a new file (root's), an edit in place, a chmod, a deletion, a user.
      expect(t.get('/etc/motd')).toBe('-rw-r--r-- 0/0');
      expect(t.get('/etc/profile')).toBe('-rwx------ 0/0');
      expect(t.has('/usr/bin/delete-me')).toBe(false);
      expect(t.has('/bootstrap')).toBe(false);
      expect(tarFile(out, './etc/motd')).toBe('welcome to the cooked busybox\n');
      expect(tarFile(out, './etc/passwd')).toContain('root:x:0:0:the admin:');
      expect(tarFile(out, './etc/passwd')).toMatch(/^alice:x:1001:1001:/m);
      expect(t.get('/home/alice')).toMatch(/^d\S+ 0\/0$/); // proot cannot record the chown
    });
  }

  it('the cooked tree bakes into a clean ext4 image, both as a tarball and as a directory', () => {
    const dir = path.join(work, 'cooked-dir');
    const r = run(['cook', '--src', docker, '--script', script, '--name', 'bb-docker', '-o', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('cached'); // same inputs as the docker test above
    for (const src of [dir, path.join(work, 'docker.tar')]) {
      const img = path.join(work, `from-${path.basename(src)}.img`);
      const m = run(['mkfs', src, img]);
      expect(m.status, m.stderr).toBe(0);
      expectFsckClean(img);
      const stat = execFileSync('debugfs', ['-R', 'stat /home/user/notes', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(stat).toMatch(/User:\s+1000\s+Group:\s+1000/);
      const dev = execFileSync('debugfs', ['-R', 'stat /dev/null', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(dev).toMatch(/Type: character special/);
      expect(dev).toMatch(/Device major\/minor number: 01:03/);
    }
  });
});

describe.skipIf(!hasTool('proot'))('the store', () => {
  it('a second cook is a store hit; --explain names the changed input; --rebuild cooks again', () => {
    const args = ['cook', '--src', oci, '--script', script, '--name', 'bb-store', '-q'];
    const first = run(args);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('cooked');
    const hash = /(sha256:[0-9a-f]{64})/.exec(first.stdout)![1]!;
    const again = run([...args, '--explain']);
    expect(again.stdout).toContain('cached');
    expect(again.stderr).toContain('same inputs');
    expect(again.stdout).toContain(hash);
    const changed = path.join(work, 'setup2.sh');
    fs.writeFileSync(changed, `${SCRIPT}\necho one more line\n`, { mode: 0o644 });
    const miss = run(['cook', '--src', oci, '--script', changed, '--name', 'bb-store', '-q', '--explain']);
    expect(miss.status, miss.stderr).toBe(0);
    expect(miss.stderr).toMatch(/bb-store: script changed/);
    expect(miss.stdout).toContain(hash); // same tree: the extra echo changes nothing
    const rebuilt = run([...args, '--rebuild']);
    expect(rebuilt.stdout).toContain('cooked');
    expect(rebuilt.stdout).toContain(hash); // cooking is deterministic
  });

  it('--sha256: a match is accepted, a mismatch shows expected and actual and stores nothing', () => {
    const ok = run(['cook', '--src', oci, '--name', 'bb-pin', '-q']);
    const hash = /(sha256:[0-9a-f]{64})/.exec(ok.stdout)![1]!;
    const pinned = run(['cook', '--src', oci, '--name', 'bb-pin', '-q', '--sha256', hash]);
    expect(pinned.status, pinned.stderr).toBe(0);
    const before = run(['store', 'ls']).stdout;
    const wrong = `sha256:${'0'.repeat(64)}`;
    const bad = run(['cook', '--src', oci, '--name', 'bb-pin2', '-q', '--sha256', wrong]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`expected ${wrong}, got ${hash}`);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(run(['store', 'ls']).stdout).toBe(before);
    expect(fs.readdirSync(path.join(cache, 'cake-img/store/.build'))).toEqual([]);
  });

  it('a failing script: its exit code and output tail, nothing stored, the build removed (or kept with --keep-failed)', () => {
    const failing = path.join(work, 'fail.sh');
    fs.writeFileSync(failing, 'echo about to fail >&2\nexit 3\n', { mode: 0o644 });
    const before = run(['store', 'ls']).stdout;
    const r = run(['cook', '--src', oci, '--script', failing, '--name', 'bb-fail', '-q']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the cook script failed \(exit 3\): about to fail/);
    expect(run(['store', 'ls']).stdout).toBe(before);
    expect(fs.readdirSync(path.join(cache, 'cake-img/store/.build'))).toEqual([]);
    const kept = run(['cook', '--src', oci, '--script', failing, '--name', 'bb-fail', '--keep-failed']);
    const where = /kept the failed build in (\S+)/.exec(kept.stderr)?.[1];
    expect(where, kept.stderr).toBeTruthy();
    expect(fs.existsSync(path.join(where!, 'rootfs/etc/passwd'))).toBe(true);
  });

  it('ptrace denied (a seccomp filter, as in hardened containers) is found by the probe and said plainly', () => {
    // A real denial: libseccomp's Python binding makes ptrace fail with EPERM, then execs the CLI.
    const deny = 'import seccomp, errno, os, sys\nf = seccomp.SyscallFilter(defaction=seccomp.ALLOW)\nf.add_rule(seccomp.ERRNO(errno.EPERM), "ptrace")\nf.load()\nos.execv(sys.argv[1], sys.argv[1:])\n';
    const cmd = [...(asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : []), '/usr/bin/python3', '-c', deny, process.execPath, CLI, 'cook', '--src', oci, '--script', script, '--name', 'bb-noptrace', '-q'];
    const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env: { ...process.env, PATH: TOOL_PATH, ...env } });
    expect(r.stderr).not.toMatch(/No module named/);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/proot cannot trace processes here \(ptrace denied/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a missing proot says how to install it', () => {
    const r = cakeImg(['cook', '--src', oci, '--script', script, '--name', 'bb-noproot', '-q'], { asNobody, env: { ...env, CAKE_IMG_PROOT: '/nonexistent/proot' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/proot not found.*apt-get install proot/);
  });

  it('store gc removes by age and keeps what is named', () => {
    const ls = run(['store', 'ls', '--json']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; hash: string; path: string });
    expect(ls.length).toBeGreaterThan(2);
    const keep = ls[0]!;
    const dry = run(['store', 'gc', '--all', '--keep', keep.key, '--dry-run']);
    expect(dry.stdout).toContain(`${ls.length - 1} entries`);
    expect(run(['store', 'ls', '--json']).stdout.trim().split('\n')).toHaveLength(ls.length);
    expect(run(['store', 'gc', '--older-than', '1d']).stdout).toContain('0 entries');
    const gc = run(['store', 'gc', '--all', '--keep', keep.hash]);
    expect(gc.status, gc.stderr).toBe(0);
    const left = run(['store', 'ls', '--json']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { hash: string });
    expect(left.every((e) => e.hash === keep.hash)).toBe(true);
    expect(fs.existsSync(keep.path)).toBe(true);
  });
});

describe.skipIf(!hasTool('proot'))('cook from a registry, pinned by digest', () => {
  it('pulls (blobs cached by digest), cooks, and refuses a wrong digest', async () => {
    const reg = await startRegistry();
    try {
      const layers = await busyboxLayers();
      const pushed = [];
      for (const l of layers) pushed.push(await pushBlob(reg, 'test/busybox', l, l[0] === 0x1f ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar'));
      const cfg = await pushBlob(reg, 'test/busybox', imageConfig(layers), 'application/vnd.oci.image.config.v1+json');
      const m = await pushManifest(reg, 'test/busybox', 'v1', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfg, layers: pushed }, 'application/vnd.oci.image.manifest.v1+json');
      const ref = `${reg.host}/test/busybox@${m.digest}`;
      const out = path.join(work, 'pulled.tar');
      const r = run(['cook', '--src', ref, '--script', script, '--name', 'pulled', '-o', out]);
      expect(r.status, r.stderr).toBe(0);
      expect(tarListing(out).get('/home/user/notes')).toBe('-rw------- 1000/1000');
      expect(fs.existsSync(path.join(cache, 'cake-img/blobs/sha256', m.digest.slice(7)))).toBe(true);
      // The same tree as the OCI layout of the same layers, cooked the same way.
      const viaOci = run(['cook', '--src', oci, '--script', script, '--name', 'bb-oci', '-q']);
      expect(/sha256:[0-9a-f]{64}/.exec(r.stdout)![0]).toBe(/sha256:[0-9a-f]{64}/.exec(viaOci.stdout)![0]);
      const wrong = `${reg.host}/test/busybox@sha256:${'1'.repeat(64)}`;
      const bad = run(['cook', '--src', wrong, '--name', 'pulled-wrong', '-q']);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/test\/busybox/);
    } finally {
      await reg.stop();
    }
  });
});
