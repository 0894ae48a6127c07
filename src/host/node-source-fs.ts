// SourceFs over the host filesystem. Synchronous calls on purpose: a tree walk is
// millions of tiny syscalls and the async versions cost a thread-pool hop each.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import type { DataRun, Timestamp, Xattr } from '../tree/node.js';
import { CakeError, ReadError, quote } from '../util/errors.js';
import { displayName } from '../tree/names.js';
import { startReadAhead } from './read-ahead.js';
import { type ScannedDir, type ScannedEntry, type TreeScan, takeTreeScan } from './tree-scan.js';
import type { SourceFs, SourceStat } from '../io/source-fs.js';
import { countWalked } from './jit-tiering.js';

type XattrModule = {
  listAttributesSync(path: string): string[];
  getAttributeSync(path: string, name: string): Buffer | null;
};

let xattrModule: XattrModule | null | undefined;
function loadXattr(): XattrModule | null {
  if (xattrModule === undefined) {
    try {
      xattrModule = createRequire(import.meta.url)('@napi-rs/xattr') as XattrModule;
    } catch {
      xattrModule = null;
    }
  }
  return xattrModule;
}

const NS = 1_000_000_000n;
function toTime(ns: bigint): Timestamp {
  let sec = ns / NS;
  let nsec = ns % NS;
  if (nsec < 0n) {
    nsec += NS;
    sec -= 1n;
  }
  return { sec: Number(sec), nsec: Number(nsec) };
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
/** Shared by every entry without xattrs; never mutated. */
const NO_XATTRS: Xattr[] = [];
const ASCII = /^[\x00-\x7f]*$/;

// Finds the data ranges of files with holes via lseek(SEEK_DATA/SEEK_HOLE). Node has no
// lseek, so a short perl (perl-base is Essential on Debian-family hosts) does it, for all
// candidate files in one process: paths come NUL-separated on stdin, "index start end"
// lines go out.
const SEEK_SCRIPT = String.raw`
local $/ = "\0"; my $i = -1;
while (my $p = <STDIN>) {
  chop $p; $i++;
  open(my $fh, '<', $p) or do { print "$i error\n"; next };
  my $size = -s $fh; my $pos = 0;
  while ($pos < $size) {
    my $d = sysseek($fh, $pos, 3); last unless defined $d; $d += 0;
    my $h = sysseek($fh, $d, 4); last unless defined $h; $h += 0;
    print "$i $d $h\n"; $pos = $h;
  }
  print "$i end\n"; close($fh);
}`;

/**
 * The data runs of host files (SEEK_DATA/SEEK_HOLE, one perl for all), each cut to its
 * size; undefined for a file that could not be opened or sought, null when perl could not run.
 */
export function seekDataRuns(paths: readonly Buffer[], sizes: readonly number[]): (DataRun[] | undefined)[] | null {
  let text: string;
  try {
    const input = Buffer.concat(paths.flatMap((p) => [p, Buffer.from([0])]));
    text = execFileSync('perl', ['-e', SEEK_SCRIPT], { input, encoding: 'latin1', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
  } catch {
    return null;
  }
  const runs: DataRun[][] = paths.map(() => []);
  const ended = new Set<number>();
  for (const line of text.split('\n')) {
    const m = /^(\d+) (?:(\d+) (\d+)|(end|error))$/.exec(line);
    if (!m) continue;
    const k = Number(m[1]);
    if (m[4]) {
      if (m[4] === 'end') ended.add(k);
      continue;
    }
    const offset = Number(m[2]);
    const end = Math.min(Number(m[3]), sizes[k]!);
    if (end > offset) runs[k]!.push({ offset, length: end - offset });
  }
  return runs.map((r, k) => (ended.has(k) ? r : undefined));
}

export class NodeSourceFs implements SourceFs {
  readonly rootPath: string;
  readonly withXattrs: boolean;
  warnings: string[] = [];
  private openPath: string | null = null;
  private openFd = -1;
  private rootSlash: Buffer | null = null;
  /** During a walk: perl's scan of the tree (host/tree-scan.ts), until it is done or fails. */
  private scan: TreeScan | null = null;
  /** The directory the walk is in, as the scan saw it, and the entry asked last. */
  private scanDir: ScannedDir | null = null;
  private scanDirPath = '';
  private lastPath: string | null = null;
  private lastEntry: ScannedEntry | undefined;
  /** Entries whose stat came from the scan (for tests and -v). */
  scanAnswered = 0;
  /** Data runs the scan found, by the stat it gave the walk (asked for after the walk). */
  private readonly scannedRuns = new WeakMap<SourceStat, DataRun[]>();

  private readonly startScan: (root: string) => TreeScan | null;

  /** `scan`: how a walk gets its scan (tests give a broken one; null: never scan). */
  constructor(rootPath: string, opts: { xattrs?: boolean; scan?: ((root: string) => TreeScan | null) | null } = {}) {
    this.rootPath = rootPath.replace(/\/+$/, '') || '/';
    this.withXattrs = opts.xattrs ?? true;
    this.startScan = opts.scan === null ? () => null : (opts.scan ?? takeTreeScan);
  }

  hostPathOf(path: string): Uint8Array {
    return this.host(path);
  }

  /** Host path as a Buffer, so names that are not UTF-8 survive. */
  private host(path: string): Buffer {
    if (path === '') return Buffer.from(this.rootPath, 'utf8');
    // One allocation per path: the copier asks for every file's path, twice.
    const prefix = (this.rootSlash ??= Buffer.from(`${this.rootPath}/`, 'utf8'));
    const out = Buffer.allocUnsafe(prefix.length + path.length);
    prefix.copy(out, 0);
    out.write(path, prefix.length, 'latin1');
    return out;
  }

  /**
   * The path to hand to fs calls: a plain string when the name is ASCII (nearly always;
   * it saves a Buffer per call on a walk of millions), else the exact bytes.
   */
  private arg(path: string): string | Buffer {
    if (path === '') return this.rootPath;
    return ASCII.test(path) ? `${this.rootPath}/${path}` : this.host(path);
  }

  private fail(path: string, e: unknown): never {
    const err = e as NodeJS.ErrnoException;
    const shown = path === '' ? this.rootPath : `${this.rootPath}/${displayName(path)}`;
    // "EACCES: permission denied, scandir '/x'" → "permission denied (EACCES)": the path is said once, first.
    const what = err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    throw new ReadError(quote(shown), `cannot read: ${what}${err.code ? ` (${err.code})` : ''}`, { errno: err.code });
  }

  lstat(path: string): SourceStat | Promise<SourceStat> {
    if (this.scan && path === '') {
      const scan = this.scan;
      return scan.rootEntry().then((e) => (e?.stat ? (this.scanAnswered++, e.stat) : this.lstatNow(path)));
    }
    const e = this.scanned(path);
    if (e?.stat) {
      if (e.dataRuns) this.scannedRuns.set(e.stat, e.dataRuns);
      this.scanAnswered++;
      return e.stat;
    }
    return this.lstatNow(path);
  }

  /** The scan's entry for `path` (in the directory being walked), if it has one. */
  private scanned(path: string): ScannedEntry | undefined {
    if (path === this.lastPath) return this.lastEntry;
    const dir = this.scanDir;
    if (!dir) return undefined;
    const slash = path.lastIndexOf('/');
    if ((slash < 0 ? '' : path.slice(0, slash)) !== this.scanDirPath) return undefined;
    this.lastPath = path;
    return (this.lastEntry = dir.entry(slash < 0 ? path : path.slice(slash + 1)));
  }

  private lstatNow(path: string): SourceStat {
    let st: fs.BigIntStats;
    try {
      st = fs.lstatSync(this.arg(path), { bigint: true });
    } catch (e) {
      this.fail(path, e);
    }
    const rdev = Number(st.rdev);
    return {
      mode: Number(st.mode),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: Number(st.size),
      blocks: Number(st.blocks),
      // Only hard-link candidates need a key (a string per entry is measurable on big walks).
      inodeKey: st.nlink > 1n ? `${st.dev}:${st.ino}` : '',
      nlink: Number(st.nlink),
      // glibc's gnu_dev_major/minor encoding.
      rdevMajor: ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff),
      rdevMinor: (rdev & 0xff) | ((rdev >>> 12) & ~0xff),
      mtime: toTime(st.mtimeNs),
      atime: toTime(st.atimeNs),
      ctime: toTime(st.ctimeNs),
      ino: st.ino,
      btimeNs: st.birthtimeNs > 0n ? st.birthtimeNs : 0n,
    };
  }

  readdir(path: string): string[] | Promise<string[]> {
    if (this.scan) {
      const got = this.scan.takeDir(path);
      return got instanceof Promise ? got.then((d) => this.enter(path, d)) : this.enter(path, got);
    }
    return this.readdirNow(path);
  }

  /** The walk enters `path`: its names from the scan, or from Node when the scan has none. */
  private enter(path: string, dir: ScannedDir | null): string[] {
    this.lastPath = null;
    this.lastEntry = undefined;
    if (!dir?.names) {
      this.scanDir = null;
      if (!dir && this.scan && !this.scan.usable) this.scan = null;
      return this.readdirNow(path);
    }
    this.scanDir = dir;
    this.scanDirPath = path;
    countWalked(dir.names.length);
    return dir.names;
  }

  private readdirNow(path: string): string[] {
    try {
      const names = fs.readdirSync(this.arg(path), { encoding: 'latin1' });
      countWalked(names.length);
      return names;
    } catch (e) {
      this.fail(path, e);
    }
  }

  readlink(path: string): string {
    const target = this.scanned(path)?.target;
    if (target !== undefined) return target;
    try {
      return fs.readlinkSync(this.arg(path), { encoding: 'latin1' });
    } catch (e) {
      this.fail(path, e);
    }
  }

  xattrs(path: string): Xattr[] {
    if (!this.withXattrs || this.scanned(path)?.xattrBytes === 0) return NO_XATTRS;
    const mod = loadXattr();
    if (!mod) return [];
    let p: string;
    try {
      const a = this.arg(path);
      p = typeof a === 'string' ? a : utf8Strict.decode(a);
    } catch {
      this.warnings.push(`${displayName(path)}: extended attributes not read (name is not UTF-8)`);
      return [];
    }
    let names: string[];
    try {
      names = mod.listAttributesSync(p);
    } catch {
      return []; // filesystem without xattr support
    }
    const out: Xattr[] = [];
    for (const name of names) {
      const v = mod.getAttributeSync(p, name);
      if (v) out.push({ name, value: new Uint8Array(v) });
    }
    return out;
  }

  /** Only a file with fewer allocated blocks than its size can have holes. */
  mayHaveHoles(stat: SourceStat): boolean {
    return stat.blocks !== undefined && stat.size > 0 && stat.blocks * 512 < stat.size;
  }

  dataRuns(path: string, stat: SourceStat): DataRun[] | undefined {
    return this.dataRunsMany([{ path, stat }])[0];
  }

  dataRunsMany(files: readonly { path: string; stat: SourceStat }[]): (DataRun[] | undefined)[] {
    const out: (DataRun[] | undefined)[] = files.map(() => undefined);
    // The scan sought them already (a walk's own stats carry its answer).
    const asked = files
      .map((f, i) => ({ ...f, i }))
      .filter((f) => {
        const known = this.scannedRuns.get(f.stat);
        if (known) out[f.i] = known;
        return !known && this.mayHaveHoles(f.stat);
      });
    if (!asked.length) return out;
    const runs = seekDataRuns(asked.map((f) => this.host(f.path)), asked.map((f) => f.stat.size));
    if (!runs) {
      for (const f of asked) this.warnings.push(`${displayName(f.path)}: holes not detected (perl or SEEK_DATA unavailable); written in full`);
      return out;
    }
    // A file perl could not open or seek is written in full (correct, just not sparse).
    asked.forEach((f, k) => (out[f.i] = runs[k]));
    return out;
  }

  /**
   * A walk starts: its metadata comes from perl's scan (which also starts the kernel
   * fetching a cold tree's data), the CLI's early one if it scanned this root.
   */
  warm(): void {
    this.scan ??= this.startScan(this.rootPath);
  }

  /** The walk is over: the scan, if any, is closed, and later asks go to Node. */
  walked(): void {
    this.scan?.close();
    this.scan = null;
    this.scanDir = null;
    this.lastPath = null;
    this.lastEntry = undefined;
  }

  readAhead(files: readonly { path: string; size: number }[]) {
    return startReadAhead(files.map((f) => this.host(f.path)), files.map((f) => f.size));
  }

  read(path: string, buf: Uint8Array, offset: number, length: number, position: number): number {
    try {
      if (this.openPath !== path) {
        this.closeFile();
        this.openFd = fs.openSync(this.arg(path), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        this.openPath = path;
      }
      return fs.readSync(this.openFd, buf, offset, length, position);
    } catch (e) {
      this.closeFile();
      if (e instanceof CakeError) throw e;
      this.fail(path, e);
    }
  }

  closeFile(): void {
    if (this.openFd >= 0) fs.closeSync(this.openFd);
    this.openFd = -1;
    this.openPath = null;
  }
}
