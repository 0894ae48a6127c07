// Benchmark `bake`: `cake-img bake` (rootfs + kernel → bootable disk, no root) against the
import { renderFooter, renderNotes } from './results.mjs';
// recipe it replaces, bench/bake-loop.sh: (a) a loop device, mkfs.ext4, mount, rsync,
// extlinux --install, and (b) the same disk with the filesystem written by mkfs.ext4 -d
// (the loop mount used only for extlinux). Both references need root; without it they are
// skipped and only cake-img is timed. Every image is checked (sfdisk --json, the MBR boot
// code, e2fsck -fn of the partition, /boot's files) before its time counts.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TREES, TREE_NAMES, prepareTree } from './trees.mjs';
import {
  BENCH_DIR, CHILD_ENV, debFile, debVersions, distBuilt, dropCaches, ensureTool, finishRun, fmtBytes, fmtInt, fmtSec, getCachePolicy, isRoot, log, othersCpuNote, parseTreeArgs, REPO_DIR, run, runOrThrow, summarizeRuns, timeCommand, timeFsync, which, WORK_DIR,
} from './timing.mjs';

export const name = 'bake';
export const description = 'cake-img bake vs the loop-device recipe (losetup, mkfs.ext4, mount, rsync, extlinux) and vs mkfs.ext4 -d + extlinux, busybox rootfs and Debian minbase';
export const usage = 'bake [--trees busybox,debian] [--runs N]';

const CAKE_MAIN = path.join(REPO_DIR, 'dist', 'cli', 'main.js');
const OUT_DIR = path.join(WORK_DIR, 'out');
const LOOP_SCRIPT = path.join(BENCH_DIR, 'bake-loop.sh');
const MBR_BIN = '/usr/lib/syslinux/mbr/mbr.bin';
const KERNEL_DIR = path.join(WORK_DIR, 'kernel');
const KERNEL_MARKER = path.join(WORK_DIR, 'kernel.json');
const DEFAULT_TREES = ['busybox', 'debian'];
const MODULES = 'virtio_pci,virtio_blk,ext4';
const CMDLINE = 'console=ttyS0';
const PART_OFFSET = 2048 * 512;

/** Disk size per tree: the same for every tool. */
export const SIZES = { busybox: '64M', debian: '1G', synthetic: '2G' };

/** Target from the issue: cake-img bake ≤ 0.5 × the loop-device path on the Debian tree. */
export const TARGETS = { ratioLoop: { trees: ['debian'], max: 0.5 } };

const TOOLS = {
  cake: 'cake-img bake',
  loop: '(a) loop + rsync',
  mkfsd: '(b) mkfs.ext4 -d',
  initrd: 'cake-img initrd alone',
};

const sizeBytes = (s) => {
  const m = /^(\d+)([KMG]?)$/.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  return Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]];
};

function cakeArgs(tree, kernelDir, size, img) {
  return [CAKE_MAIN, 'bake', '--rootfs', tree, '--kernel', kernelDir, '--modules', MODULES, '--options', CMDLINE, '--size', size, '-o', img];
}

/** `cake-img initrd` by itself: the part of cake-img's time the references get for free. */
function initrdArgs(kernel, uuid, out) {
  return [CAKE_MAIN, 'initrd', '--kernel-modules', path.join(kernel.dir, 'lib', 'modules', kernel.version), '--modules', MODULES, '--root-uuid', uuid, '-o', out];
}

function loopArgs(mode, tree, k, initrd, size, uuid, img) {
  return [LOOP_SCRIPT, ...(mode === 'mkfsd' ? ['--mkfs-d'] : []), tree, k.vmlinuz, initrd, size, uuid, img];
}

/**
 * cake-img needs a writable cache directory (XDG_CACHE_HOME, else ~/.cache). All cake-img
 * commands get one SOURCE_DATE_EPOCH, as a reproducible build would: `bake` dates the files
 * it adds by it (else by the rootfs's newest time), and `initrd` alone must give the same bytes.
 */
