// The CLI fault matrix: every command that writes (or runs something) × every fault a user
// or a host can throw at it, run as uid 65534 (when the tests are root, as in CI). For
// each case: the documented exit code, exactly one line on stderr, nothing left in the
// output directory but what was there, an existing output byte-identical, no build
// directory left in the store, no temp in TMPDIR, and no process of the run still alive.
// Signals arrive at named points (CAKE_IMG_FAULT, src/host/fault.ts), not after a delay.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMbr, planMbr } from '../../src/bake/mbr/mbr.js';
import { CLI, type CliResult, cakeImg, canRunAsNobody } from '../helpers/cli.js';
import { fakeKernel } from '../helpers/fake-kernel.js';
import { tmpDir } from '../helpers/image.js';
import { hasTool, isRoot } from '../oracles/tools.js';

const work = tmpDir('cake-faults-');
fs.chmodSync(work, 0o777);
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) execFileSync('umount', ['-l', m]);
  fs.rmSync(work, { recursive: true, force: true });
});

const UUID = '12345678-1234-1234-1234-123456789abc';
const APPLETS = ['sh', 'env', 'sleep', 'echo', 'true', 'test', '['];

/** Inputs every case shares: a busybox tree (tarred too), a fake kernel, a cook script, a disk for --offset. */
const input = { dir: '', tar: '', kernel: '', script: '', disk: '' };

function writable(d: string): string {
  fs.mkdirSync(d, { recursive: true });
  fs.chmodSync(d, 0o777);
  return d;
}

beforeAll(() => {
  const shared = writable(path.join(work, 'in'));
  const root = path.join(shared, 'tree');
  for (const d of ['bin', 'usr/bin', 'etc']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(root, 'bin', a));
  fs.symlinkSync('/bin/busybox', path.join(root, 'usr/bin/env'));
  fs.writeFileSync(path.join(root, 'etc/profile'), 'export PATH=/bin\n');
  input.dir = root;
  input.tar = path.join(shared, 'tree.tar');
  execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', input.tar, '.']);
  input.kernel = fakeKernel(path.join(shared, 'vmlinuz'));
  input.script = path.join(shared, 'script.sh');
  // Sleeps only where the prepare step made /slow (the signal cases), so the others stay quick.
  fs.writeFileSync(input.script, 'echo started\nif [ -e /slow ]; then sleep 30; fi\n');
  input.disk = path.join(shared, 'disk.img');
  const mbr = encodeMbr(planMbr(16 << 20, new Uint8Array(440), 7));
  const fd = fs.openSync(input.disk, 'w');
  fs.ftruncateSync(fd, 16 << 20);
  fs.writeSync(fd, mbr, 0, 512, 0);
  fs.closeSync(fd);
  execFileSync('chmod', ['-R', 'a+rX', shared]);
});

// --- the commands --------------------------------------------------------------------------

interface Case {
  /** Where outputs go (the fault may change what it is). */
  outDir: string;
  /** The output's path inside outDir (file or directory). */
  out: string;
  src: string;
  env: Record<string, string>;
}

interface Command {
  name: string;
  /** The output is a directory the command creates (build --out), not a file. */
  outIsDir?: boolean;
  outName: string;
  args(c: Case): string[];
  /** The input a user can make unreadable, for the unreadable-input case. */
  unreadable(c: Case): string;
  needs: () => boolean;
  /** Points where a signal can land for this command. */
  signals: [string, string][];
  /** Existing-output content to start from (mkfs --offset updates a disk). */
  existing?: () => Buffer;
  /** Faults that are not faults for this command. */
  skip?: string[];
}

