// The metadata of a host tree, read by one small perl process (perl-base is Essential on
// Debian-family hosts) on the other core while Node starts and walks. A walk from Node pays
// some 8 µs a syscall for lstat and again for llistxattr (napi), plus the objects of each:
// on a 9,000-entry Debian tree that was 150 ms of the main thread's 250 ms of reading.
// perl asks the kernel with statx(2) and llistxattr(2) through syscall(), so the times keep
// their nanoseconds, and sends the raw statx bytes down a pipe in the walk's own order; the
// walk (sources/directory.ts, through NodeSourceFs) takes each directory as it comes.
//
// Then it starts the kernel fetching a cold tree's data: a second walk (of metadata now
// cached) gives every regular file posix_fadvise(WILLNEED), which queues the reads and
// returns, up to a budget so a tree larger than memory does not evict its own beginning.
// After the scan, not during it: on a warm tree the hints cost as much as the scan (90 ms
// against 90 on the Debian tree), and the walk waited for them; on a cold one the walk
// needs the metadata first, and the data reads then overlap with planning. And only on a
// cold tree: a tree just cooked or unpacked is in the page cache, where the hints are
// wasted work on the core the writer's second thread needs. preadv2(RWF_NOWAIT) reads a
// byte only if it is cached; the hints start at the first file found not cached, and
// stop before they start when the first 32 files all are.
//
// Best effort, checked: no perl, another architecture, a kernel without statx, output that
// does not parse or a walk that asks in another order, and the walk simply makes its own
// syscalls, from where it is (the scan's answers are the same fields the syscalls give).
// An entry perl could not stat or list is asked again by Node, whose error is the one shown.
import type { ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SourceStat } from '../io/source-fs.js';
import type { DataRun } from '../tree/node.js';
import { type LinuxSyscalls, linuxSyscalls } from './linux-syscalls.js';
import { spawnTracked } from './lifecycle.js';

/** The part of struct statx sent per entry (through stx_dev_minor). */
const STATX_BYTES = 144;

// The stream, native byte order: 'R' and the root's entry; then per directory 'D', its
// path (u32 length, bytes), its entry count (i32; -1: could not be listed) and its
// entries, each its name (u32 length, bytes) then: i32 errno (0: the rest follows), the
// statx bytes, i32 llistxattr size (-1: could not be listed); for a symlink its target
// (i32 length, -1: unreadable; bytes); for a file with fewer blocks than its size (the
// only kind that can have holes) its data runs by SEEK_DATA/SEEK_HOLE (i32 count, -1:
// not sought; u64 start and end each). 'E' ends it. Directories come in the order
// of the walk: an iterative pre-order DFS, children in byte order, each directory's
// entries all before its first subdirectory (sources/directory.ts walks the same way).
// Names and paths are bytes; perl never uses them as numbers (syscall() would pass a
// number by value). Opening with O_NONBLOCK|O_NOFOLLOW: a file swapped for a FIFO or a
// link after statx is neither waited on nor followed.
const SCRIPT = String.raw`
use Fcntl qw(O_RDONLY O_NONBLOCK O_NOFOLLOW);
binmode STDOUT;
my ($root, $nrStatx, $nrList, $nrAdvise, $nrPread, $budget) = @ARGV;
my $sx = "\0" x 256; my $none = ''; my $hinted = 0;
sub entry {
  my ($p) = @_;
  if (syscall($nrStatx, -100, $p, 0x100, 0xfff, $sx) != 0) { print pack('l', 0 + $!); return -1; }
  my $mode = unpack('x28 S', $sx);
  my $x = syscall($nrList, $p, $none, 0);
  print pack('l', 0), substr($sx, 0, ${STATX_BYTES}), pack('l', $x < 0 ? -1 : $x);
  my $type = $mode & 0xF000;
  if ($type == 0xA000) {
    my $t = readlink($p);
    print defined($t) ? pack('l/a*', $t) : pack('l', -1);
  } elsif ($type == 0x8000) {
    my ($size, $blocks) = unpack('x40 Q Q', $sx);
    if ($size > 0 && $blocks * 512 < $size) {
      my @runs; my $ok = 0;
      if (sysopen(my $fh, $p, O_RDONLY | O_NONBLOCK | O_NOFOLLOW)) {
        my $pos = 0; $ok = 1;
        while ($pos < $size) {
          my $d = sysseek($fh, $pos, 3); last unless defined $d; $d += 0;
          my $h = sysseek($fh, $d, 4); unless (defined $h) { $ok = 0; last } $h += 0;
          push @runs, $d, $h; $pos = $h;
        }
        close($fh);
      }
      print $ok ? pack('l Q*', @runs / 2, @runs) : pack('l', -1);
    }
  }
  return $mode;
}
sub walk {
  my ($rel, $abs) = @_;
  my $dh;
  unless (opendir($dh, $abs)) { print 'D', pack('L/a*', $rel), pack('l', -1); return; }
  my @names = sort grep { $_ ne '.' && $_ ne '..' } readdir($dh);
  closedir($dh);
  print 'D', pack('L/a*', $rel), pack('l', scalar @names);
  my @sub;
  for my $n (@names) {
    print pack('L/a*', $n);
    my $mode = entry("$abs/$n");
    push @sub, $n if $mode >= 0 && ($mode & 0xF000) == 0x4000;
  }
  for my $n (@sub) { walk($rel eq '' ? $n : "$rel/$n", "$abs/$n"); }
}
print 'R';
my $m = entry($root);
walk('', $root) if $m >= 0 && ($m & 0xF000) == 0x4000;
print 'E';
close(STDOUT);
my $pb = "\0"; my $iov = pack('p Q', $pb, 1); my $probing = 1; my $cached = 0;
sub hint {
  my ($dir) = @_;
  opendir(my $dh, $dir) or return;
  my @names = sort grep { $_ ne '.' && $_ ne '..' } readdir($dh);
  closedir($dh);
  for my $n (@names) {
    return if $hinted > $budget;
    my $p = "$dir/$n";
    my @st = lstat($p) or next;
    if (-f _) {
      next if $st[7] == 0;
      next unless sysopen(my $fh, $p, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
      if ($probing) {
        if (syscall($nrPread, fileno($fh), $iov, 1, 0, 0, 8) == 1) { close($fh); exit 0 if ++$cached >= 32; next; }
        $probing = 0;
      }
      syscall($nrAdvise, fileno($fh), 0, 0, 3); close($fh); $hinted += $st[7];
    } elsif (-d _) { hint($p); }
  }
}
hint($root) if $m >= 0 && ($m & 0xF000) == 0x4000;`;

