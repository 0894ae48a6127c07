// What an emitter can hold, checked over the whole tree before it plans: owners (ext4 and
// cpio store 32 bits, and Linux reserves (uid_t)-1), and times outside the format's range.
// An owner that cannot be stored is an error naming the entry, or under `lenient` the
// overflow id 65534 (the kernel's own overflowuid, "nobody") with a warning: never a
// silent wrap, which is how uid 2^32 would become root. Times outside the range are
// clamped to its ends with one warning naming the first entry.
import { displayName } from './names.js';
import type { DirNode, FsNode, FsTree, Timestamp } from './node.js';
import { UnsupportedError } from '../util/errors.js';

/** The largest owner id an image holds: 2^32 − 2, since 2^32 − 1 is (uid_t)-1, "no id". */
export const MAX_ID = 2 ** 32 - 2;
/** What an owner that cannot be stored becomes under --lenient (the kernel's overflowuid). */
export const OVERFLOW_ID = 65534;

export interface LimitOptions {
  /** Names the source in messages. */
  label: string;
  /** The target format, for messages ("ext4", "cpio newc"). */
  format: string;
  lenient?: boolean;
  /** Seconds the format's times can hold; times outside are clamped (with a warning). */
  timeRange?: { min: number; max: number; describe: string };
}

const validId = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n <= MAX_ID;

/** Checks (and under lenient maps) owners, clamps times; returns the warnings. */
export function applyFormatLimits(tree: FsTree, o: LimitOptions): string[] {
  const warnings: string[] = [];
  let mapped = 0;
  let firstMapped = '';
  let clamped = 0;
  let firstClamped = '';
  const range = o.timeRange;
  const min = range?.min ?? -Infinity;
  const max = range?.max ?? Infinity;
  const outside = (t: Timestamp): boolean => t.sec < min || t.sec > max || (t.sec === max && t.nsec > 0);
  const clamp = (t: Timestamp): Timestamp => (t.sec < min ? { sec: min, nsec: 0 } : outside(t) ? { sec: max, nsec: 0 } : t);
  // A walk of a big tree keeps nothing per node: the path of an entry a message names is
  // found again by a second walk, only then. (A hard-linked file is visited per name.)
  const pathOf = (target: FsNode): string => {
    const find = (dir: DirNode, prefix: string): string | null => {
      for (const [name, child] of dir.entries) {
        const p = `${prefix}/${displayName(name)}`;
        if (child === target) return p;
        if (child.kind === 'dir') {
          const r = find(child, p);
          if (r) return r;
        }
      }
      return null;
    };
    return target === tree.root ? '/' : find(tree.root, '') ?? '?';
  };
  const stack: FsNode[] = [tree.root];
  while (stack.length) {
    const node = stack.pop()!;
    if (!validId(node.uid) || !validId(node.gid)) {
      const what = !validId(node.uid) ? `owner uid ${node.uid}` : `group gid ${node.gid}`;
      if (!o.lenient) {
        throw new UnsupportedError(`${o.label}: ${pathOf(node)}`, `${what} cannot be stored in ${o.format} (ids go up to ${MAX_ID}); fix the source, or pass --lenient to map it to ${OVERFLOW_ID}`);
      }
      if (!validId(node.uid)) node.uid = OVERFLOW_ID;
      if (!validId(node.gid)) node.gid = OVERFLOW_ID;
      if (mapped++ === 0) firstMapped = pathOf(node);
    }
    if (range && (outside(node.mtime) || outside(node.atime) || outside(node.ctime))) {
      node.mtime = clamp(node.mtime);
      node.atime = clamp(node.atime);
      node.ctime = clamp(node.ctime);
      if (clamped++ === 0) firstClamped = pathOf(node);
    }
    if (node.kind === 'dir') for (const child of node.entries.values()) stack.push(child);
  }
  if (mapped) warnings.push(`${o.label}: ${mapped} ${mapped === 1 ? 'entry has an owner' : 'entries have owners'} ${o.format} cannot store (first: ${firstMapped}); mapped to ${OVERFLOW_ID}`);
  if (clamped) warnings.push(`${o.label}: ${clamped} ${clamped === 1 ? 'entry has times' : 'entries have times'} outside what ${o.format} holds (${range!.describe}; first: ${firstClamped}); clamped to the nearest`);
  return warnings;
}

/** A backstop in the emitters themselves: an owner that would wrap is an error, never stored. */
export function checkIds(node: FsNode, where: () => string, format: string): void {
  if (!validId(node.uid) || !validId(node.gid)) {
    throw new UnsupportedError(where(), `owner ${node.uid}:${node.gid} cannot be stored in ${format} (ids go up to ${MAX_ID})`);
  }
}