function cakeEnv() {
  const env = { ...CHILD_ENV, SOURCE_DATE_EPOCH: CHILD_ENV.SOURCE_DATE_EPOCH ?? '1700000000' };
  if (env.XDG_CACHE_HOME) return env;
  const home = env.HOME;
  try {
    if (home) {
      fs.mkdirSync(path.join(home, '.cache'), { recursive: true });
      fs.accessSync(path.join(home, '.cache'), fs.constants.W_OK);
      return env;
    }
  } catch {
    /* not writable */
  }
  env.XDG_CACHE_HOME = path.join(WORK_DIR, 'xdg-cache');
  fs.mkdirSync(env.XDG_CACHE_HOME, { recursive: true });
  return env;
}

// ---------------------------------------------------------------------------------------
// The kernel: Debian's linux-image-amd64, unpacked into bench/scratch/kernel (once)

function resolveKernelPackage() {
  const depends = () => run('apt-cache', ['depends', '--no-recommends', '--no-suggests', 'linux-image-amd64']);
  let r = depends();
  let m = /Depends: (linux-image-[^\s]+)/.exec(r.stdout);
  if (!m && isRoot()) {
    run('apt-get', ['update', '-q']);
    r = depends();
    m = /Depends: (linux-image-[^\s]+)/.exec(r.stdout);
  }
  if (!m) throw new Error(`apt-cache depends linux-image-amd64 names no linux-image-* package (apt-get update needed?): ${r.stderr.trim()}`);
  return m[1];
}

/**
 * Returns { dir, version, vmlinuz, how }: Debian's current kernel package unpacked, with
 * modules.dep made by depmod (a package ships none). The .deb comes from bench/scratch/debs,
 * else `apt-get download`.
 */
export function prepareKernel() {
  if (fs.existsSync(KERNEL_MARKER) && fs.existsSync(KERNEL_DIR)) {
    const k = JSON.parse(fs.readFileSync(KERNEL_MARKER, 'utf8'));
    if (fs.existsSync(k.vmlinuz)) {
      log(`kernel: reusing ${path.relative(process.cwd(), KERNEL_DIR)} (${k.pkg}; delete ${path.basename(KERNEL_MARKER)} to remake)`);
      return k;
    }
  }
  fs.rmSync(KERNEL_MARKER, { force: true });
  fs.rmSync(KERNEL_DIR, { recursive: true, force: true });
  const pkg = resolveKernelPackage();
  const got = debFile(pkg);
  const deb = got.file;
  const from = got.downloaded ? 'apt-get download' : 'bench/scratch/debs';
  log(`kernel: dpkg-deb -x ${deb}`);
  runOrThrow('dpkg-deb', ['-x', got.path, KERNEL_DIR]);
  const version = fs.readdirSync(path.join(KERNEL_DIR, 'lib', 'modules'))[0];
  if (!version) throw new Error(`${deb} has no lib/modules/<version>`);
  runOrThrow('depmod', ['-b', KERNEL_DIR, version]);
  const k = {
    pkg,
    deb,
    version,
    dir: KERNEL_DIR,
    vmlinuz: path.join(KERNEL_DIR, 'boot', `vmlinuz-${version}`),
    how: `${deb} (${from}), dpkg-deb -x, depmod -b`,
  };
  if (!fs.existsSync(k.vmlinuz)) throw new Error(`${deb} has no boot/vmlinuz-${version}`);
  fs.writeFileSync(KERNEL_MARKER, `${JSON.stringify(k, null, 2)}\n`);
  return k;
}

// ---------------------------------------------------------------------------------------
// Checking a disk image

const BOOT_FILES = ['vmlinux', 'initrd', 'syslinux.cfg', 'ldlinux.sys', 'ldlinux.c32'];

/**
 * Checks a baked disk: one active Linux partition from sector 2048 to the end
 * (sfdisk --json), syslinux's MBR boot code, `e2fsck -fn` of the partition (copied out
 * sparse: e2fsck takes no offset), /boot's files with the kernel's size, the UUID.
 * Returns { ok, problems: [...], uuid }.
 */
