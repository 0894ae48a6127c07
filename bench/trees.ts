// Source trees for the benchmarks, prepared once into bench/scratch/ (git-ignored) and reused.
// Each tree is finished by writing bench/scratch/NAME.json (how it was made and what it
// holds); a directory without that file is a half-made tree and is made again.
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CakeError } from '../src/util/errors.js';
import { downloadDeb } from '../src/host/debian.js';
import { WORK_DIR, ensureTool, isRoot, log, run, runOrThrow } from './host.js';

const SPEC_VERSION = 1;

/** What a tree holds: entries below the root, directories, regular files (by inode) and their bytes. */
export interface TreeStats {
  entries: number;
  dirs: number;
  files: number;
  bytes: number;
  hardLinkNames: number;
  symlinks: number;
  other: number;
}

export type TreeName = 'busybox' | 'debian' | 'synthetic';

export interface Tree {
  name: string;
  dir: string;
  stats: TreeStats;
  how: string;
}

interface TreeDef {
  title: string;
  how: string;
  /** Makes the tree in `dir`; returns how it was made (for the report). */
  make: (dir: string) => Promise<string> | string;
}

export const TREES: Record<TreeName, TreeDef> = {
  busybox: {
    title: 'busybox rootfs',
    how: 'apt-get download busybox-static; dpkg-deb -x; a symlink for every applet of `busybox --list-full`; /etc with a few files; /dev /proc /sys /tmp',
    make: makeBusybox,
  },
  debian: {
    title: 'Debian bookworm minbase',
    how: 'mmdebstrap --variant=minbase bookworm DIR [host apt sources]',
    make: makeDebian,
  },
  synthetic: {
    title: 'synthetic 100k files / 1 GiB',
    how: 'seeded PRNG: 100,000 regular files totalling 1 GiB (one directory of 20,000 entries, nested dirs, sizes from 0 B to MiBs), hard links, symlinks',
    make: makeSynthetic,
  },
};

export const TREE_NAMES = Object.keys(TREES) as TreeName[];

/** The debs directory of bench/scratch: the .deb files the trees come from. */
const DEBS = path.join(WORK_DIR, 'debs');

/**
 * The .deb of `pkg` in bench/scratch/debs, fetched rootless (cake-img's own fetch, checked
 * against the apt lists) when missing; as root, an `apt-get update` first when the lists
 * do not know it.
 */
export async function benchDeb(pkg: string): Promise<{ file: string; path: string }> {
  let got;
  try {
    got = await downloadDeb(pkg, DEBS);
  } catch (e) {
    if (!(e instanceof CakeError) || !isRoot) throw e;
    run('apt-get', ['update', '-q']);
    got = await downloadDeb(pkg, DEBS);
  }
  return { file: got.ref.file, path: got.path };
}

/**
 * A ready tree, made first when needed, or { name, skipped: reason } when it cannot be
 * made here.
 */
