// `cake-img shell`, as uid 65534 (the seed's "serve up the system"): a command run inside a
// busybox tree and its exit code passed through, /etc/profile read and the environment
// cleared, --bind of a host directory, --root-id, --keep giving a cooked directory that
// mkfs takes, the scratch copy gone afterwards, one line for a missing proot, and a real
// interactive session driven through tmux (a command typed at the prompt, its answer read
// back from the screen, Ctrl-C reaching the shell and not cake-img).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cakeImg, canRunAsNobody, oneErrorLine } from '../helpers/cli.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-shell-test-'));
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const home = path.join(work, 'home');
const env = { HOME: home, XDG_CACHE_HOME: path.join(home, 'cache'), TMPDIR: path.join(work, 'tmp') };
const run = (args: string[], extra: Record<string, string> = {}) => cakeImg(['shell', ...args], { asNobody: canRunAsNobody, env: { ...env, ...extra } });
const canShell = () => hasTool('proot') && fs.existsSync('/bin/busybox');

let tar = '';
beforeAll(() => {
  if (!canShell()) return;
  for (const d of [home, env.TMPDIR]) fs.mkdirSync(d, { mode: 0o777 });
  for (const d of [home, env.TMPDIR]) fs.chmodSync(d, 0o777);
  const root = path.join(work, 'rootfs');
  for (const d of ['bin', 'usr/bin', 'etc', 'proc', 'dev', 'mnt/host', 'tmp']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'cat', 'id', 'echo', 'ls']) fs.symlinkSync('busybox', path.join(root, 'bin', a));
  fs.symlinkSync('/bin/busybox', path.join(root, 'usr/bin/env'));
  fs.writeFileSync(path.join(root, 'etc/profile'), 'export PATH=/bin:/usr/bin\nexport GREETING=from-profile\n');
  fs.writeFileSync(path.join(root, 'etc/os-release'), 'NAME="cake shell test"\nID=cake\n');
  tar = path.join(work, 'rootfs.tar');
  execFileSync('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@1700000000', '-cf', tar, '.']);
  fs.chmodSync(tar, 0o644);
});

const scratchLeft = () => fs.readdirSync(env.TMPDIR).filter((n) => n.startsWith('cake-shell-'));