function checkDisk(img, expect) {
  const problems = [];
  const bytes = fs.statSync(img).size;
  if (bytes !== expect.bytes) problems.push(`image is ${bytes} bytes, expected ${expect.bytes}`);
  const sf = run('sfdisk', ['--json', img]);
  if (sf.status !== 0) problems.push(`sfdisk --json: exit ${sf.status}: ${sf.stderr.trim()}`);
  else {
    let pt;
    try {
      pt = JSON.parse(sf.stdout).partitiontable;
    } catch {
      problems.push('sfdisk --json: not JSON');
    }
    if (pt) {
      const p = pt.partitions ?? [];
      const wantSize = bytes / 512 - 2048;
      if (pt.label !== 'dos') problems.push(`partition table ${pt.label}, expected dos`);
      if (p.length !== 1) problems.push(`${p.length} partitions, expected 1`);
      else if (p[0].start !== 2048 || p[0].size !== wantSize || p[0].type !== '83' || p[0].bootable !== true) {
        problems.push(`partition ${JSON.stringify(p[0])}, expected start 2048, size ${wantSize}, type 83, bootable`);
      }
    }
  }
  if (fs.existsSync(MBR_BIN)) {
    const mbr = fs.readFileSync(MBR_BIN).subarray(0, 440);
    const fd = fs.openSync(img, 'r');
    const head = Buffer.alloc(440);
    fs.readSync(fd, head, 0, 440, 0);
    fs.closeSync(fd);
    if (!head.subarray(0, mbr.length).equals(mbr)) problems.push(`the MBR boot code is not ${MBR_BIN}`);
  }
  const part = `${img}.part`;
  let uuid = null;
  try {
    runOrThrow('dd', [`if=${img}`, `of=${part}`, 'bs=1M', `skip=${PART_OFFSET / 2 ** 20}`, 'conv=sparse', 'status=none']);
    const fk = run('e2fsck', ['-fn', part]);
    if (fk.status !== 0) problems.push(`e2fsck -fn: exit ${fk.status}: ${`${fk.stdout}${fk.stderr}`.trim().split('\n').slice(0, 10).join(' | ')}`);
    const ls = run('debugfs', ['-R', 'ls -p /boot', part]);
    const files = new Map();
    for (const line of ls.stdout.split('\n')) {
      // /ino/mode/uid/gid/name/size/
      const f = line.split('/');
      if (f.length >= 7) files.set(f[5], Number(f[6]));
    }
    const missing = BOOT_FILES.filter((f) => !files.has(f));
    if (missing.length) problems.push(`/boot lacks ${missing.join(', ')}`);
    if (files.has('vmlinux') && files.get('vmlinux') !== expect.kernelBytes) problems.push(`/boot/vmlinux is ${files.get('vmlinux')} bytes, the kernel ${expect.kernelBytes}`);
    const st = run('dumpe2fs', ['-h', part]);
    uuid = /^Filesystem UUID:\s*(\S+)/m.exec(st.stdout)?.[1] ?? null;
    if (expect.uuid && uuid !== expect.uuid) problems.push(`filesystem UUID ${uuid}, expected ${expect.uuid}`);
  } finally {
    fs.rmSync(part, { force: true });
  }
  return { ok: problems.length === 0, problems, uuid };
}

/** `cake-img initrd` alone must give the very initrd that bake put into its image. */
function checkInitrd(file, fromImage) {
  const problems = [];
  const t = run('gzip', ['-t', file]);
  if (t.status !== 0) problems.push(`gzip -t: exit ${t.status}: ${t.stderr.trim()}`);
  else if (!fs.readFileSync(file).equals(fs.readFileSync(fromImage))) problems.push('not the same bytes as /boot/initrd in the cake-img image');
  return { ok: problems.length === 0, problems };
}

