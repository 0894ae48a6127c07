// fast-check arbitrary for trees FAT can hold: long and Unicode (BMP) names, families of
// names that need aliases and collide (`Program Files`/`Program Filez`, many `~N`), names
// that differ only in case in different directories, deep chains, sizes around cluster
// boundaries, hard links (copies), read-only files, times before 1980 and after 2107, and
// now and then a directory of more than 1,000 entries.
import fc from 'fast-check';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { textToByteString } from '../../src/tree/names.js';

// BMP only: mtools 4.0 shows a surrogate pair as two '_' (the kernel reads them; see images.test.ts).
const nameChar = fc.constantFrom(...'abcxyzABCXYZ019 _-.~+,;=[]()$!', 'é', 'É', 'ß', 'Ω', 'ω', '日', 'ﬃ', '\u00a0');
const randomName = fc.array(nameChar, { minLength: 1, maxLength: 40 }).map((a) => a.join(''));
const fixedName = fc.constantFrom(
  'Program Files', 'Program Filez', 'PROGRA~1', 'readme.txt', 'README', 'Makefile', 'a.b.c', '.hidden', 'LongFileName.html',
  'x'.repeat(255), `${'é'.repeat(120)}.txt`, 'EFI', 'BOOTX64.EFI', 'loader.conf', 'foo bar', 'UPPER.txt', 'lower.TXT', 'MiXed.Ext',
);
/** Names FAT holds: no trailing dot or space (checkLongName refuses them). */
const fatName = fc.oneof(randomName, fixedName).filter((n) => !/[. ]$/.test(n) && n !== '.' && n !== '..');

/** Sizes at the edges of 512 B … 32 KiB clusters, and others. */
const EDGES = [0, 1, 511, 512, 513, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097, 8191, 8192, 8193, 32768, 32769];
const size = fc.oneof(fc.constantFrom(...EDGES), fc.integer({ min: 0, max: 40_000 }));
/** 1970 to 2200: clamped to 1980-2107 in the image; odd seconds round down. */
const time = fc.integer({ min: 0, max: 7_258_118_400 }).map((sec) => ({ sec, nsec: 0 }));

const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('dir' as const), parent: fc.nat(), name: fatName, time }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('file' as const), parent: fc.nat(), name: fatName, time, size, readOnly: fc.boolean(), seed: fc.nat(255) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('link' as const), parent: fc.nat(), name: fatName, target: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('family' as const), parent: fc.nat(), prefix: fc.constantFrom('Program Fil', 'Long File Name ', 'longfilename', 'a b', 'Ü'), count: fc.integer({ min: 2, max: 40 }), ext: fc.constantFrom('', '.txt', '.html', '.TXT') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('case' as const), name: fc.constantFrom('Readme', 'README', 'readme', 'ReadMe.TXT', 'ÉTÉ', 'été') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('chain' as const), parent: fc.nat(), depth: fc.integer({ min: 5, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wide' as const), parent: fc.nat(), inPlace: fc.boolean(), count: fc.oneof(fc.integer({ min: 5, max: 60 }), fc.integer({ min: 1000, max: 1100 })) }) },
);

/** The case-insensitive key of a name, as strict as FAT's (simple upper case per character). */
const fold = (n: string) => [...n].map((c) => (c.toUpperCase().length === c.length ? c.toUpperCase() : c)).join('');

export const fatTree = fc.array(op, { minLength: 1, maxLength: 30 }).map((ops) => {
  const m = new MemorySourceFs();
  const dirs = [''];
  const files: string[] = [];
  const names = new Map<string, Set<string>>([['', new Set()]]);
  const t0 = { sec: 1_700_000_000, nsec: 0 };
  /** Adds `name` under `parent` unless a name equal without case is there. */
  const place = (parent: string, name: string): string | null => {
    const taken = names.get(parent)!;
    if (taken.has(fold(name))) return null;
    taken.add(fold(name));
    return parent ? `${parent}/${textToByteString(name)}` : textToByteString(name);
  };
  const addDir = (parent: string, name: string, mtime = t0): string | null => {
    const p = place(parent, name);
    if (p === null) return null;
    m.addDir(p, { mtime, mode: 0o040755 });
    dirs.push(p);
    names.set(p, new Set());
    return p;
  };
  const addFile = (parent: string, name: string, bytes: Uint8Array, mtime = t0, mode = 0o100644) => {
    const p = place(parent, name);
    if (p === null) return;
    m.addFile(p, bytes, { mtime, mode });
    files.push(p);
  };
  const fill = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);
  for (const o of ops) {
    const parent = 'parent' in o ? dirs[o.parent % dirs.length]! : '';
    switch (o.kind) {
      case 'dir': addDir(parent, o.name, o.time); break;
      case 'file': addFile(parent, o.name, fill(o.size, o.seed), o.time, o.readOnly ? 0o100444 : 0o100644); break;
      case 'link': {
        if (!files.length) break;
        const p = place(parent, o.name);
        if (p !== null) m.addHardLink(p, files[o.target % files.length]!);
        break;
      }
      case 'family': for (let i = 0; i < o.count; i++) addFile(parent, `${o.prefix}${i}${o.ext}`, fill(i % 3, i)); break;
      case 'case': {
        // The same name in different case, each in a directory of its own.
        const d = addDir('', `case-${dirs.length}`);
        if (d) addFile(d, o.name, fill(3, dirs.length));
        break;
      }
      case 'chain': {
        let d: string | null = parent;
        for (let i = 0; i < o.depth && d !== null; i++) d = addDir(d, `level ${i} of ${o.depth}`);
        if (d !== null) addFile(d, 'bottom.txt', fill(10, 1));
        break;
      }
      case 'wide': {
        // In a new directory, or in the parent itself (the root among them: FAT16's root grows).
        const d = o.inPlace ? parent : addDir(parent, `wide-${dirs.length}`);
        if (d !== null) for (let i = 0; i < o.count; i++) addFile(d, `entry number ${i} of ${o.count}`, new Uint8Array(0));
        break;
      }
    }
  }
  return m;
});