const COMMANDS: Command[] = [
  {
    name: 'mkfs', outName: 'root.img', needs: () => true,
    args: (c) => ['mkfs', c.src, c.out, '--size', '16M'], unreadable: (c) => c.src,
    signals: [['SIGINT', 'loaded'], ['SIGTERM', 'write'], ['SIGHUP', 'rename']],
  },
  {
    name: 'mkfs --offset', outName: 'disk.img', needs: () => true,
    args: (c) => ['mkfs', c.src, c.out, '--offset', '1048576', '--size', '8M'], unreadable: (c) => c.src,
    signals: [['SIGTERM', 'write'], ['SIGINT', 'rename']], existing: () => fs.readFileSync(input.disk),
  },
  {
    // The tree's busybox links are symlinks, which FAT cannot hold: --lenient skips them.
    name: 'mkfs --type vfat', outName: 'esp.img', needs: () => true,
    args: (c) => ['mkfs', '--type', 'vfat', c.src, c.out, '--size', '16M', '--lenient'], unreadable: (c) => c.src,
    signals: [['SIGINT', 'loaded'], ['SIGTERM', 'write'], ['SIGHUP', 'rename']],
  },
  {
    name: 'initramfs', outName: 'root.cpio.gz', needs: () => hasTool('cpio'),
    args: (c) => ['initramfs', c.src, '-o', c.out], unreadable: (c) => c.src,
    signals: [['SIGINT', 'loaded'], ['SIGTERM', 'write']],
  },
  {
    name: 'initrd', outName: 'initrd.gz', needs: () => fs.existsSync('/bin/busybox'),
    args: (c) => ['initrd', '--busybox', path.join(c.src, 'bin/busybox'), '--root-uuid', UUID, '-o', c.out],
    unreadable: (c) => path.join(c.src, 'bin/busybox'), signals: [['SIGTERM', 'write'], ['SIGINT', 'rename']],
  },
  {
    name: 'bake', outName: 'disk.img', needs: () => hasTool('extlinux'),
    args: (c) => ['bake', '--firmware', 'bios', '--rootfs', c.src, '--kernel', input.kernel, '--busybox', '/bin/busybox', '--size', '32M', '-o', c.out],
    unreadable: (c) => c.src, signals: [['SIGINT', 'loaded'], ['SIGTERM', 'write'], ['SIGTERM', 'rename']],
  },
  {
    // qcow2 laid out from the plan, written through its mapping.
    name: 'bake qcow2', outName: 'disk.qcow2', needs: () => hasTool('extlinux'),
    args: (c) => ['bake', '--rootfs', c.src, '--kernel', input.kernel, '--busybox', '/bin/busybox', '--size', '32M', '-o', c.out],
    unreadable: (c) => c.src, signals: [['SIGTERM', 'write'], ['SIGINT', 'rename']],
  },
  {
    // Streamed: the disk goes raw into a second temp beside the output first.
    name: 'bake vmdk', outName: 'disk.vmdk', needs: () => hasTool('extlinux'),
    args: (c) => ['bake', '--rootfs', c.src, '--kernel', input.kernel, '--busybox', '/bin/busybox', '--size', '32M', '-o', c.out],
    unreadable: (c) => c.src, signals: [['SIGINT', 'loaded'], ['SIGTERM', 'write'], ['SIGHUP', 'rename']],
  },
  {
    name: 'mkfs vhd', outName: 'root.vhd', needs: () => true,
    args: (c) => ['mkfs', c.src, c.out, '--size', '16M'], unreadable: (c) => c.src,
    signals: [['SIGTERM', 'write'], ['SIGINT', 'rename']],
  },
  {
    // Any file is a raw image: the tree's busybox, converted.
    name: 'convert', outName: 'busybox.qcow2', needs: () => true,
    args: (c) => ['convert', path.join(c.src, 'bin/busybox'), c.out, '--qcow2-compress'], unreadable: (c) => path.join(c.src, 'bin/busybox'),
    signals: [['SIGTERM', 'write'], ['SIGINT', 'rename']],
  },
  {
    name: 'cook', outName: 'cooked.tar', needs: () => hasTool('proot'),
    args: (c) => ['cook', '--src', c.src, '--script', input.script, '--prepare', c.env.CAKE_IMG_FAULT?.endsWith('@script') ? 'touch "$ROOTFS/slow"' : 'true', '-q', '-o', c.out],
    unreadable: (c) => c.src, signals: [['SIGINT', 'loaded'], ['SIGTERM', 'script'], ['SIGINT', 'script'], ['SIGTERM', 'write']],
  },
  {
    // An OCI image: its blobs are made in a private directory beside the output, then archived.
    name: 'cook -o .oci.tar', outName: 'cooked.oci.tar', needs: () => true,
    args: (c) => ['cook', '--src', c.src, '-q', '-o', c.out], unreadable: (c) => c.src,
    signals: [['SIGINT', 'loaded'], ['SIGTERM', 'write'], ['SIGHUP', 'rename']],
  },
  {
    name: 'build', outName: 'out', outIsDir: true, needs: () => hasTool('extlinux'),
    args: (c) => {
      const recipe = path.join(path.dirname(c.outDir), 'cake.config.json');
      fs.writeFileSync(recipe, JSON.stringify({ base: { cook: { src: c.src } }, vm: { bake: { image: 'base', kernel: { path: input.kernel }, size: '32M', firmware: 'bios' } } }));
      fs.chmodSync(recipe, 0o644);
      // --json: progress goes to stdout as events, so stderr holds only the error line.
      return ['build', recipe, '--out', c.out, '--json'];
    },
    skip: ['missing output directory'], // build makes --out
    unreadable: (c) => c.src, signals: [['SIGINT', 'loaded'], ['SIGTERM', 'write']],
  },
];

