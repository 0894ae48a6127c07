// Warming a cold source tree while cake-img walks it: one small perl process (perl-base is
// Essential on Debian-family hosts; Node has no fadvise) walks the same tree in the same
// sorted order, a little ahead of the main walk, and asks the kernel for every regular
// file's data with posix_fadvise(WILLNEED), which queues the reads and returns. The main
// walk then finds inodes cached, and by the time the writer copies, the data is in the
// page cache. On a warm cache it costs one short process on the other core. Best effort:
// no perl, another architecture, an unreadable entry — then simply no hint.
import type { ChildProcess } from 'node:child_process';
import { spawnTracked } from './lifecycle.js';
import * as os from 'node:os';
import * as path from 'node:path';

// fadvise64 by architecture (asm-generic numbering for arm64 and riscv64).
const SYS_FADVISE64: Partial<Record<string, number>> = { x64: 221, arm64: 223, riscv64: 223 };
const POSIX_FADV_WILLNEED = 3;

// Symlinks are never followed (lstat); the hints stop after BUDGET bytes so a tree larger
// than memory does not evict its own beginning.
const SCRIPT = String.raw`
my ($root, $nr, $adv, $budget) = @ARGV; my $hinted = 0;
sub walk {
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
      if (open(my $fh, '<', $p)) { syscall($nr, fileno($fh), 0, 0, $adv); close($fh); $hinted += $st[7]; }
    } elsif (-d _) { walk($p); }
  }
}
walk($root);`;

// Roots already being warmed by this process (the CLI starts early; the walk asks again).
const warmed = new Set<string>();

/** Starts warming `root` (once per process); returns false where it cannot run. */
export function prefetchTree(root: string, budget = Math.min(1 << 30, Math.floor(os.freemem() / 2))): boolean {
  const nr = SYS_FADVISE64[process.arch];
  if (nr === undefined || process.platform !== 'linux') return false;
  const key = path.resolve(root);
  if (warmed.has(key)) return true;
  warmed.add(key);
  let child: ChildProcess;
  try {
    // Tracked: the command's end (settle) or a signal ends it, so it never outlives cake-img.
    child = spawnTracked('perl', ['-e', SCRIPT, root, String(nr), String(POSIX_FADV_WILLNEED), String(budget)], { stdio: 'ignore' });
  } catch {
    return false;
  }
  child.on('error', () => {}); // no perl: no hints
  child.unref();
  return true;
}