describe.skipIf(!canShell())('cake-img shell', () => {
  it('runs a command inside, with /etc/profile read and the environment cleared; the scratch copy goes', () => {
    const r = run([tar, '--', 'sh', '-c', 'cat /etc/os-release; echo "greeting=$GREETING home=${HOME-unset} uid=$(id -u)"']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('NAME="cake shell test"');
    expect(r.stdout).toContain('greeting=from-profile home=unset');
    if (canRunAsNobody) expect(r.stdout).toContain('uid=65534');
    expect(scratchLeft()).toEqual([]);
  }, 120_000);

  it('passes the command\'s exit code through', () => {
    expect(run([tar, '--', 'sh', '-c', 'exit 7']).status).toBe(7);
  }, 120_000);

  it('--root-id seems root; --bind shows a host directory inside', () => {
    const hostDir = path.join(work, 'shared');
    fs.mkdirSync(hostDir, { mode: 0o755 });
    fs.writeFileSync(path.join(hostDir, 'note'), 'from the host\n', { mode: 0o644 });
    const r = run([tar, '--root-id', '--bind', `${hostDir}:/mnt/host`, '--', 'sh', '-c', 'id -u; cat /mnt/host/note']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('0\nfrom the host\n');
  }, 120_000);

  it('--keep leaves a cooked directory with the changes, which mkfs takes', () => {
    const kept = path.join(work, 'kept');
    const r = run([tar, '--root-id', '--keep', kept, '--', 'sh', '-c', 'echo added > /etc/added']);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(kept, 'rootfs/etc/added'), 'utf8')).toBe('added\n');
    const img = path.join(work, 'kept.img');
    const m = cakeImg(['mkfs', kept, img], { asNobody: canRunAsNobody, env });
    expect(m.status, m.stderr).toBe(0);
    const cat = execFileSync('debugfs', ['-R', 'cat /etc/added', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, PATH: TOOL_PATH } });
    expect(cat).toBe('added\n');
  }, 120_000);

  it('bad input is one line: a --keep that is not empty, a missing bind, no proot, no /bin/sh', () => {
    const full = path.join(work, 'full');
    fs.mkdirSync(full, { mode: 0o777 });
    fs.writeFileSync(path.join(full, 'x'), '');
    expect(oneErrorLine(run([tar, '--keep', full, '--', 'true']))).toMatch(/not an empty directory/);
    expect(fs.readdirSync(full)).toEqual(['x']);
    expect(oneErrorLine(run([tar, '--bind', '/no/such/dir', '--', 'true']))).toMatch(/--bind: .*no such file/);
    expect(oneErrorLine(run([tar, '--', 'true'], { CAKE_IMG_PROOT: '/no/such/proot' }))).toMatch(/proot not found/);
    const empty = path.join(work, 'empty.tar');
    execFileSync('tar', ['-C', path.join(work, 'rootfs'), '-cf', empty, './etc']);
    fs.chmodSync(empty, 0o644);
    expect(oneErrorLine(run([empty, '--', 'true']))).toMatch(/has no \/bin\/sh/);
    expect(scratchLeft()).toEqual([]);
  }, 120_000);

  it.skipIf(!hasTool('tmux'))('is interactive on a terminal (tmux): a typed command answers, Ctrl-C reaches the shell', async () => {
    const session = `cake-shell-${process.pid}`;
    const asNobody = canRunAsNobody ? 'setpriv --reuid=65534 --regid=65534 --clear-groups -- ' : '';
    const envs = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
    const marker = path.join(work, 'exit-status');
    const cmd = `env ${envs} PATH=${TOOL_PATH} ${asNobody}${process.execPath} ${CLI} shell ${tar}; echo "status=$?" > ${marker}`;
    const tmux = (...a: string[]) => spawnSync('tmux', a, { encoding: 'utf8' });
    expect(tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30', cmd).status).toBe(0);
    const screen = () => tmux('capture-pane', '-p', '-t', session).stdout;
    const waitFor = async (re: RegExp, ms = 60_000) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (re.test(screen())) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`never saw ${re} on the screen:\n${screen()}`);
    };
    try {
      await waitFor(/[$#]\s*$/m);
      tmux('send-keys', '-t', session, 'echo "answer=$((6*7))"', 'Enter');
      await waitFor(/^answer=42$/m);
      tmux('send-keys', '-t', session, 'sleep 30', 'Enter');
      await new Promise((r) => setTimeout(r, 500));
      tmux('send-keys', '-t', session, 'C-c');
      tmux('send-keys', '-t', session, 'echo "still=$((2*3))"', 'Enter');
      await waitFor(/^still=6$/m);
      // A command that catches Ctrl-C goes on: the keyboard's SIGINT is its own, and does
      // not stop cake-img (which would end it).
      tmux('send-keys', '-t', session, 'exit 3', 'Enter');
      const end = Date.now() + 30_000;
      while (!fs.existsSync(marker) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
      expect(fs.readFileSync(marker, 'utf8')).toBe('status=3\n');
    } finally {
      tmux('kill-session', '-t', session);
    }
    const caught = path.join(work, 'caught');
    const cmd2 = `env ${envs} PATH=${TOOL_PATH} ${asNobody}${process.execPath} ${CLI} shell ${tar} -- sh -c 'trap "echo caught" INT; echo ready; sleep 3; echo after'; echo "status=$?" > ${caught}`;
    expect(tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30', cmd2).status).toBe(0);
    try {
      await waitFor(/^ready$/m);
      tmux('send-keys', '-t', session, 'C-c');
      const end = Date.now() + 30_000;
      while (!fs.existsSync(caught) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
      expect(fs.readFileSync(caught, 'utf8')).toBe('status=0\n');
    } finally {
      tmux('kill-session', '-t', session);
    }
  }, 180_000);
});