// --- what a run leaves -----------------------------------------------------------------------

/**
 * Processes (not zombies) of this case still alive: its marker in their environment, or
 * its directory in their command line or working directory — and every process in the
 * process group of one of those (a cook script under proot has an empty environment and
 * the caller's working directory, but proot's group).
 */
function leftovers(caseDir: string, mark: string): string[] {
  const procs: { pid: string; pgid: string; cmdline: string; ours: boolean }[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
      let environ = '';
      let cwd = '';
      try {
        environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
        cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        /* not ours to read: not ours */
      }
      procs.push({ pid, pgid: fields[2]!, cmdline, ours: environ.includes(mark) || cmdline.includes(caseDir) || cwd.startsWith(caseDir) });
    } catch {
      /* gone meanwhile */
    }
  }
  const groups = new Set(procs.filter((p) => p.ours).map((p) => p.pgid));
  const self = fs.readFileSync('/proc/self/stat', 'latin1');
  groups.delete(self.slice(self.lastIndexOf(')') + 2).split(' ')[2]!); // the test runner's own group is not the run's
  return procs.filter((p) => p.ours || groups.has(p.pgid)).map((p) => `${p.pid}: ${p.cmdline}`);
}

async function expectNoProcessLeft(caseDir: string, mark: string): Promise<void> {
  // A killed child may need a moment to be reaped; a real leftover (a 30 s sleep, QEMU) stays.
  let left = leftovers(caseDir, mark);
  for (let i = 0; i < 20 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = leftovers(caseDir, mark);
  }
  expect(left, 'processes left running').toEqual([]);
}

function listTree(d: string): string[] {
  if (!fs.existsSync(d)) return [];
  const out: string[] = [];
  const walk = (p: string, rel: string): void => {
    for (const n of fs.readdirSync(p).sort()) {
      out.push(`${rel}${n}`);
      const full = path.join(p, n);
      if (fs.lstatSync(full).isDirectory()) walk(full, `${rel}${n}/`);
    }
  };
  walk(d, '');
  return out;
}

/** An earlier output the run must leave as it was (writable by the CLI's user, whatever the umask). */
function writeExisting(file: string, bytes: Buffer): void {
  // Sparse: only the chunks that are not all zeros are written (a 16 MiB disk fits a small tmpfs).
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, bytes.length);
  for (let at = 0; at < bytes.length; at += 65536) {
    const chunk = bytes.subarray(at, at + 65536);
    if (chunk.some((b) => b !== 0)) fs.writeSync(fd, chunk, 0, chunk.length, at);
  }
  fs.closeSync(fd);
  fs.chmodSync(file, 0o666);
}

