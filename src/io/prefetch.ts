// Asking the kernel for a cold tree's file data while the tree is still being walked:
// posix_fadvise(WILLNEED) queues the reads and returns, so the disk fetches file data
// while the walk waits on inodes and the planner computes; by the time the writer copies,
// the data is in the page cache. On a warm cache it costs next to nothing. Node has no
// fadvise, so one small perl process (perl-base is Essential on Debian-family hosts)
// takes NUL-separated paths on stdin. Best effort: anything missing just means no hint.
import { type ChildProcess, spawn } from 'node:child_process';
import * as os from 'node:os';

// fadvise64 by architecture (asm-generic numbering for arm64 and riscv64).
const SYS_FADVISE64: Partial<Record<string, number>> = { x64: 221, arm64: 223, riscv64: 223 };
const POSIX_FADV_WILLNEED = 3;

const SCRIPT = String.raw`
local $/ = "\0"; my ($nr, $adv) = @ARGV;
while (my $p = <STDIN>) {
  chop $p;
  if (open(my $fh, '<', $p)) { syscall($nr, fileno($fh), 0, 0, $adv); close($fh); }
}`;

export interface Prefetcher {
  /** Hint that `path` (`size` bytes) will be read. */
  add(path: Uint8Array | string, size: number): void;
  /** No more hints (the helper exits when it has read them). */
  end(): void;
}

/**
 * A prefetcher, or null where it cannot work (no fadvise number for this architecture).
 * Hints stop after `budget` bytes, so a tree larger than memory does not evict itself.
 */
export function startPrefetch(budget = Math.min(1 << 30, Math.floor(os.freemem() / 2))): Prefetcher | null {
  const nr = SYS_FADVISE64[process.arch];
  if (nr === undefined || process.platform !== 'linux') return null;
  let child: ChildProcess | null = null;
  let dead = false;
  let hinted = 0;
  const NUL = Buffer.from([0]);
  return {
    add(path, size) {
      if (dead || hinted + size > budget) return;
      if (!child) {
        child = spawn('perl', ['-e', SCRIPT, String(nr), String(POSIX_FADV_WILLNEED)], { stdio: ['pipe', 'ignore', 'ignore'] });
        child.on('error', () => (dead = true)); // no perl: no hints
        child.stdin!.on('error', () => (dead = true));
        child.unref();
        (child.stdin as unknown as { unref?: () => void }).unref?.();
      }
      hinted += size;
      child.stdin!.write(typeof path === 'string' ? Buffer.from(path) : path);
      child.stdin!.write(NUL);
    },
    end() {
      child?.stdin?.end();
    },
  };
}
