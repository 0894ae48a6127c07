// The early start of a command: before the command line loads (on a cold disk, loading
// modules takes a good part of a second), a command that will read a host directory tree
// starts the kernel fetching it (host/prefetch.ts), so the disk is busy while Node gets ready.
import { prefetchTree } from '../host/prefetch.js';
import { earlySourceDir } from './early-source.js';

export function prefetchSourceOf(args: string[]): void {
  const dir = earlySourceDir(args);
  if (dir) prefetchTree(dir);
}