function expectOneLine(r: CliResult, message: RegExp): void {
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^cake-img: error: /);
  expect(lines[0]).toMatch(message);
}

// --- the faults ---------------------------------------------------------------------------------

type Setup = (c: Case, cmd: Command) => void;
interface Fault {
  name: string;
  setup: Setup;
  status: number;
  message: RegExp;
  /** Runs only where this holds (a tmpfs needs root to mount; permissions need a non-root CLI). */
  when?: () => boolean;
  env?: Record<string, string>;
  /** The existing output is kept byte-identical (false where the fault is the output itself). */
  keepsOutput?: boolean;
}

let caseN = 0;
function newCase(cmd: Command, fault: string): { c: Case; dir: string; mark: string } {
  const dir = writable(path.join(work, `${++caseN}-${cmd.name.replace(/\W+/g, '-')}-${fault.replace(/\W+/g, '-')}`));
  const outDir = writable(path.join(dir, 'out'));
  const mark = `cake-fault-case-${caseN}`;
  const env = { XDG_CACHE_HOME: writable(path.join(dir, 'cache')), TMPDIR: writable(path.join(dir, 'tmp')), CAKE_FAULT_MARK: mark, SOURCE_DATE_EPOCH: '1700000000' };
  return { c: { outDir, out: path.join(outDir, cmd.outName), src: input.dir, env }, dir, mark };
}

const FAULTS: Fault[] = [
  {
    name: 'unwritable output directory', status: 1, message: /permission denied/, when: () => canRunAsNobody, keepsOutput: true,
    setup: (c) => fs.chmodSync(c.outDir, 0o555),
  },
  {
    name: 'missing output directory', status: 1, message: /does not exist/,
    setup: (c) => {
      fs.rmSync(c.outDir, { recursive: true });
      c.out = path.join(c.outDir, 'deeper', path.basename(c.out));
    },
  },
  {
    name: 'output is a directory', status: 1, message: /is a directory|is not a directory/,
    setup: (c, cmd) => {
      if (cmd.outIsDir) fs.writeFileSync(c.out, 'a file where --out should be\n', { mode: 0o644 }); // build --out on a file
      else fs.mkdirSync(c.out, { mode: 0o777 });
    },
  },
  {
    name: 'full filesystem', status: 1, message: /no space left/, when: () => isRoot, keepsOutput: true,
    setup: (c) => {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0777', 'tmpfs', c.outDir]);
      mounts.push(c.outDir);
    },
  },
  {
    name: 'unreadable input', status: 1, message: /permission denied/, when: () => canRunAsNobody, keepsOutput: true,
    setup: (c, cmd) => {
      // A private copy, made unreadable: the shared inputs stay readable for other cases.
      const copy = path.join(path.dirname(c.outDir), 'src');
      execFileSync('cp', ['-a', input.dir, copy]);
      execFileSync('chmod', ['-R', 'a+rX', copy]);
      c.src = copy;
      fs.chmodSync(cmd.unreadable(c), 0o000);
    },
  },
  {
    name: 'a symlink planted at the output', status: 1, message: /is a symbolic link|not a directory/,
    setup: (c) => {
      const victim = path.join(path.dirname(c.outDir), 'victim');
      fs.writeFileSync(victim, 'precious\n', { mode: 0o666 });
      fs.symlinkSync(victim, c.out);
    },
  },
];

