// Putting a finished output in the place of an existing file without the flush a plain
// rename(2) costs on ext4.
// - ext4 (auto_da_alloc, on by default) treats rename over an existing file as the
//   "write a temp, rename it over" pattern of programs that do not fsync: before the rename
//   returns, it allocates every delayed block of the new file and starts writing it out.
//   For an image that is most of the command's data: replacing a 1.6 GB convert output took
//   6.1 s against 1.5 s for the same run with the old output removed first (bench/RESULTS.md,
//   formats, large image); 400 MB of fresh data, 180 ms in the rename against 80 ms.
// - renameat2(RENAME_EXCHANGE) swaps the two names in one step (a reader of the target
//   sees the old file or the new one, never neither) and ext4 does not flush for it. The
//   old file, now under the temp's name, is then unlinked.
// - What the flush bought was ext4's guess at durability for programs that never sync.
//   cake-img does not fsync its outputs (like mkfs.ext4 -d into a file, qemu-img convert
//   and tar): a caller who needs the image on disk runs `sync`, as the original recipe ends.
// - Before the work starts, the old output's pages are dropped from the page cache
//   (posix_fadvise DONTNEED; the file itself is untouched). The replacement needs as much
//   new page cache as the old one holds, and on a virtual machine that returns free memory
//   to its host (free page reporting, as here) pages not touched for a few seconds cost a
//   fault in the host each on first use: writing 1.6 GB beside a cached 1.6 GB file took
//   4.0 s of system time (dd), 0.3 s with that file's pages dropped first. qemu-img, which
//   truncates its old output first, gets the same for free.
// Node has no renameat2 or fadvise; perl (perl-base, Essential on Debian-family hosts; the tree scan and
// the guardian use it too) calls it through syscall(). Anything but success (no perl,
// another architecture, a kernel or filesystem without RENAME_EXCHANGE: ENOSYS, EINVAL)
// answers false and the caller renames as before.
import { type ChildProcess, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { spawnTracked } from './lifecycle.js';
import { linuxSyscalls } from './linux-syscalls.js';

const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;

// Opened without following a link or blocking on a fifo put there meanwhile.
const DROP_SCRIPT = `use Fcntl; my ($nr, $p) = @ARGV; sysopen(my $f, $p, O_RDONLY | O_NONBLOCK | O_NOFOLLOW) or exit 1; syscall($nr, fileno($f), 0, 0, 4); exit 0;`;

/**
 * Drops the page cache of `target`, an existing output about to be replaced (not read by
 * the work). Fire and forget: perl does it while the command reads and plans, tracked so
 * it never outlives the command; any failure only leaves the pages cached.
 */
export function dropCachedPages(target: string): ChildProcess | null {
  const nr = linuxSyscalls()?.fadvise64;
  if (!nr || process.env.CAKE_IMG_KEEP_CACHE === '1') return null;
  try {
    const child = spawnTracked('perl', ['-e', DROP_SCRIPT, '--', String(nr), target], { stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
    return child;
  } catch {
    return null; // no perl: the pages stay
  }
}

// Exit 0 when swapped, 1 with the errno on stderr when not. `my` copies: syscall() must be
// able to take a pointer to each string.
const SCRIPT = `my ($nr, $x, $y) = @ARGV; exit 0 if syscall($nr, ${AT_FDCWD}, $x, ${AT_FDCWD}, $y, ${RENAME_EXCHANGE}) == 0; print STDERR 0 + $!; exit 1;`;

/** Below this much new data the flush costs less than starting perl (~3 ms): a plain rename. */
export const EXCHANGE_MIN_BYTES = 16 << 20;

/** Swaps the names `a` and `b` (both must exist) atomically; false when it could not. */
export function exchangeNames(a: string, b: string): boolean {
  const nr = linuxSyscalls()?.renameat2;
  if (!nr || process.env.CAKE_IMG_NO_EXCHANGE === '1') return false;
  // "--" ends perl's switches: the paths are absolute anyway, never "-e...".
  const r = spawnSync('perl', ['-e', SCRIPT, '--', String(nr), a, b], { stdio: ['ignore', 'ignore', 'ignore'], timeout: 10_000, killSignal: 'SIGKILL' });
  return r.status === 0;
}

/**
 * Replaces the regular file `target` with the finished file `tmp` (same directory) by
 * exchanging the two and unlinking the old one. Returns false, having changed nothing,
 * when the exchange is not available (the caller renames). If what was swapped out is a
 * directory (put at `target` while the output was written), it is swapped back and the
 * result is `'directory'`: the caller fails as a rename over a directory would.
 */
export function replaceByExchange(tmp: string, target: string): boolean | 'directory' {
  const ours = fs.lstatSync(tmp).ino;
  // perl can fail after the swap (killed by a signal to our group): the inode at `target`
  // says what happened, not its exit status.
  if (!exchangeNames(tmp, target) && lstatIno(target) !== ours) return false;
  let old: fs.Stats | null = null;
  try {
    old = fs.lstatSync(tmp);
  } catch {
    old = null; // already gone: nothing to unlink
  }
  if (old?.isDirectory()) {
    if (!exchangeNames(tmp, target) && lstatIno(tmp) !== ours) throw new Error(`could not swap the directory back to ${target}`);
    return 'directory';
  }
  if (old) fs.unlinkSync(tmp);
  return true;
}

function lstatIno(p: string): number | null {
  try {
    return fs.lstatSync(p).ino;
  } catch {
    return null;
  }
}