/** One entry as the scan saw it: `stat` null when perl could not stat it (Node asks again). */
export interface ScannedEntry {
  stat: SourceStat | null;
  /** llistxattr's size: 0 means no extended attributes; -1 unknown. */
  xattrBytes: number;
  /** A symlink's target (byte string), when read. */
  target?: string;
  /** A file that may have holes: its data runs, when sought (cut to its size). */
  dataRuns?: DataRun[];
}

/**
 * A directory as the scan saw it: its names, and each entry's record left in the bytes
 * it came in until the walk asks for it, so the stat the walk gets is made just before
 * it is used (a directory of a thousand entries decoded at once kept a thousand stats
 * alive while the walk went through them).
 */
export class ScannedDir {
  /** null when perl could not list it (Node asks again). */
  readonly names: string[] | null;
  private readonly at: number[] = [];
  private readonly from: Cursor[] = [];
  private next = 0;
  private byName: Map<string, number> | null = null;

  constructor(listed: boolean) {
    this.names = listed ? [] : null;
  }

  /** @internal The parser's: entry `name`'s record is at `at` of `from`'s bytes. */
  add(name: string, from: Cursor, at: number): void {
    this.names!.push(name);
    this.from.push(from);
    this.at.push(at);
  }

  /** The entry called `name`, decoded now (the walk asks in name order: no lookup then). */
  entry(name: string): ScannedEntry | undefined {
    const names = this.names;
    if (!names) return undefined;
    let i = this.next;
    if (names[i] === name) this.next = i + 1;
    else {
      this.byName ??= new Map(names.map((n, k) => [n, k]));
      const k = this.byName.get(name);
      if (k === undefined) return undefined;
      i = k;
    }
    const c = this.from[i]!;
    c.at = this.at[i]!;
    return c.entry();
  }
}

const LE = os.endianness() === 'LE';
// Raw bytes kept unparsed before perl is asked to wait (the pipe fills and it blocks).
const HIGH_WATER = 4 << 20;
const LOW_WATER = 1 << 20;

/** Thrown inside the parser when the bytes so far end mid-record. */
const SHORT = Symbol('short');