for (const cmd of COMMANDS) {
  describe(`${cmd.name}`, () => {
    for (const f of FAULTS) {
      if (cmd.skip?.includes(f.name)) continue;
      it.skipIf(!cmd.needs() || !(f.when?.() ?? true))(`${f.name}: exit ${f.status}, one line, nothing lost or left`, async () => {
        const { c, dir, mark } = newCase(cmd, f.name);
        // An existing output, to prove it survives (a disk image for --offset, else plain bytes).
        const before = cmd.existing?.() ?? Buffer.from('an earlier output\n');
        f.setup(c, cmd);
        if (f.keepsOutput && !cmd.outIsDir) writeExisting(c.out, before);
        const listed = listTree(c.outDir);
        const victim = path.join(dir, 'victim');
        const victimBefore = fs.existsSync(victim) ? fs.readFileSync(victim) : null;
        const r = cakeImg(cmd.args(c), { asNobody: canRunAsNobody, env: c.env });
        expect(r.status, r.stderr).toBe(f.status);
        expectOneLine(r, f.message);
        expect(listTree(c.outDir)).toEqual(listed);
        if (f.keepsOutput && !cmd.outIsDir) expect(fs.readFileSync(c.out).equals(before), 'existing output unchanged').toBe(true);
        if (victimBefore) expect(fs.readFileSync(victim).equals(victimBefore), 'link target untouched').toBe(true);
        expect(listTree(path.join(c.env.XDG_CACHE_HOME, 'cake-img/store/.build'))).toEqual([]);
        expect(listTree(c.env.TMPDIR)).toEqual([]);
        await expectNoProcessLeft(dir, mark);
      }, 120_000);
    }

    for (const [signal, point] of cmd.signals) {
      it.skipIf(!cmd.needs())(`${signal} at "${point}": exit ${signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143}, one line, nothing lost or left`, async () => {
        const { c, dir, mark } = newCase(cmd, `${signal}-${point}`);
        const before = cmd.existing?.() ?? Buffer.from('an earlier output\n');
        if (!cmd.outIsDir) writeExisting(c.out, before);
        const listed = listTree(c.outDir);
        c.env.CAKE_IMG_FAULT = `${signal}@${point}`;
        const r = cakeImg(cmd.args(c), { asNobody: canRunAsNobody, env: c.env, timeoutMs: 60_000 });
        expect(r.status, r.stderr).toBe(128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal]!);
        expectOneLine(r, new RegExp(`stopped by ${signal}; partial outputs removed`));
        expect(listTree(c.outDir)).toEqual(listed);
        if (!cmd.outIsDir) expect(fs.readFileSync(c.out).equals(before), 'existing output unchanged').toBe(true);
        expect(listTree(path.join(c.env.XDG_CACHE_HOME, 'cake-img/store/.build'))).toEqual([]);
        expect(listTree(c.env.TMPDIR)).toEqual([]);
        await expectNoProcessLeft(dir, mark);
      }, 120_000);
    }

    it.skipIf(!cmd.needs())('a link planted at the old temp names is left alone; the run succeeds and leaves no process', async () => {
      const { c, dir, mark } = newCase(cmd, 'planted-temp');
      const victim = path.join(dir, 'victim');
      fs.writeFileSync(victim, 'precious\n', { mode: 0o666 });
      for (let pid = 0; pid < 64; pid++) fs.symlinkSync(victim, path.join(c.outDir, `.${cmd.outName}.cake-tmp-${pid}`));
      const r = cakeImg(cmd.args(c), { asNobody: canRunAsNobody, env: c.env });
      expect(r.status, r.stderr).toBe(0);
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
      expect(fs.lstatSync(c.out).isSymbolicLink()).toBe(false);
      await expectNoProcessLeft(dir, mark);
    }, 120_000);
  });
}