export async function prepareTree(name: string): Promise<Tree | { name: string; skipped: string }> {
  const def = TREES[name as TreeName];
  if (!def) throw new Error(`unknown tree ${JSON.stringify(name)} (known: ${TREE_NAMES.join(', ')})`);
  const dir = path.join(WORK_DIR, name);
  const marker = path.join(WORK_DIR, `${name}.json`);
  if (fs.existsSync(marker) && fs.existsSync(dir)) {
    const m = JSON.parse(fs.readFileSync(marker, 'utf8')) as { spec: number; made: string; stats: TreeStats; how: string };
    if (m.spec === SPEC_VERSION) {
      log(`tree ${name}: reusing ${path.relative(process.cwd(), dir) || dir} (made ${m.made}; delete ${path.basename(marker)} to remake)`);
      return { name, dir, stats: m.stats, how: m.how };
    }
  }
  fs.mkdirSync(WORK_DIR, { recursive: true });
  fs.rmSync(marker, { force: true });
  if (fs.existsSync(dir)) {
    log(`tree ${name}: removing a half-made ${dir}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  log(`tree ${name}: making it (${def.how})`);
  const t0 = Date.now();
  let how: string;
  try {
    how = await def.make(dir);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    const reason = (e instanceof Error ? e.message : String(e)).trim();
    log(`tree ${name}: SKIPPED: ${reason}`);
    return { name, skipped: reason };
  }
  const stats = treeStats(dir);
  const made = new Date().toISOString();
  fs.writeFileSync(marker, `${JSON.stringify({ spec: SPEC_VERSION, made, how: how ?? def.how, stats }, null, 2)}\n`);
  log(`tree ${name}: made in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${stats.files} files, ${stats.bytes} bytes, ${stats.entries} entries`);
  return { name, dir, stats, how: how ?? def.how };
}

/** Counts a tree: entries below the root, directories, regular files (by inode), their bytes. */
export function treeStats(root: string): TreeStats {
  const s: TreeStats = { entries: 0, dirs: 0, files: 0, bytes: 0, hardLinkNames: 0, symlinks: 0, other: 0 };
  const seen = new Set<string>();
  const stack = [root];
  while (stack.length) {
    const d = stack.pop()!;
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p, { bigint: true });
      s.entries++;
      if (st.isDirectory()) {
        s.dirs++;
        stack.push(p);
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) {
          s.hardLinkNames++;
        } else {
          seen.add(key);
          s.files++;
          s.bytes += Number(st.size);
        }
      } else if (st.isSymbolicLink()) s.symlinks++;
      else s.other++;
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// (a) busybox

async function makeBusybox(dir: string): Promise<string> {
  const { file: deb, path: debPath } = await benchDeb('busybox-static');
  fs.mkdirSync(dir, { recursive: true });
  runOrThrow('dpkg-deb', ['-x', debPath, dir]);
  const bb = ['bin/busybox', 'usr/bin/busybox'].map((p) => path.join(dir, p)).find((p) => fs.existsSync(p));
  if (!bb) throw new Error(`no busybox binary in ${deb}`);
  const bbTarget = `/${path.relative(dir, bb)}`;
  // `busybox --install -s`, done by hand so that it lands in DIR and not on the host.
  const applets = runOrThrow(bb, ['--list-full']).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  let links = 0;
  for (const a of applets) {
    const p = path.join(dir, a);
    if (fs.existsSync(p) || isSymlink(p)) continue;
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.symlinkSync(bbTarget, p);
    links++;
  }
  for (const d of ['dev', 'proc', 'sys', 'tmp', 'root', 'etc/init.d', 'var/log', 'var/run', 'home']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  fs.chmodSync(path.join(dir, 'root'), 0o700);
  const etc: Record<string, string> = {
    passwd: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    group: 'root:x:0:\nnogroup:x:65534:\n',
    shadow: 'root::19000:0:99999:7:::\n',
    hostname: 'cake\n',
    hosts: '127.0.0.1 localhost\n::1 localhost\n',
    fstab: 'proc /proc proc defaults 0 0\nsysfs /sys sysfs defaults 0 0\n',
    inittab: '::sysinit:/etc/init.d/rcS\n::askfirst:-/bin/sh\n::ctrlaltdel:/sbin/reboot\n::shutdown:/bin/umount -a -r\n',
    profile: 'export PATH=/sbin:/usr/sbin:/bin:/usr/bin\nexport PS1="# "\n',
    'init.d/rcS': '#!/bin/sh\nmount -a\nhostname -F /etc/hostname\n',
  };
  for (const [f, text] of Object.entries(etc)) fs.writeFileSync(path.join(dir, 'etc', f), text);
  fs.chmodSync(path.join(dir, 'etc/shadow'), 0o600);
  fs.chmodSync(path.join(dir, 'etc/init.d/rcS'), 0o755);
  return `apt-get download busybox-static (${deb}); dpkg-deb -x; ${links} applet symlinks to ${bbTarget} from \`busybox --list-full\`; /etc with ${Object.keys(etc).length} files; /dev /proc /sys /tmp`;
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// (b) Debian minbase

/** The host's apt source files that name bookworm (the mirror the host is allowed to use). */
function hostBookwormSources(): string[] {
  const out: string[] = [];
  const cands = ['/etc/apt/sources.list'];
  try {
    for (const f of fs.readdirSync('/etc/apt/sources.list.d').sort()) {
      if (f.endsWith('.list') || f.endsWith('.sources')) cands.push(path.join('/etc/apt/sources.list.d', f));
    }
  } catch {
    /* none */
  }
  for (const f of cands) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const live = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')).join('\n');
    if (/\bbookworm\b/.test(live) && /debian/i.test(live) && !/Enabled:\s*no/i.test(live)) out.push(f);
  }
  return out;
}

function makeDebian(dir: string): string {
  if (!ensureTool('mmdebstrap', 'mmdebstrap')) throw new Error('mmdebstrap is not installed and could not be installed (apt-get install mmdebstrap needs root)');
  const logFile = path.join(WORK_DIR, 'debian-mmdebstrap.log');
  const attempts: { label: string; mirrors: string[] }[] = [];
  const sources = hostBookwormSources();
  if (sources.length) attempts.push({ label: `the host's apt sources (${sources.join(', ')})`, mirrors: sources });
  attempts.push({ label: "mmdebstrap's default mirror", mirrors: [] });
  const errors: string[] = [];
  for (const a of attempts) {
    fs.rmSync(dir, { recursive: true, force: true });
    const args = ['--variant=minbase', '--mode=auto', 'bookworm', dir, ...a.mirrors];
    log(`  mmdebstrap ${args.join(' ')}   (log: ${logFile})`);
    const r = run('mmdebstrap', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    fs.writeFileSync(logFile, `$ mmdebstrap ${args.join(' ')}\n${r.stdout}${r.stderr}`);
    if (r.status === 0 && fs.existsSync(path.join(dir, 'usr/bin'))) {
      return `mmdebstrap --variant=minbase bookworm DIR, with ${a.label}`;
    }
    const tail = `${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ');
    errors.push(`with ${a.label}: exit ${r.status}: ${tail}`);
    log(`  mmdebstrap failed ${errors.at(-1)}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error(`mmdebstrap could not make a bookworm minbase here (${errors.join('; ')}); see ${logFile}`);
}

// ---------------------------------------------------------------------------------------
// (c) synthetic: 100,000 files, 1 GiB, deterministic

const SYN = {
  seed: 0x5eed_cace,
  files: 100_000,
  bigDirFiles: 20_000,
  totalBytes: 2 ** 30,
  dirs: 2_500,
  maxDepth: 7,
  largeFiles: 160,
  hardLinks: 12,
  symlinks: 300,
  emptyDirs: 8,
  mtime: 1_700_000_000,
};

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SynFile {
  path: string;
  size: number;
  mode?: number;
  weight?: number;
}

function makeSynthetic(dir: string): string {
  const rnd = prng(SYN.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1)); // inclusive
  const pick = <T>(arr: T[]): T => arr[Math.floor(rnd() * arr.length)]!;
  const word = (n: number) => Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyz0123456789_-'[int(0, 37)]).join('');

  // Content: a 16 MiB pool of AES-256-CTR keystream (incompressible, no zero blocks that
  // mke2fs -d would turn into holes); each file copies from a seeded offset, wrapping.
  const POOL = 16 << 20;
  const key = createHash('sha256').update(`cake-img bench ${SYN.seed}`).digest();
  const pool = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(POOL));

  // Directories: "big" (20,000 entries) and a nested tree of dNNNN directories.
  const dirs = ['tree'];
  const depth = new Map([['tree', 1]]);
  for (let i = 0; i < SYN.dirs; i++) {
    let parent = pick(dirs);
    while (depth.get(parent)! >= SYN.maxDepth) parent = pick(dirs);
    const d = `${parent}/d${String(i).padStart(4, '0')}${rnd() < 0.3 ? `-${word(int(3, 20))}` : ''}`;
    dirs.push(d);
    depth.set(d, depth.get(parent)! + 1);
  }

  // Files: 20,000 small ones in big/, the rest spread over the tree; sizes are planned
  // first, then the large files share what is left so the total is exactly 1 GiB.
  const files: SynFile[] = [];
  for (let i = 0; i < SYN.bigDirFiles; i++) {
    files.push({ path: `big/f${String(i).padStart(5, '0')}-${word(int(1, 40))}`, size: Math.floor(rnd() ** 2 * 4096) });
  }
  const rest = SYN.files - SYN.bigDirFiles;
  const largeIdx = new Set<number>();
  while (largeIdx.size < SYN.largeFiles) largeIdx.add(int(0, rest - 1));
  let planned = files.reduce((a, f) => a + f.size, 0);
  const large: SynFile[] = [];
  for (let i = 0; i < rest; i++) {
    const r = rnd();
    const f: SynFile = { path: `${pick(dirs)}/${word(int(2, 24))}.${String(i).padStart(5, '0')}`, size: 0, mode: rnd() < 0.1 ? 0o755 : 0o644 };
    if (largeIdx.has(i)) {
      f.weight = 0.25 + rnd() * 2; // a share of what is left
      large.push(f);
    } else if (r < 0.7) f.size = Math.floor(rnd() ** 2 * 8192); // 0 B .. 8 KiB, most of them small
    else f.size = int(8192, 40960); // 8 .. 40 KiB
    planned += f.size;
    files.push(f);
  }
  const left = SYN.totalBytes - planned;
  if (left < large.length * 65536) throw new Error('synthetic tree plan: the small files already take the whole budget');
  const totalWeight = large.reduce((a, f) => a + f.weight!, 0);
  let given = 0;
  large.forEach((f, i) => {
    f.size = i === large.length - 1 ? left - given : Math.floor((left * f.weight!) / totalWeight);
    given += f.size;
  });

  fs.mkdirSync(path.join(dir, 'big'), { recursive: true });
  for (const d of dirs) fs.mkdirSync(path.join(dir, d), { recursive: true });
  for (let i = 0; i < SYN.emptyDirs; i++) fs.mkdirSync(path.join(dir, pick(dirs), `empty${i}`), { recursive: true });

  const stamp = new Date(SYN.mtime * 1000);
  let written = 0;
  for (const f of files) {
    const p = path.join(dir, f.path);
    const fd = fs.openSync(p, 'w', f.mode ?? 0o644);
    let off = int(0, POOL - 1);
    let left2 = f.size;
    while (left2 > 0) {
      const n = Math.min(left2, POOL - off, 1 << 20);
      fs.writeSync(fd, pool, off, n);
      left2 -= n;
      off = (off + n) % POOL;
    }
    fs.futimesSync(fd, stamp, stamp);
    fs.closeSync(fd);
    written++;
    if (written % 20000 === 0) log(`  synthetic: ${written} files written`);
  }

  // Hard links: some beside their file, some in a links/ directory.
  fs.mkdirSync(path.join(dir, 'links'), { recursive: true });
  for (let i = 0; i < SYN.hardLinks; i++) {
    const f = files[int(SYN.bigDirFiles, files.length - 1)]!;
    const to = i % 3 === 0 ? `${f.path}.hardlink${i}` : `links/hl${i}-${path.basename(f.path)}`;
    fs.linkSync(path.join(dir, f.path), path.join(dir, to));
  }
  // Symlinks: short (fast) relative ones, long (> 60 bytes, stored in a block) ones,
  // some to directories, a few dangling.
  for (let i = 0; i < SYN.symlinks; i++) {
    const from = pick(dirs);
    const r = rnd();
    let target: string;
    if (r < 0.05) target = `missing-${word(int(3, 30))}`;
    else if (r < 0.15) target = path.relative(from, pick(dirs)) || '.';
    else target = path.relative(from, pick(files).path);
    if (rnd() < 0.3) target = `${'./'.repeat(int(30, 60))}${target}`; // > 60 bytes, same target
    fs.symlinkSync(target, path.join(dir, from, `sl${i}`));
  }
  // Directory times last (making entries changed them), deepest first.
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) fs.utimesSync(path.join(dir, d), stamp, stamp);
  for (const d of ['big', 'links', '.']) fs.utimesSync(path.join(dir, d), stamp, stamp);
  return `seeded PRNG (mulberry32 seed 0x${SYN.seed.toString(16)}, AES-CTR content): ${SYN.files} files = ${SYN.totalBytes} bytes; big/ has ${SYN.bigDirFiles} entries; ${SYN.dirs} nested dirs (depth <= ${SYN.maxDepth}); ${SYN.largeFiles} files of MiBs; ${SYN.hardLinks} hard links; ${SYN.symlinks} symlinks`;
}