function makedevKey(major: number, minor: number, ino: bigint): string {
  // glibc's makedev, so the key equals `${lstat.dev}:${lstat.ino}` from Node's own lstat.
  const dev = (BigInt(major & 0xfffff000) << 32n) | BigInt((major & 0xfff) << 8) | (BigInt(minor & 0xffffff00) << 12n) | BigInt(minor & 0xff);
  return `${dev}:${ino}`;
}

/**
 * A signed 64-bit field as a number (exact below 2^53, as every size and time is). A
 * small value comes back as an int32, so V8 keeps it as a small integer: computed as a
 * double, every size and mtime of a tree was a 16-byte boxed number the tree kept (1.5
 * million of them, 24 MB, at 300,000 files).
 */
function i64(v: DataView, at: number): number {
  const lo = v.getUint32(at, LE);
  const hi = v.getInt32(at + 4, LE);
  return hi === 0 && lo <= 0x7fffffff ? lo | 0 : lo + hi * 4294967296;
}

function timeAt(v: DataView, at: number): { sec: number; nsec: number } {
  return { sec: i64(v, at), nsec: v.getUint32(at + 8, LE) | 0 };
}

/** SourceStat from the statx bytes at `at` (see the layout in statx(2)). */
export function statFromStatx(v: DataView, at: number): SourceStat | null {
  const mask = v.getUint32(at, LE);
  // STATX_TYPE|MODE|NLINK|UID|GID|MTIME|INO|SIZE|BLOCKS: without one, Node's lstat decides.
  if ((mask & 0x6ff) !== 0x6ff) return null;
  const nlink = v.getUint32(at + 16, LE);
  const ino = v.getBigUint64(at + 32, LE);
  const mtime = timeAt(v, at + 112);
  const btime = mask & 0x800 ? BigInt(i64(v, at + 80)) * 1_000_000_000n + BigInt(v.getUint32(at + 88, LE)) : 0n;
  return {
    mode: v.getUint16(at + 28, LE),
    uid: v.getUint32(at + 20, LE),
    gid: v.getUint32(at + 24, LE),
    size: i64(v, at + 40),
    blocks: i64(v, at + 48),
    inodeKey: nlink > 1 ? makedevKey(v.getUint32(at + 136, LE), v.getUint32(at + 140, LE), ino) : '',
    nlink,
    rdevMajor: v.getUint32(at + 128, LE),
    rdevMinor: v.getUint32(at + 132, LE),
    mtime,
    atime: mask & 0x20 ? timeAt(v, at + 64) : mtime,
    ctime: mask & 0x80 ? timeAt(v, at + 96) : mtime,
    ino,
    btimeNs: btime > 0n ? btime : 0n,
  };
}

/**
 * What follows an entry's statx bytes and xattr size (statx at `at`): a symlink's target,
 * a possibly sparse file's runs, or nothing. perl sends runs for the same files.
 */
function tailOf(v: DataView, at: number): 'target' | 'runs' | null {
  const type = v.getUint16(at + 28, LE) & 0xf000;
  if (type === 0xa000) return 'target';
  if (type !== 0x8000) return null;
  const size = i64(v, at + 40);
  return size > 0 && i64(v, at + 48) * 512 < size ? 'runs' : null;
}

/** Reads records from a byte window; throws SHORT at its end. */
class Cursor {
  at = 0;
  readonly view: DataView;
  constructor(readonly buf: Buffer) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): void {
    if (this.at + n > this.buf.length) throw SHORT;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }
  i32(): number {
    this.need(4);
    const x = this.view.getInt32(this.at, LE);
    this.at += 4;
    return x;
  }
  bytes(n: number): string {
    this.need(n);
    const s = this.buf.toString('latin1', this.at, this.at + n);
    this.at += n;
    return s;
  }
  /** Steps over an entry's record (after its name), checking it is whole. */
  skipEntry(): void {
    if (this.i32() !== 0) return;
    this.need(STATX_BYTES + 4);
    const tail = tailOf(this.view, this.at);
    this.at += STATX_BYTES + 4;
    if (!tail) return;
    const n = this.i32();
    const bytes = tail === 'target' ? n : 16 * n;
    if (bytes > 0) {
      this.need(bytes);
      this.at += bytes;
    }
  }

  entry(): ScannedEntry {
    const errno = this.i32();
    if (errno !== 0) return { stat: null, xattrBytes: -1 };
    this.need(STATX_BYTES + 4);
    const at = this.at;
    const v = this.view;
    this.at += STATX_BYTES;
    const xattrBytes = this.i32();
    const tail = tailOf(v, at);
    let target: string | undefined;
    let dataRuns: DataRun[] | undefined;
    const n = tail ? this.i32() : -1;
    if (tail === 'target' && n >= 0) target = this.bytes(n);
    if (tail === 'runs' && n >= 0) {
      this.need(16 * n);
      const size = i64(v, at + 40);
      dataRuns = [];
      for (let i = 0; i < n; i++, this.at += 16) {
        const offset = i64(v, this.at);
        const end = Math.min(i64(v, this.at + 8), size);
        if (end > offset) dataRuns.push({ offset, length: end - offset });
      }
    }
    // The stat last: the record is whole, so nothing made here is made twice.
    const stat = statFromStatx(v, at);
    const out: ScannedEntry = { stat, xattrBytes: stat ? xattrBytes : -1 };
    if (target !== undefined) out.target = target;
    if (dataRuns) out.dataRuns = dataRuns;
    return out;
  }
}

