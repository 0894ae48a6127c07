// Random trees with everything a hostile or unusual source can hold, for the emitters:
// names with newlines, tabs, quotes, backslashes and 255-byte UTF-8; sparse files with
// random holes; every inode kind and hard links; xattrs of every size (the kernel decides
// which it can hold, see materialiseAsRoot); owners up to 2^32 − 2; times from 1901 to
// 2446 with nanoseconds. A tree is a list of entries in creation order (parents first).
import fc from 'fast-check';
import { textToByteString } from '../../src/tree/names.js';
import type { DataRun, Timestamp } from '../../src/tree/node.js';

export interface WildEntry {
  /** Byte-string path, relative ("a/b"). */
  path: string;
  kind: 'dir' | 'file' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket' | 'link';
  perm: number;
  uid: number;
  gid: number;
  atime: Timestamp;
  mtime: Timestamp;
  /** Files: the logical size and the runs that hold data (the rest are holes). */
  size?: number;
  runs?: DataRun[];
  seed?: number;
  target?: string;
  major?: number;
  minor?: number;
  /** Hard links: the path of the file linked to. */
  linkTo?: string;
  xattrs: { name: string; size: number }[];
}

const MIN_TIME = -(2 ** 31); // 1901-12-13
const MAX_TIME = 3 * 2 ** 32 + 2 ** 31 - 1; // 2446-05-10

const plain = fc.constantFrom(...'abcxyz019_-.', 'é', '日', 'ß', '🎂');
const odd = fc.constantFrom('\n', '\t', '"', "'", '\\', ' ', '$', '*', '\r', '\x1b');
/** A name: short and ordinary, with odd characters, or as long as a name can be (255 bytes of UTF-8). */
const name = fc.oneof(
  { weight: 6, arbitrary: fc.array(plain, { minLength: 1, maxLength: 16 }).map((a) => a.join('')) },
  { weight: 3, arbitrary: fc.array(fc.oneof(plain, odd), { minLength: 1, maxLength: 16 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom('é', '日', 'a', '🎂'), { minLength: 60, maxLength: 140 }).map((a) => a.join('')) },
).map((s) => {
  let b = textToByteString(s);
  // 255 bytes at most, cut at a UTF-8 character boundary.
  if (b.length > 255) {
    b = b.slice(0, 255);
    while (b.length && (b.charCodeAt(b.length - 1) & 0xc0) === 0x80) b = b.slice(0, -1);
    if (b.length && b.charCodeAt(b.length - 1) >= 0xc0) b = b.slice(0, -1);
  }
  return b;
}).filter((n) => n !== '' && n !== '.' && n !== '..' && n !== 'lost+found');

const time = fc.record({ sec: fc.oneof(fc.integer({ min: MIN_TIME, max: MAX_TIME }), fc.constantFrom(MIN_TIME, 0, MAX_TIME)), nsec: fc.integer({ min: 0, max: 999_999_999 }) })
  .map((t) => (t.sec === MAX_TIME ? { sec: t.sec, nsec: 0 } : t));
const owner = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 70_000 }), fc.integer({ min: 0, max: 2 ** 32 - 2 }), fc.constant(2 ** 32 - 2));
const xattrs = fc.uniqueArray(
  fc.record({ name: fc.stringMatching(/^[a-z]{1,10}$/), size: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 4000 })) }),
  { maxLength: 5, selector: (x) => x.name },
);
/** Data runs inside `size`: a few, anywhere, block-aligned or not. */
const runsFor = (size: number) => fc.uniqueArray(fc.integer({ min: 0, max: Math.max(0, size - 1) }), { maxLength: 8 }).map((cuts) => {
  const pts = [...cuts, 0, size].sort((a, b) => a - b);
  const runs: DataRun[] = [];
  for (let i = 0; i + 1 < pts.length; i += 2) if (pts[i + 1]! > pts[i]!) runs.push({ offset: pts[i]!, length: pts[i + 1]! - pts[i]! });
  return runs;
});

const op = fc.record({
  kind: fc.constantFrom('dir', 'dir', 'file', 'file', 'file', 'sparse', 'symlink', 'chardev', 'blockdev', 'fifo', 'socket', 'link'),
  parent: fc.nat(),
  name,
  perm: fc.integer({ min: 0, max: 0o7777 }),
  uid: owner,
  gid: owner,
  atime: time,
  mtime: time,
  size: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 40_000 })),
  sparseSize: fc.integer({ min: 1, max: 300_000 }),
  seed: fc.nat(255),
  target: fc.oneof(fc.stringMatching(/^[a-z/.]{1,58}$/), fc.stringMatching(/^[a-z/]{60,300}$/), name),
  major: fc.integer({ min: 0, max: 4095 }),
  minor: fc.integer({ min: 0, max: 2 ** 20 - 1 }),
  linkTo: fc.nat(),
  xattrs,
});

export const wildTree = fc.array(op, { minLength: 1, maxLength: 30 }).chain((ops) =>
  fc.tuple(...ops.map((o) => (o.kind === 'sparse' ? runsFor(o.sparseSize) : fc.constant([] as DataRun[])))).map((runs) => {
    const entries: WildEntry[] = [];
    const dirs = [''];
    const files: string[] = [];
    const taken = new Set<string>();
    ops.forEach((o, i) => {
      const parent = dirs[o.parent % dirs.length]!;
      const path = parent ? `${parent}/${o.name}` : o.name;
      if (taken.has(path) || path.length > 1500) return;
      const base = { path, perm: o.perm, uid: o.uid, gid: o.gid, atime: o.atime, mtime: o.mtime, xattrs: o.xattrs };
      let e: WildEntry;
      switch (o.kind) {
        case 'dir':
          e = { ...base, kind: 'dir', perm: o.perm | 0o700 }; // the materialiser must be able to fill it
          dirs.push(path);
          break;
        case 'file':
          e = { ...base, kind: 'file', size: o.size, seed: o.seed };
          files.push(path);
          break;
        case 'sparse':
          e = { ...base, kind: 'file', size: o.sparseSize, runs: runs[i], seed: o.seed };
          files.push(path);
          break;
        case 'symlink':
          e = { ...base, kind: 'symlink', perm: 0o777, target: o.target, xattrs: [] };
          break;
        case 'chardev':
        case 'blockdev':
          e = { ...base, kind: o.kind, major: o.major, minor: o.minor };
          break;
        case 'fifo':
        case 'socket':
          e = { ...base, kind: o.kind };
          break;
        case 'link':
          if (!files.length) return;
          e = { ...base, kind: 'link', linkTo: files[o.linkTo % files.length]!, xattrs: [] };
          break;
        default:
          return;
      }
      taken.add(path);
      entries.push(e);
    });
    return entries;
  }),
);

/** A file's bytes: a pattern from the seed where its runs are, zeros in the holes. */
export function fileBytes(e: WildEntry): Uint8Array {
  const out = new Uint8Array(e.size ?? 0);
  const runs = e.runs ?? [{ offset: 0, length: out.length }];
  for (const r of runs) for (let i = r.offset; i < r.offset + r.length; i++) out[i] = ((i * 31 + e.seed!) & 0xff) | 1;
  return out;
}