function sha256File(file) {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(8 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Why the loop-device references cannot run here, or null when they can. */
function referenceUnavailable() {
  if (!isRoot()) return 'not root: the loop-device recipe needs losetup and mount (run the benchmark as root to time it)';
  for (const [cmd, pkg] of [['rsync', 'rsync'], ['extlinux', 'extlinux'], ['fdisk', 'fdisk'], ['losetup', 'mount'], ['fallocate', 'util-linux'], ['debugfs', 'e2fsprogs']]) {
    if (!ensureTool(cmd, pkg)) return `${cmd} is missing and could not be installed (apt-get install ${pkg})`;
  }
  if (!fs.existsSync(MBR_BIN)) {
    run('apt-get', ['install', '-y', '-q', 'syslinux-common'], { env: { ...CHILD_ENV, DEBIAN_FRONTEND: 'noninteractive' } });
    if (!fs.existsSync(MBR_BIN)) return `${MBR_BIN} is missing (apt-get install syslinux-common)`;
  }
  const lo = run('losetup', ['--find']);
  if (lo.status !== 0) return `no free loop device (losetup --find: ${lo.stderr.trim()})`;
  return null;
}

// ---------------------------------------------------------------------------------------

async function benchTree(treeName, runs, policy, kernel, refSkip) {
  const t = await prepareTree(treeName);
  if (t.skipped) return { name: treeName, skipped: t.skipped };
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const size = SIZES[treeName];
  const bytes = sizeBytes(size);
  const imgs = Object.fromEntries(Object.keys(TOOLS).map((k) => [k, path.join(OUT_DIR, `${treeName}.bake-${k}.img`)]));
  imgs.initrd = path.join(OUT_DIR, `${treeName}.bake-initrd.gz`);
  const initrd = path.join(OUT_DIR, `${treeName}.initrd`);
  const res = { name: treeName, title: TREES[treeName].title, how: t.how, stats: t.stats, size, sizeBytes: bytes, notes: [] };
  const env = cakeEnv();
  const kernelBytes = fs.statSync(kernel.vmlinuz).size;
  try {
    // An untimed cake-img run first: it must work, and its image gives the initrd and the
    // UUID that the references reuse (the references' initrd is made outside their timing).
    log(`${treeName}: untimed cake-img bake (${size}) for the initrd and UUID the references reuse`);
    fs.rmSync(imgs.cake, { force: true });
    const first = run(process.execPath, cakeArgs(t.dir, kernel.dir, size, imgs.cake), { env });
    if (first.status !== 0) throw new Error(`cake-img bake failed (exit ${first.status}): ${`${first.stderr}${first.stdout}`.trim().split('\n').slice(0, 8).join('\n')}`);
    // Paths relative to the checkout: RESULTS.md must not name this machine's directories.
    res.cakeSays = first.stdout.trim().split('\n').at(-1).replaceAll(`${REPO_DIR}/`, '');
    const ck0 = checkDisk(imgs.cake, { bytes, kernelBytes });
    if (!ck0.ok) throw new Error(`the untimed cake-img image fails its check: ${ck0.problems.join('; ')}`);
    const uuid = ck0.uuid;
    res.uuid = uuid;
    runOrThrow('debugfs', ['-R', `dump /boot/initrd ${initrd}`, `${imgs.cake}?offset=${PART_OFFSET}`]);
    if (!fs.existsSync(initrd) || fs.statSync(initrd).size === 0) throw new Error('could not dump /boot/initrd out of the cake-img image');
    res.initrdBytes = fs.statSync(initrd).size;

    const tools = refSkip ? ['cake', 'initrd'] : ['cake', 'loop', 'mkfsd', 'initrd'];
    if (refSkip) res.notes.push(`the references were not run: ${refSkip}`);
    if (policy === 'warm' && !refSkip) {
      for (const k of ['loop', 'mkfsd']) {
        log(`${treeName}: untimed ${TOOLS[k]} (warm cache)`);
        const r = run('sh', loopArgs(k, t.dir, kernel, initrd, size, uuid, imgs[k]));
        if (r.status !== 0) throw new Error(`${TOOLS[k]} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-8).join('\n')}`);
      }
    }
    const times = Object.fromEntries(tools.map((k) => [k, []]));
    const checks = Object.fromEntries(tools.map((k) => [k, { checked: 0, failed: 0, failures: [] }]));
    const cakeHashes = new Set();
    for (let i = 0; i < runs; i++) {
      const order = tools.map((_, j) => tools[(i + j) % tools.length]); // rotate who goes first
      for (const k of order) {
        fs.rmSync(imgs[k], { force: true });
        if (policy === 'cold') dropCaches();
        const r = k === 'cake' ? timeCommand(process.execPath, cakeArgs(t.dir, kernel.dir, size, imgs[k]), { env })
          : k === 'initrd' ? timeCommand(process.execPath, initrdArgs(kernel, uuid, imgs[k]), { env })
            : timeCommand('sh', loopArgs(k, t.dir, kernel, initrd, size, uuid, imgs[k]));
        if (r.status !== 0) throw new Error(`${TOOLS[k]} failed in run ${i + 1} (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-8).join('\n')}`);
        // cake-img does not fsync its image; the recipe ends with `sync`.
        const fsync = k === 'cake' ? timeFsync(imgs[k]) : 0;
        const ck = k === 'initrd' ? checkInitrd(imgs[k], initrd) : checkDisk(imgs[k], { bytes, kernelBytes, uuid });
        checks[k].checked++;
        if (!ck.ok) {
          checks[k].failed++;
          checks[k].failures.push(`run ${i + 1}: ${ck.problems.join('; ')}`);
        }
        if (k === 'cake') cakeHashes.add(sha256File(imgs[k]));
        times[k].push({ wall: r.wall, fsync, rssKiB: r.rssKiB, user: r.user, sys: r.sys, othersCpu: r.othersCpu });
        log(`${treeName}: run ${i + 1}/${runs} ${TOOLS[k]} ${fmtSec(r.wall)}${k === 'cake' ? ` (+fsync ${fmtSec(fsync)})` : ''}, CPU ${fmtSec((r.user ?? 0) + (r.sys ?? 0))}, peak RSS ${fmtBytes(r.rssKiB * 1024)}; check ${ck.ok ? 'ok' : `FAILED: ${ck.problems.join('; ')}`}`);
        fs.rmSync(imgs[k], { force: true });
      }
    }
    for (const k of tools) res[k] = summarizeRuns(times[k]);
    if (res.loop) {
      res.ratioLoop = res.cake.median / res.loop.median;
      res.ratioLoopDurable = res.cake.medianDurable / res.loop.median;
    }
    if (res.loop && res.initrd) res.ratioLoopPlusInitrd = res.cake.median / (res.loop.median + res.initrd.median);
    if (res.mkfsd) {
      res.ratioMkfsd = res.cake.median / res.mkfsd.median;
      res.ratioMkfsdDurable = res.cake.medianDurable / res.mkfsd.median;
    }
    res.checks = checks;
    res.fsck = { checked: checks.cake.checked, failed: checks.cake.failed }; // run.mjs's exit code looks here
    res.cakeDeterministic = cakeHashes.size === 1;
    if (cakeHashes.size > 1) res.notes.push(`cake-img wrote ${cakeHashes.size} different images in ${runs} runs of the same inputs`);
    if (checks.cake.failed) res.notes.push(`cake-img image FAILED its check in ${checks.cake.failed} of ${checks.cake.checked} runs: ${checks.cake.failures[0]}`);
    for (const k of ['loop', 'mkfsd', 'initrd']) {
      if (checks[k]?.failed) res.notes.push(`the ${TOOLS[k]} image failed its check in ${checks[k].failed} of ${checks[k].checked} runs: ${checks[k].failures[0]}`);
    }
  } catch (e) {
    res.error = (e instanceof Error ? e.message : String(e)).trim();
    log(`${treeName}: ERROR: ${res.error}`);
  } finally {
    for (const f of [...Object.values(imgs), initrd]) fs.rmSync(f, { force: true });
  }
  return res;
}

export async function main(argv) {
  const o = parseTreeArgs(argv, Object.keys(SIZES).filter((t) => TREE_NAMES.includes(t)), DEFAULT_TREES);
  if (!fs.existsSync(CAKE_MAIN)) throw new Error(`${path.relative(process.cwd(), CAKE_MAIN)} is missing: run \`npm run build\` first (npm run bench does)`);
  for (const [cmd, pkg] of [['sfdisk', 'fdisk'], ['e2fsck', 'e2fsprogs'], ['debugfs', 'e2fsprogs'], ['dumpe2fs', 'e2fsprogs'], ['dpkg-deb', 'dpkg'], ['depmod', 'kmod']]) {
    if (!which(cmd) && !ensureTool(cmd, pkg)) throw new Error(`${cmd} is not on PATH (${pkg})`);
  }
  // cake-img bake takes extlinux's pieces from the host when it has them (and fetches
  // Debian's packages itself otherwise); as root, install them as the recipe needs them.
  if (isRoot() && (!which('extlinux') || !fs.existsSync(MBR_BIN))) {
    log('apt-get install -y extlinux syslinux-common');
    run('apt-get', ['install', '-y', '-q', 'extlinux', 'syslinux-common'], { env: { ...CHILD_ENV, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  const policy = getCachePolicy();
  log(policy === 'cold'
    ? 'cache: cold, the page cache is dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every timed run'
    : 'cache: warm, cannot drop the page cache (not root); each command runs once untimed before the timed runs');
  const refSkip = referenceUnavailable();
  if (refSkip) log(`references skipped: ${refSkip}`);
  const kernel = prepareKernel();
  const tools = debVersions(['e2fsprogs', 'util-linux', 'fdisk', 'rsync', 'extlinux', 'syslinux-common']);
  const built = distBuilt();
  const started = Date.now();
  const results = [];
  for (const t of o.trees) results.push(await benchTree(t, o.runs, policy, kernel, refSkip));
  return finishRun(results, { runs: o.runs, policy, tools, kernel: { pkg: kernel.pkg, deb: kernel.deb, how: kernel.how } }, built, started);
}

// ---------------------------------------------------------------------------------------
// Report

export function targetChecks(byTree) {
  const out = [];
  for (const t of TARGETS.ratioLoop.trees) {
    const r = byTree[t];
    const what = `cake-img bake ≤ ${TARGETS.ratioLoop.max} × the loop-device path`;
    if (!r || r.skipped || r.error || r.ratioLoop === undefined) out.push({ tree: t, what, status: 'not measured' });
    else {
      const ok = r.ratioLoop <= TARGETS.ratioLoop.max;
      const okD = r.ratioLoopDurable <= TARGETS.ratioLoop.max;
      out.push({ tree: t, what, status: `${ok ? 'met' : 'NOT met'}: ${r.ratioLoop.toFixed(2)} (with fsync of cake-img's image: ${r.ratioLoopDurable.toFixed(2)}, ${okD ? 'met' : 'not met'})` });
    }
  }
  return out;
}

const ckCell = (c) => (!c ? '–' : c.failed === 0 ? `ok ${c.checked}/${c.checked}` : `**FAILED ${c.failed}/${c.checked}**`);

export function render(data) {
  const L = [];
  const rows = TREE_NAMES.map((t) => data.items[t]).filter(Boolean);
  L.push('## bake: `cake-img bake` vs the loop-device recipe and vs `mkfs.ext4 -d` + extlinux');
  L.push('');
  L.push(`Target (from the issue): cake-img bake ≤ ${TARGETS.ratioLoop.max} × the loop-device path (a) on the Debian minbase.`);
  L.push('');
  L.push('| tree | entries | bytes | disk | cake-img median | cake-img + fsync | (a) loop + rsync | (b) mkfs.ext4 -d | ratio vs (a) | ratio vs (a), with fsync | ratio vs (b) | ratio vs (b), with fsync | cake-img peak RSS | (a) peak RSS | (b) peak RSS | cake-img initrd alone | checks cake-img / (a) / (b) / initrd | measured |');
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  const ratio = (x) => (typeof x === 'number' ? x.toFixed(2) : '–');
  for (const r of rows) {
    const s = r.stats ?? {};
    if (r.skipped && !r.cake) {
      L.push(`| ${r.name} | – | – | – | – | – | – | – | – | – | – | – | – | – | – | – | – | skipped ${r.date ?? ''} |`);
      continue;
    }
    if (r.error) {
      L.push(`| ${r.name} | ${fmtInt(s.entries)} | ${fmtBytes(s.bytes)} | ${r.size} | FAILED | | | | | | | | | | | | | ${r.date} |`);
      continue;
    }
    L.push(`| ${r.name} | ${fmtInt(s.entries)} | ${fmtBytes(s.bytes)} | ${r.size} | ${fmtSec(r.cake.median)} | ${fmtSec(r.cake.medianDurable)} | ${r.loop ? fmtSec(r.loop.median) : 'skipped'} | ${r.mkfsd ? fmtSec(r.mkfsd.median) : 'skipped'} | ${typeof r.ratioLoop === 'number' ? `**${ratio(r.ratioLoop)}**` : '–'} | ${ratio(r.ratioLoopDurable)} | ${ratio(r.ratioMkfsd)} | ${ratio(r.ratioMkfsdDurable)} | ${fmtBytes(r.cake.peakRssKiB * 1024)} | ${r.loop ? fmtBytes(r.loop.peakRssKiB * 1024) : '–'} | ${r.mkfsd ? fmtBytes(r.mkfsd.peakRssKiB * 1024) : '–'} | ${r.initrd ? fmtSec(r.initrd.median) : '–'} | ${ckCell(r.checks?.cake)} / ${ckCell(r.checks?.loop)} / ${ckCell(r.checks?.mkfsd)} / ${ckCell(r.checks?.initrd)} | ${r.date}, ${r.runs} runs, ${r.policy} cache |`);
  }
  renderFooter(L, rows, data, targetChecks(data.items));
  const kernels = [...new Set(rows.map((r) => r.kernel?.how).filter(Boolean))];
  if (kernels.length) L.push(`- Kernel: ${kernels.join('; ')}; unpacked into bench/scratch/kernel.`);
  L.push('');
  L.push('Columns: *disk* is the image size every tool gets. Times are medians of whole-command wall times. The recipe ends with `sync` and cake-img does not fsync its image, so *cake-img + fsync* adds `sync IMG` after it and the *with fsync* ratios compare durable images. Peak RSS is GNU time\'s maximum resident set size (for the scripts: their largest process; the kernel\'s loop and writeback work is in no process). *checks*: every image of every tool, after its timed run: `sfdisk --json` (a dos label, one partition: start 2048, to the end, type 83, active), the first 440 bytes are syslinux\'s `mbr.bin`, `e2fsck -fn` of the partition (copied out with `dd conv=sparse`: e2fsck takes no offset), /boot holds vmlinux (the kernel\'s size), initrd, syslinux.cfg, ldlinux.sys and ldlinux.c32, and the filesystem UUID is cake-img\'s. *cake-img initrd alone*: `cake-img initrd` with the same kernel, modules and UUID, timed like the others: the part of cake-img\'s work that (a) and (b) are given ready-made (its output must be byte for byte the /boot/initrd of cake-img\'s image). *cold cache*: `sync; echo 3 > /proc/sys/vm/drop_caches` before every timed run; *warm cache*: one untimed run first. The tools take turns going first.');
  L.push('');
  L.push('Commands (the initrd for (a) and (b) is the one in cake-img\'s image, dumped once with `debugfs -R \'dump /boot/initrd F\'` and not timed; UUID: the one cake-img derived):');
  L.push('');
  L.push('```');
  L.push(`node dist/cli/main.js bake --rootfs TREE --kernel KERNELDIR --modules ${MODULES} --options '${CMDLINE}' --size SIZE -o cake.img`);
  L.push('sh bench/bake-loop.sh TREE KERNELDIR/boot/vmlinuz-VERSION INITRD SIZE UUID loop.img            # (a)');
  L.push('sh bench/bake-loop.sh --mkfs-d TREE KERNELDIR/boot/vmlinuz-VERSION INITRD SIZE UUID mkfsd.img  # (b)');
  L.push(`node dist/cli/main.js initrd --kernel-modules KERNELDIR/lib/modules/VERSION --modules ${MODULES} --root-uuid UUID -o initrd.gz`);
  L.push('```');
  L.push('');
  L.push('(a) is the original recipe: `fallocate -l SIZE`; `printf \'o\\nn\\np\\n1\\n2048\\n\\na\\nw\\n\' | fdisk IMG`; `dd bs=440 count=1 conv=notrunc if=/usr/lib/syslinux/mbr/mbr.bin`; `losetup --find --show --offset $((2048*512))`; `mkfs.ext4 -q -U UUID LOOP` (mke2fs.conf defaults); mount; `rsync --archive --chown=0:0 TREE/ MNT/`; /boot/vmlinux, /boot/initrd, /boot/syslinux.cfg; `extlinux --install MNT/boot --heads 64 --sectors 32`; umount; `losetup -d`; `sync`. (b) is the same disk with the filesystem written offline: `mkfs.ext4 -q -F -U UUID -E offset=1048576 -d TREE IMG (SIZE-1MiB)` (owners as in the tree: no `--chown`), /boot added with `debugfs -w` (`mkdir`, `write`: as if the tree had had /boot already, so no copy of the tree is made or timed), then the loop device and mount only for `extlinux --install`, umount, `losetup -d`, `sync`. cake-img keeps the tree\'s owners too. mke2fs picks its own geometry in (a) and (b) (1 KiB blocks below 512 MiB), cake-img its own (4 KiB blocks).');
  const notes = [];
  for (const r of rows) {
    if (r.skipped && !r.cake) notes.push(`${r.name}: **skipped**: ${r.skipped}`);
    if (r.error) notes.push(`${r.name}: ERROR: ${r.error}`);
    for (const n of r.notes ?? []) notes.push(`${r.name}: ${n}`);
    if (r.cake) {
      const walls = (x) => `[${x.runs.map((y) => y.wall.toFixed(2)).join(', ')}] s`;
      notes.push(`${r.name}: all wall times cake-img ${walls(r.cake)} (fsync after it [${r.cake.runs.map((y) => y.fsync.toFixed(2)).join(', ')}] s)${r.loop ? `, (a) ${walls(r.loop)}` : ''}${r.mkfsd ? `, (b) ${walls(r.mkfsd)}` : ''}; CPU (user+sys) medians cake-img ${fmtSec(r.cake.medianCpu)}${r.loop ? `, (a) ${fmtSec(r.loop.medianCpu)}` : ''}${r.mkfsd ? `, (b) ${fmtSec(r.mkfsd.medianCpu)}` : ''}.`);
      if (r.initrd) notes.push(`${r.name}: \`cake-img initrd\` alone: [${r.initrd.runs.map((y) => y.wall.toFixed(2)).join(', ')}] s, CPU median ${fmtSec(r.initrd.medianCpu)}${typeof r.ratioLoopPlusInitrd === 'number' ? `; cake-img bake / ((a) + cake-img initrd), i.e. if the recipe had to make its initrd the same way: ${r.ratioLoopPlusInitrd.toFixed(2)}` : ''}.`);
      notes.push(`${r.name}: cake-img's image: UUID ${r.uuid}, initrd ${fmtInt(r.initrdBytes)} bytes, ${r.cakeDeterministic ? 'the same bytes in every run' : 'NOT the same bytes in every run'}.`);
      const oc = othersCpuNote([...r.cake.runs, ...(r.loop?.runs ?? []), ...(r.mkfsd?.runs ?? [])]);
      if (oc) notes.push(`${r.name}: ${oc} (for (a) and (b) this includes the kernel's loop-device and writeback work they cause).`);
    }
    if (r.skippedLater) notes.push(`${r.name}: the latest attempt (${r.skippedLater.date}) was skipped: ${r.skippedLater.reason}; the row is from the earlier run.`);
  }
  renderNotes(L, notes);
  return L.join('\n');
}