/** A directory whose entries are still arriving. */
interface OpenDir {
  path: string;
  left: number;
  dir: ScannedDir;
}

/** A running scan of one root: its directories are taken in walk order, each once. */
export class TreeScan {
  /** Bytes received and not yet parsed: `buf` from `pos`, then `more`. */
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private more: Buffer[] = [];
  private unparsed = 0;
  private root: ScannedEntry | null | undefined;
  private readonly dirs = new Map<string, ScannedDir>();
  private open: OpenDir | null = null;
  private ended = false;
  private failed = false;
  private waiter: (() => void) | null = null;
  private paused = false;

  constructor(private readonly child: ChildProcess) {
    const out = child.stdout!;
    out.on('data', (b: Buffer) => {
      this.more.push(b);
      this.unparsed += b.length;
      if (this.unparsed > HIGH_WATER && !this.paused) {
        this.paused = true;
        out.pause();
      }
      this.wake();
    });
    out.on('end', () => this.finish());
    out.on('error', () => this.fail());
    child.on('error', () => this.fail());
    child.on('exit', (code) => {
      if (code !== 0) this.fail();
    });
  }

  private hold(on: boolean): void {
    const out = this.child.stdout as unknown as { ref?: () => void; unref?: () => void } | null;
    if (on) {
      this.child.ref();
      out?.ref?.();
    } else {
      this.child.unref();
      out?.unref?.();
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  /** The scan is of no more use: the walk makes its own syscalls from here. */
  fail(): void {
    if (this.failed) return;
    this.failed = true;
    this.buf = Buffer.alloc(0);
    this.more = [];
    this.unparsed = 0;
    this.dirs.clear();
    this.open = null;
    this.child.stdout?.destroy();
    try {
      if (this.child.pid !== undefined && this.child.exitCode === null) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    this.wake();
  }

  get usable(): boolean {
    return !this.failed;
  }

  /**
   * Parses whole records until `stop()` holds or the bytes run out. Each record (a header,
   * one entry) is parsed once: one cut short at the end of a chunk is joined with the
   * next chunk only (so a far-ahead perl never makes this copy megabytes per ask).
   * Parsing only as far as the walk asks keeps what it makes short-lived.
   */
  private parse(stop: () => boolean): void {
    while (!this.failed && !stop()) {
      if (this.pos >= this.buf.length) {
        const next = this.more.shift();
        if (!next) break;
        this.buf = next;
        this.pos = 0;
      }
      const c = new Cursor(this.buf);
      c.at = this.pos;
      let short = false;
      try {
        while (!stop() && c.at < this.buf.length) {
          this.record(c);
          if (this.failed) return;
          this.pos = c.at;
        }
      } catch (e) {
        if (e !== SHORT) throw e;
        short = true;
      }
      if (!short) continue; // this chunk is used up, or the walk has what it asked for
      // A record runs into the next chunk: join what is left of this one with it.
      const next = this.more.shift();
      if (!next) break;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), next]);
      this.pos = 0;
    }
    this.unparsed = this.buf.length - this.pos + this.more.reduce((n, b) => n + b.length, 0);
    if (this.paused && this.unparsed < LOW_WATER) {
      this.paused = false;
      this.child.stdout?.resume();
    }
  }

