// What an emitter can hold, checked over the whole tree before it plans: owners (ext4 and
// cpio store 32 bits, and Linux reserves (uid_t)-1), and times outside the format's range.
// An owner that cannot be stored is an error naming the entry, or under `lenient` the
// overflow id 65534 (the kernel's own overflowuid, "nobody") with a warning: never a
// silent wrap, which is how uid 2^32 would become root. Times outside the range are
// clamped to its ends with one warning naming the first entry.
import { displayName } from './names.js';
import type { FsNode, FsTree, Timestamp } from './node.js';
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
  const seen = new Set<FsNode>();
  const range = o.timeRange;
  const clamp = (t: Timestamp): Timestamp | null => {
    if (!range) return null;
    if (t.sec < range.min) return { sec: range.min, nsec: 0 };
    if (t.sec > range.max || (t.sec === range.max && t.nsec > 0)) return { sec: range.max, nsec: 0 };
    return null;
  };
  const visit = (node: FsNode, path: string): void => {
    if (seen.has(node)) return;
    seen.add(node);
    if (!validId(node.uid) || !validId(node.gid)) {
      const what = !validId(node.uid) ? `owner uid ${node.uid}` : `group gid ${node.gid}`;
      if (!o.lenient) {
        throw new UnsupportedError(`${o.label}: ${path || '/'}`, `${what} cannot be stored in ${o.format} (ids go up to ${MAX_ID}); fix the source, or pass --lenient to map it to ${OVERFLOW_ID}`);
      }
      if (!validId(node.uid)) node.uid = OVERFLOW_ID;
      if (!validId(node.gid)) node.gid = OVERFLOW_ID;
      if (mapped++ === 0) firstMapped = path || '/';
    }
    const m = clamp(node.mtime);
    const a = clamp(node.atime);
    const c = clamp(node.ctime);
    if (m || a || c) {
      if (m) node.mtime = m;
      if (a) node.atime = a;
      if (c) node.ctime = c;
      if (clamped++ === 0) firstClamped = path || '/';
    }
    if (node.kind === 'dir') for (const [name, child] of node.entries) visit(child, `${path}/${displayName(name)}`);
  };
  visit(tree.root, '');
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