describe.skipIf(!hasTool('qemu-system-x86_64') || !fs.existsSync('/usr/lib/syslinux/mbr/mbr.bin'))('boot', () => {
  /** A disk whose only partition is not active: SeaBIOS and mbr.bin print, then it idles. */
  function idleDisk(dir: string): string {
    const img = path.join(dir, 'idle.img');
    const mbr = encodeMbr(planMbr(8 << 20, new Uint8Array(fs.readFileSync('/usr/lib/syslinux/mbr/mbr.bin')), 1));
    mbr[446] = 0;
    const fd = fs.openSync(img, 'w', 0o644);
    fs.ftruncateSync(fd, 8 << 20);
    fs.writeSync(fd, mbr, 0, 512, 0);
    fs.closeSync(fd);
    return img;
  }
  const bootCmd: Command = { name: 'boot', outName: 'none', needs: () => true, args: () => [], unreadable: () => '', signals: [] };

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} while QEMU runs: QEMU ends, its temp directory goes, one line`, async () => {
      const { c, dir, mark } = newCase(bootCmd, signal);
      const img = idleDisk(c.outDir);
      c.env.CAKE_IMG_FAULT = `${signal}@console`;
      const r = cakeImg(['boot', img, '--expect', 'never printed', '--timeout', '60', '--accel', 'tcg'], { asNobody: canRunAsNobody, env: c.env, timeoutMs: 60_000 });
      expect(r.status, r.stderr).toBe(signal === 'SIGINT' ? 130 : 143);
      expectOneLine(r, new RegExp(`stopped by ${signal}`));
      expect(listTree(c.env.TMPDIR)).toEqual([]);
      await expectNoProcessLeft(dir, mark);
    }, 120_000);
  }

  it.skipIf(!canRunAsNobody)('an unreadable image, a directory, a bad --memory: one line each, exit 1 or 2, QEMU never left running', async () => {
    const { c, dir, mark } = newCase(bootCmd, 'bad-inputs');
    const img = idleDisk(c.outDir);
    fs.chmodSync(img, 0o000);
    let r = cakeImg(['boot', img, '--expect', 'x', '--timeout', '10'], { asNobody: true, env: c.env });
    expect(r.status).toBe(1);
    expectOneLine(r, /idle\.img: cannot read the image: permission denied/);
    r = cakeImg(['boot', c.outDir, '--expect', 'x', '--timeout', '10'], { asNobody: true, env: c.env });
    expect(r.status).toBe(1);
    expectOneLine(r, /is not a disk image/);
    fs.chmodSync(img, 0o644);
    r = cakeImg(['boot', img, '--memory', 'lots', '--expect', 'x', '--timeout', '10'], { asNobody: true, env: c.env });
    expect(r.status).toBe(2);
    expectOneLine(r, /--memory: expected a size/);
    await expectNoProcessLeft(dir, mark);
  }, 120_000);
});

describe.skipIf(!hasTool('proot'))('SIGKILL, which no handler sees: the guardian ends the run', () => {
  it('kill -9 during a cook script: proot, the script and the build directory all go', async () => {
    const { c, dir, mark } = newCase(COMMANDS.find((x) => x.name === 'cook')!, 'sigkill');
    c.env.CAKE_IMG_FAULT = 'none@never'; // so the prepare step makes /slow (see COMMANDS)
    const args = ['cook', '--src', c.src, '--script', input.script, '--prepare', 'touch "$ROOTFS/slow"', '-q', '-o', c.out];
    const cmd = canRunAsNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, CLI, ...args] : [process.execPath, CLI, ...args];
    const child = spawn(cmd[0]!, cmd.slice(1), { env: { ...process.env, ...c.env }, stdio: 'ignore' });
    const build = path.join(c.env.XDG_CACHE_HOME, 'cake-img/store/.build');
    // Until the script is sleeping: a `sleep 30` whose working directory is in the build directory.
    for (let i = 0; i < 200 && !leftovers(dir, mark).some((p) => / sleep 30/.test(p)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(leftovers(dir, mark).some((p) => / sleep 30/.test(p)), 'the script runs').toBe(true);
    expect(listTree(build).length).toBeGreaterThan(0);
    // The CLI itself (setpriv execs it, so the child is the node process).
    process.kill(child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await expectNoProcessLeft(dir, mark);
    for (let i = 0; i < 30 && listTree(build).length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(listTree(build)).toEqual([]);
    expect(listTree(c.outDir)).toEqual([]);
  }, 120_000);
});
