// The early start of a command: before the command line loads (on a cold disk, loading
// modules takes a good part of a second), a command that will read a host directory tree
// starts scanning it (host/tree-scan.ts: its metadata, and the kernel fetching its data),
// so the disk and the other core are busy while Node gets ready.
import { startTreeScanEarly } from '../host/tree-scan.js';
import { earlySourceDir } from './early-source.js';

/** Returns the directory it started scanning, if any. */
export function prefetchSourceOf(args: string[]): string | undefined {
  const dir = earlySourceDir(args);
  if (dir) startTreeScanEarly(dir);
  return dir;
}