  /** One record at the cursor (throws SHORT, having changed nothing, when it is cut short). */
  private record(c: Cursor): void {
    const open = this.open;
    if (open) {
      const name = c.bytes(c.i32());
      const at = c.at;
      c.skipEntry();
      open.dir.add(name, c, at);
      if (--open.left === 0) this.closeDir();
      return;
    }
    const tag = c.u8();
    if (tag === 0x52 /* R */ && this.root === undefined) {
      this.root = c.entry();
    } else if (tag === 0x44 /* D */) {
      const path = c.bytes(c.i32());
      const count = c.i32();
      this.open = { path, left: count, dir: new ScannedDir(count >= 0) };
      if (count <= 0) this.closeDir();
    } else if (tag === 0x45 /* E */) {
      this.ended = true;
    } else {
      this.fail();
    }
  }

  private closeDir(): void {
    const open = this.open!;
    this.dirs.set(open.path, open.dir);
    this.open = null;
  }

  /** Waits until `ready()`, parsing as bytes come; then `get()`. null when it never will be. */
  private async until<T>(ready: () => boolean, get: () => T): Promise<T | null> {
    for (;;) {
      this.parse(ready);
      if (this.failed) return null;
      if (ready()) return get();
      // Nothing more will come (a record cut short at the end stays unparsed).
      if (this.ended) return null;
      if (this.paused) {
        // Everything unparsed is in hand and the record still is not: the walk asks in
        // another order than perl walks. Not worth holding the whole tree for.
        this.fail();
        return null;
      }
      // Held while waited on: an unref'd pipe alone would let Node exit mid-walk.
      this.hold(true);
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.hold(false);
    }
  }

  /** The root's entry, or null (then Node asks). */
  rootEntry(): Promise<ScannedEntry | null> {
    return this.until(() => this.root !== undefined, () => this.root ?? null);
  }

  /** The directory's listing and entries, once (a second ask gets null: Node asks). */
  takeDir(dirPath: string): ScannedDir | null | Promise<ScannedDir | null> {
    if (this.failed) return null;
    const ready = () => this.dirs.has(dirPath);
    const take = (): ScannedDir => {
      const d = this.dirs.get(dirPath)!;
      this.dirs.delete(dirPath);
      return d;
    };
    // Usually in hand, or in the bytes received: then no promise (the walk awaits only real ones).
    this.parse(ready);
    if (ready()) return take();
    if (this.ended || this.failed) return null;
    return this.until(ready, take);
  }

  /** The walk is over: perl, if still running, is not needed. */
  close(): void {
    if (!this.ended) this.fail();
    this.buf = Buffer.alloc(0);
    this.more = [];
    this.dirs.clear();
  }
}

// Scans started early (the CLI's first lines) and not yet taken, by resolved root.
const early = new Map<string, TreeScan>();

/** perl's arguments for a scan of `root` (tests run it through a pipe that cuts it short). */
export function scanArgs(root: string, budget: number, nr: LinuxSyscalls = linuxSyscalls()!): string[] {
  // perl reads switches after -e's script too: a root named "-e..." would be perl code.
  // "--" ends them, and the root is absolute besides.
  return ['-e', SCRIPT, '--', path.resolve(root), String(nr.statx), String(nr.llistxattr), String(nr.fadvise64), String(nr.preadv2), String(budget)];
}

/** Starts scanning `root`; null where it cannot run (another OS or architecture, no perl to spawn). */
export function startTreeScan(root: string, budget = Math.min(1 << 30, Math.floor(os.freemem() / 2))): TreeScan | null {
  const nr = linuxSyscalls();
  if (!nr || process.env.CAKE_IMG_NO_SCAN === '1') return null;
  let child: ChildProcess;
  try {
    // Tracked: the command's end (settle) or a signal ends it, so it never outlives cake-img.
    child = spawnTracked('perl', scanArgs(root, budget, nr), { stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
  child.unref();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  return new TreeScan(child);
}

/** The CLI's early start: scans `root` while the command line loads, for the walk to take. */
export function startTreeScanEarly(root: string): void {
  const key = path.resolve(root);
  if (early.has(key)) return;
  const scan = startTreeScan(root);
  if (scan) early.set(key, scan);
}

/** The early scan of `root` if there is one (each is taken once), else a new one. */
export function takeTreeScan(root: string): TreeScan | null {
  const key = path.resolve(root);
  const got = early.get(key);
  if (got) {
    early.delete(key);
    return got;
  }
  return startTreeScan(root);
}
