// The size summary printed at the end of a cook, like the original recipe's
// `du --all --max-depth 1 --human-readable rootfs | sort --human-numeric-sort`: each
// top-level entry's disk usage (4 KiB blocks, a hard-linked file counted once), smallest
// first, then the whole tree.
import type { FsNode, FsTree } from '../tree/node.js';
import { dataLength } from '../tree/node.js';

const BLOCK = 4096;

function usage(node: FsNode, seen: Set<FsNode>): number {
  if (seen.has(node)) return 0;
  seen.add(node);
  let n = BLOCK; // the inode's own block (du counts a directory's block, a symlink's is inline but close enough)
  if (node.kind === 'file') n = Math.max(BLOCK, Math.ceil(dataLength(node) / BLOCK) * BLOCK);
  if (node.kind === 'symlink' || node.kind === 'chardev' || node.kind === 'blockdev' || node.kind === 'fifo' || node.kind === 'socket') n = 0;
  if (node.kind === 'dir') for (const child of node.entries.values()) n += usage(child, seen);
  return n;
}

/** Disk usage of the whole tree in bytes (4 KiB blocks, hard links once), as the summary's last line. */
export function diskUsage(tree: FsTree): number {
  return usage(tree.root, new Set());
}

/** du -h style: 4.0K, 12M, 1.1G. */
export function humanSize(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${bytes}`;
  return v < 10 ? `${(Math.ceil(v * 10) / 10).toFixed(1)}${units[u]}` : `${Math.ceil(v)}${units[u]}`;
}

/** Lines "SIZE\tPATH", smallest first, the root ("/") last. */
export function sizeSummary(tree: FsTree): string[] {
  const seen = new Set<FsNode>([tree.root]);
  const rows: [number, string][] = [];
  let total = BLOCK;
  for (const [name, node] of [...tree.root.entries].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const n = usage(node, seen);
    total += n;
    rows.push([n, `/${name}`]);
  }
  rows.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
  rows.push([total, '/']);
  return rows.map(([n, p]) => `${humanSize(n)}\t${Buffer.from(p, 'latin1').toString('utf8')}`);
}
