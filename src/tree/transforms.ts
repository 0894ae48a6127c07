// Whole-tree rewrites applied between sources and emitters.
import type { DirNode, FsNode, Timestamp } from './node.js';

/** Calls `fn` once per node (a hard-linked node once, not per name). */
export function forEachNode(root: DirNode, fn: (n: FsNode) => void): void {
  const seen = new Set<FsNode>();
  const stack: FsNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    fn(n);
    if (n.kind === 'dir') for (const c of n.entries.values()) stack.push(c);
  }
}

/** Every node owned by uid:gid (like `rsync --chown`). */
export function overrideOwner(root: DirNode, uid: number, gid: number): void {
  forEachNode(root, (n) => {
    n.uid = uid;
    n.gid = gid;
  });
}

/** Clamps every time to at most `epoch` (seconds, SOURCE_DATE_EPOCH semantics, or an exact time). */
export function clampTimes(root: DirNode, epoch: number | Timestamp): void {
  const e: Timestamp = typeof epoch === 'number' ? { sec: epoch, nsec: 0 } : epoch;
  const clamp = (t: Timestamp): Timestamp => (t.sec > e.sec || (t.sec === e.sec && t.nsec > e.nsec) ? e : t);
  forEachNode(root, (n) => {
    n.mtime = clamp(n.mtime);
    n.atime = clamp(n.atime);
    n.ctime = clamp(n.ctime);
  });
}

/** Parses an `UID:GID` option. */
export function parseOwner(spec: string): { uid: number; gid: number } | null {
  const m = /^(\d+):(\d+)$/.exec(spec);
  if (!m) return null;
  const uid = Number(m[1]);
  const gid = Number(m[2]);
  if (uid > 0xffffffff || gid > 0xffffffff) return null;
  return { uid, gid };
}
