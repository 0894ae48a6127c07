// Arbitrary tar archives that get past the checksum: header blocks with every field drawn
// from what writers put there and what they should not (octal, base-256 positive and
// negative, spaces, garbage), the checksum then fixed; pax records (local and global,
// GNU.sparse.*, SCHILY.xattr.*, huge and negative numbers); GNU long names; old GNU
// sparse headers with extension blocks; pax sparse 0.0/0.1/1.0; garbage blocks.
import fc from 'fast-check';
import { headerSum } from '../../src/sources/tar-headers.js';
import { concat } from './mutate.js';

const BLOCK = 512;
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const pad = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;

/** How a numeric field is written. */
export type NumField =
  | { kind: 'octal'; value: bigint; terminator: 'nul' | 'space' | 'none'; leadingSpaces: number }
  | { kind: 'base256'; value: bigint }
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'text'; text: string };

function writeNum(b: Uint8Array, off: number, len: number, f: NumField): void {
  b.fill(0, off, off + len);
  switch (f.kind) {
    case 'octal': {
      let s = ' '.repeat(f.leadingSpaces) + f.value.toString(8);
      const room = f.terminator === 'none' ? len : len - 1;
      if (s.length < room) s = s.padStart(room, '0');
      s = s.slice(-room) + (f.terminator === 'nul' ? '\0' : f.terminator === 'space' ? ' ' : '');
      b.set(ascii(s).subarray(0, len), off);
      break;
    }
    case 'base256': {
      let x = f.value < 0n ? (1n << BigInt(len * 8)) + f.value : f.value;
      for (let i = len - 1; i >= 0; i--) {
        b[off + i] = Number(x & 0xffn);
        x >>= 8n;
      }
      b[off] = (b[off]! & 0x7f) | 0x80;
      if (f.value < 0n) b[off] = b[off]! | 0x40;
      break;
    }
    case 'raw':
      b.set(f.bytes.subarray(0, len), off);
      break;
    case 'text':
      b.set(ascii(f.text).subarray(0, len), off);
      break;
  }
}

/** A numeric field: usually `exact` in octal when given, else anything a writer or an attacker may put there. */
export function numField(width: number, exact?: number): fc.Arbitrary<NumField> {
  const octal = (value: fc.Arbitrary<bigint>): fc.Arbitrary<NumField> =>
    fc.record({
      kind: fc.constant('octal' as const), value,
      terminator: fc.constantFrom('nul' as const, 'space' as const, 'none' as const),
      leadingSpaces: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 3 }) }),
    });
  const maxOctal = 8n ** BigInt(width) - 1n;
  const options: fc.WeightedArbitrary<NumField>[] = [
    { weight: 2, arbitrary: octal(fc.bigInt({ min: 0n, max: maxOctal })) },
    { weight: 2, arbitrary: octal(fc.constantFrom(0n, 1n, 7n, 0o777n, 0o7777n, 0o170000n, 65534n, 2n ** 32n, maxOctal)) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('base256' as const),
        value: fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.constantFrom(-1n, 2n ** 60n, -(2n ** 60n), 2n ** 53n, 2n ** 53n + 1n, 2n ** 33n, 0n)),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ minLength: width, maxLength: width }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('text' as const), text: fc.constantFrom('', ' ', '        ', '0', '8', '-1', '9'.repeat(width), '7'.repeat(width), ' 7 7', '0x10', '1e9') }) },
  ];
  if (exact !== undefined) options.push({ weight: 12, arbitrary: octal(fc.constant(BigInt(exact))) });
  return fc.oneof(...options);
}

export interface HeaderSpec {
  name: Uint8Array;
  mode: NumField;
  uid: NumField;
  gid: NumField;
  size: NumField;
  mtime: NumField;
  type: number;
  linkname: Uint8Array;
  magic: 'ustar' | 'gnu' | 'v7' | 'random';
  magicBytes: Uint8Array;
  uname: Uint8Array;
  devmajor: NumField;
  devminor: NumField;
  prefix: Uint8Array;
  /** Old GNU sparse area at 386: runs, isextended (482), realsize (483). */
  gnuSparse?: { runs: [NumField, NumField][]; extended: boolean; realsize: NumField };
  /** Leave the checksum wrong (rarely). */
  badSum: boolean;
  /** Fill bytes 500..511 (unused) with junk. */
  tail: Uint8Array;
}

/** One header block with its checksum fixed (unless `badSum`). */
export function headerBlock(h: HeaderSpec): Uint8Array {
  const b = new Uint8Array(BLOCK);
  b.set(h.name.subarray(0, 100), 0);
  writeNum(b, 100, 8, h.mode);
  writeNum(b, 108, 8, h.uid);
  writeNum(b, 116, 8, h.gid);
  writeNum(b, 124, 12, h.size);
  writeNum(b, 136, 12, h.mtime);
  b[156] = h.type;
  b.set(h.linkname.subarray(0, 100), 157);
  const magic = h.magic === 'ustar' ? ascii('ustar\x0000') : h.magic === 'gnu' ? ascii('ustar  \0') : h.magic === 'random' ? h.magicBytes.subarray(0, 8) : new Uint8Array(0);
  b.set(magic, 257);
  if (h.magic !== 'v7') {
    b.set(h.uname.subarray(0, 32), 265);
    writeNum(b, 329, 8, h.devmajor);
    writeNum(b, 337, 8, h.devminor);
    if (h.magic === 'ustar') b.set(h.prefix.subarray(0, 155), 345);
  }
  if (h.gnuSparse) {
    h.gnuSparse.runs.slice(0, 4).forEach(([o, l], i) => {
      writeNum(b, 386 + i * 24, 12, o);
      writeNum(b, 398 + i * 24, 12, l);
    });
    b[482] = h.gnuSparse.extended ? 1 : 0;
    writeNum(b, 483, 12, h.gnuSparse.realsize);
  } else if (h.magic !== 'ustar') {
    b.set(h.tail.subarray(0, 12), 500);
  }
  writeNum(b, 148, 8, { kind: 'octal', value: BigInt(headerSum(b) + (h.badSum ? 1 : 0)), terminator: 'nul', leadingSpaces: 0 });
  b[155] = 0x20;
  return b;
}

/** Sets a block's checksum field to match its bytes (what a mutated header needs to get past the first check). */
export function fixChecksum(b: Uint8Array, at: number): void {
  if (at + BLOCK > b.length) return;
  const block = b.subarray(at, at + BLOCK);
  writeNum(block, 148, 8, { kind: 'octal', value: BigInt(headerSum(block)), terminator: 'nul', leadingSpaces: 0 });
  block[155] = 0x20;
}

// --- names ---------------------------------------------------------------------------------

const NAMES = [
  'a', 'b', 'a/b', 'a/b/c', 'a/', 'd/', './a', '.', './', '', '..', 'a/../b', '/etc/passwd', '//x', 'x/./y', 'a//b', 'e/f/g/h',
  '.wh.a', 'dev/null', 'link', 'l/inside', 'caf\xc3\xa9', '\xff\xfe', 'nul\0inside', 'x'.repeat(99), 'y'.repeat(100), `${'p'.repeat(60)}/${'q'.repeat(60)}`,
];
export const nameBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NAMES).map(ascii) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 120 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', '/', '.', '\0'), maxLength: 30 }).map(ascii) },
);

// --- pax records ------------------------------------------------------------------------------

const NUMBER_TEXT = fc.oneof(
  fc.nat({ max: 4096 }).map(String),
  fc.constantFrom('0', '-1', '1152921504606846976', '9007199254740991', '9007199254740993', '9'.repeat(17), '99999999999999999999', '', ' 1', '1 ', '0x10', '1.5', '1e3', '+5', '00000000000000001'),
  fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
);
const TIME_TEXT = fc.oneof(
  fc.constantFrom('0', '1700000000.123456789', '-1.5', '-0.000000001', '1e3', '99999999999999999.1', '.5', '5.', '-', '1.', '1.1234567891234', '-9007199254740991', '9007199254740991.999999999'),
  fc.tuple(fc.integer(), fc.nat()).map(([s, f]) => `${s}.${f}`),
);
const MAP_TEXT = fc.oneof(
  fc.array(fc.nat({ max: 70_000 }), { maxLength: 12 }).map((a) => a.join(',')),
  fc.constantFrom('', ',', '0', '0,', '1,2,3', '0,-1', `${2 ** 60},1`, 'a,b'),
);
const STRING_VALUE = fc.oneof(nameBytes.map((b) => String.fromCharCode(...b)), fc.string({ unit: 'binary-ascii', maxLength: 40 }));

const NUMERIC_KEYS = ['size', 'uid', 'gid', 'GNU.sparse.realsize', 'GNU.sparse.size', 'GNU.sparse.offset', 'GNU.sparse.numbytes', 'SCHILY.devmajor', 'SCHILY.devminor'];
const TIME_KEYS = ['mtime', 'atime', 'ctime'];
const STRING_KEYS = [
  'path', 'linkpath', 'uname', 'gname', 'GNU.sparse.name', 'SCHILY.xattr.user.a', 'SCHILY.xattr.security.capability', 'SCHILY.xattr.\xff\xfe',
  'LIBARCHIVE.xattr.user.%41%zz', 'SCHILY.acl.access', 'comment', 'hdrcharset',
];

export type PaxRecord = [string, string];

export const paxRecord: fc.Arbitrary<PaxRecord> = fc.oneof(
  fc.tuple(fc.constantFrom(...NUMERIC_KEYS), NUMBER_TEXT),
  fc.tuple(fc.constantFrom(...TIME_KEYS), TIME_TEXT),
  fc.tuple(fc.constantFrom(...STRING_KEYS), STRING_VALUE),
  fc.tuple(fc.constant('GNU.sparse.map'), MAP_TEXT),
  fc.tuple(fc.constantFrom('GNU.sparse.major', 'GNU.sparse.minor'), fc.constantFrom('0', '1', '2', '', '01')),
  fc.tuple(fc.string({ unit: 'binary-ascii', maxLength: 12 }), fc.string({ unit: 'binary-ascii', maxLength: 12 })),
);

/** "len key=value\n", len counting itself; `lenDelta` makes it lie. */
export function paxRecordBytes([key, value]: PaxRecord, lenDelta = 0): Uint8Array {
  const body = ascii(` ${key}=${value}\n`);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return concat([ascii(String(len + lenDelta)), body]);
}

// --- entries -------------------------------------------------------------------------------

export type EntrySpec =
  | { kind: 'plain'; header: HeaderSpec; data: Uint8Array }
  | { kind: 'pax'; global: boolean; records: PaxRecord[]; lenDeltas: number[]; header: HeaderSpec; then: EntrySpec | null }
  | { kind: 'long'; which: 'L' | 'K'; text: Uint8Array; header: HeaderSpec; then: EntrySpec | null }
  | { kind: 'oldSparse'; header: HeaderSpec; extensions: Uint8Array[]; data: Uint8Array }
  | { kind: 'paxSparse'; version: '0.0' | '0.1' | '1.0'; runs: [number, number][]; realsize: number; header: HeaderSpec; data: Uint8Array; mapText: string | null }
  | { kind: 'raw'; block: Uint8Array; fix: boolean }
  | { kind: 'zero' }
  | { kind: 'garbage'; bytes: Uint8Array };

const TYPES = [0x30, 0x00, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x44, 0x56, 0x4d, 0x53, 0x78, 0x67, 0x4c, 0x4b, 0x41, 0x7f, 0xff];

const NUM_FIELDS = ['mode', 'uid', 'gid', 'size', 'mtime', 'devmajor', 'devminor'] as const;
const WIDTH: Record<(typeof NUM_FIELDS)[number], number> = { mode: 8, uid: 8, gid: 8, size: 12, mtime: 12, devmajor: 8, devminor: 8 };

/**
 * A header whose numeric fields are right (octal, with the terminators writers use)
 * except for a few chosen "wild" ones, so most headers get past field decoding and the
 * entry logic behind it is reached.
 */
function header(type: fc.Arbitrary<number>, size: number | undefined, extra: Partial<Record<keyof HeaderSpec, fc.Arbitrary<unknown>>> = {}): fc.Arbitrary<HeaderSpec> {
  const exact: Record<(typeof NUM_FIELDS)[number], number | undefined> = { mode: 0o644, uid: 0, gid: 0, size, mtime: 1_700_000_000, devmajor: 0, devminor: 0 };
  const wildSets = fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as string[]) },
    { weight: 2, arbitrary: fc.subarray([...NUM_FIELDS], { minLength: 1, maxLength: 2 }) },
  );
  return wildSets.chain((wild) => {
    const nums: Record<string, fc.Arbitrary<unknown>> = {};
    for (const f of NUM_FIELDS) {
      const e = exact[f];
      nums[f] = wild.includes(f) || e === undefined ? numField(WIDTH[f], f === 'size' ? e : undefined) : exactOctal(e);
    }
    return fc.record({
      name: nameBytes,
      ...nums,
      type,
      linkname: nameBytes,
      magic: fc.constantFrom('ustar' as const, 'ustar' as const, 'gnu' as const, 'gnu' as const, 'v7' as const, 'random' as const),
      magicBytes: fc.uint8Array({ minLength: 8, maxLength: 8 }),
      uname: fc.uint8Array({ maxLength: 8 }),
      prefix: fc.oneof({ weight: 4, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: nameBytes }),
      gnuSparse: fc.constant(undefined),
      badSum: fc.oneof({ weight: 100, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      tail: fc.oneof({ weight: 4, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) }),
      ...extra,
    } as Record<keyof HeaderSpec, fc.Arbitrary<unknown>>) as fc.Arbitrary<HeaderSpec>;
  });
}

/** `value` in octal the way real writers end fields: NUL, space, or neither. */
function exactOctal(value: number): fc.Arbitrary<NumField> {
  return fc.record({
    kind: fc.constant('octal' as const),
    value: fc.constant(BigInt(value)),
    terminator: fc.constantFrom('nul' as const, 'nul' as const, 'space' as const, 'none' as const),
    leadingSpaces: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 2 }) }),
  });
}

const dataBytes = fc.oneof({ weight: 3, arbitrary: fc.uint8Array({ maxLength: 1200 }) }, { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) });

const plain: fc.Arbitrary<EntrySpec> = dataBytes.chain((data) =>
  header(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...TYPES.slice(0, 11)) }, { weight: 1, arbitrary: fc.constantFrom(...TYPES) }, { weight: 1, arbitrary: fc.nat({ max: 255 }) }), data.length).map(
    (h): EntrySpec => ({ kind: 'plain', header: h, data }),
  ),
);

const sparseRuns = fc.array(fc.tuple(fc.nat({ max: 5000 }), fc.nat({ max: 700 })), { maxLength: 30 }).map((gaps) => {
  // Ascending runs from (gap, length) pairs.
  const runs: [number, number][] = [];
  let at = 0;
  for (const [gap, len] of gaps) {
    runs.push([at + gap, len]);
    at += gap + len;
  }
  return { runs, end: at };
});

const oldSparse: fc.Arbitrary<EntrySpec> = sparseRuns.chain(({ runs, end }) => {
  const stored = runs.reduce((n, [, l]) => n + l, 0);
  const mostly = (v: number): fc.Arbitrary<NumField> => fc.oneof({ weight: 12, arbitrary: exactOctal(v) }, { weight: 1, arbitrary: numField(12, v) });
  const exactRun = (r: [number, number]): fc.Arbitrary<[NumField, NumField]> => fc.tuple(mostly(r[0]), mostly(r[1]));
  return fc
    .record({
      runs: fc.tuple(...runs.map(exactRun)),
      realsize: fc.oneof({ weight: 6, arbitrary: exactOctal(end + 100) }, { weight: 1, arbitrary: exactOctal(end) }, { weight: 1, arbitrary: numField(12, end) }),
      extended: fc.boolean(),
      extra: fc.nat({ max: 3 }),
      data: fc.oneof({ weight: 4, arbitrary: fc.constant(new Uint8Array(stored)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: stored + 600 }) }),
    })
    .chain(({ runs: fields, realsize, extended, data }) =>
      header(fc.constant(0x53), data.length, {
        gnuSparse: fc.constant({ runs: fields.slice(0, 4), extended: fields.length > 4 || extended, realsize }),
        magic: fc.constantFrom('gnu' as const, 'gnu' as const, 'ustar' as const),
      }).map((h): EntrySpec => {
        // Extension blocks: 21 (offset, numbytes) pairs each, isextended at 504.
        const ext: Uint8Array[] = [];
        const rest = fields.slice(4);
        for (let i = 0; i < rest.length; i += 21) {
          const b = new Uint8Array(BLOCK);
          rest.slice(i, i + 21).forEach(([o, l], k) => {
            writeNum(b, k * 24, 12, o);
            writeNum(b, k * 24 + 12, 12, l);
          });
          b[504] = i + 21 < rest.length ? 1 : 0;
          ext.push(b);
        }
        if (fields.length <= 4 && extended) ext.push(new Uint8Array(BLOCK)); // an empty extension block
        return { kind: 'oldSparse', header: h, extensions: ext, data };
      }),
    );
});

const paxSparse: fc.Arbitrary<EntrySpec> = fc
  .tuple(sparseRuns, fc.constantFrom('0.0' as const, '0.1' as const, '1.0' as const), fc.integer({ min: -5, max: 200 }), fc.boolean())
  .chain(([{ runs, end }, version, slack, honest]) => {
    const stored = runs.reduce((n, [, l]) => n + l, 0);
    const mapText = version === '1.0' ? `${runs.length}\n${runs.map(([o, l]) => `${o}\n${l}\n`).join('')}` : null;
    const mapLen = mapText === null ? 0 : mapText.length + pad(mapText.length);
    return fc
      .record({
        data: honest ? fc.constant(new Uint8Array(stored)) : fc.uint8Array({ maxLength: stored + 100 }),
        mapText: honest || mapText === null ? fc.constant(mapText) : fc.oneof(fc.constant(mapText), fc.string({ unit: fc.constantFrom('0', '1', '9', '\n', 'x', '\0'), maxLength: 60 })),
      })
      .chain(({ data, mapText: m }) =>
        header(fc.constantFrom(0x30, 0x30, 0x30, 0x53, 0x35), data.length + mapLen).map(
          (h): EntrySpec => ({ kind: 'paxSparse', version, runs, realsize: Math.max(0, end + slack), header: h, data, mapText: m }),
        ),
      );
  });

const raw: fc.Arbitrary<EntrySpec> = fc.record({ kind: fc.constant('raw' as const), block: fc.uint8Array({ minLength: BLOCK, maxLength: BLOCK }), fix: fc.boolean() });

const entry: fc.Arbitrary<EntrySpec> = fc.letrec<{ e: EntrySpec }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 8, arbitrary: plain },
    {
      weight: 3,
      arbitrary: fc
        .record({
          global: fc.boolean(),
          records: fc.array(paxRecord, { maxLength: 8 }),
          lenDeltas: fc.array(fc.oneof({ weight: 15, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }), { maxLength: 8 }),
          then: fc.oneof({ weight: 4, arbitrary: tie('e') }, { weight: 1, arbitrary: fc.constant(null) }),
        })
        .chain((p) => {
          const size = p.records.reduce((n, r, i) => n + paxRecordBytes(r, p.lenDeltas[i] ?? 0).length, 0);
          return header(fc.constant(p.global ? 0x67 : 0x78), size).map((h): EntrySpec => ({ kind: 'pax', ...p, header: h }));
        }),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ which: fc.constantFrom('L' as const, 'K' as const), text: fc.oneof(nameBytes, fc.uint8Array({ maxLength: 700 })), then: fc.oneof({ weight: 4, arbitrary: tie('e') }, { weight: 1, arbitrary: fc.constant(null) }) })
        .chain((l) => header(fc.constant(l.which.charCodeAt(0)), l.text.length + 1).map((h): EntrySpec => ({ kind: 'long', ...l, header: h }))),
    },
    { weight: 2, arbitrary: oldSparse },
    { weight: 2, arbitrary: paxSparse },
    { weight: 1, arbitrary: raw },
    { weight: 1, arbitrary: fc.oneof({ weight: 1, arbitrary: fc.constant({ kind: 'zero' as const }) }, { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 700 }) }) }) },
  ),
})).e;

function withPad(data: Uint8Array): Uint8Array {
  return concat([data, new Uint8Array(pad(data.length))]);
}

export function entryBytes(e: EntrySpec): Uint8Array {
  switch (e.kind) {
    case 'plain':
      return concat([headerBlock(e.header), withPad(e.data)]);
    case 'pax': {
      const data = concat(e.records.map((r, i) => paxRecordBytes(r, e.lenDeltas[i] ?? 0)));
      return concat([headerBlock(e.header), withPad(data), e.then ? entryBytes(e.then) : new Uint8Array(0)]);
    }
    case 'long':
      return concat([headerBlock(e.header), withPad(concat([e.text, new Uint8Array(1)])), e.then ? entryBytes(e.then) : new Uint8Array(0)]);
    case 'oldSparse':
      return concat([headerBlock(e.header), ...e.extensions, withPad(e.data)]);
    case 'paxSparse': {
      const recs: PaxRecord[] = [];
      if (e.version === '0.0') {
        recs.push(['GNU.sparse.size', String(e.realsize)]);
        for (const [o, l] of e.runs) recs.push(['GNU.sparse.offset', String(o)], ['GNU.sparse.numbytes', String(l)]);
      } else if (e.version === '0.1') {
        recs.push(['GNU.sparse.size', String(e.realsize)], ['GNU.sparse.map', e.runs.flat().join(',')]);
      } else {
        recs.push(['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.name', 'sparse'], ['GNU.sparse.realsize', String(e.realsize)]);
      }
      const paxData = concat(recs.map((r) => paxRecordBytes(r)));
      const paxHeader = headerBlock({ ...e.header, type: 0x78, size: { kind: 'octal', value: BigInt(paxData.length), terminator: 'nul', leadingSpaces: 0 }, badSum: false });
      const map = e.mapText === null ? new Uint8Array(0) : withPad(ascii(e.mapText));
      return concat([paxHeader, withPad(paxData), headerBlock(e.header), withPad(concat([map, e.data]))]);
    }
    case 'raw': {
      const b = e.block.slice();
      if (e.fix) fixChecksum(b, 0);
      return b;
    }
    case 'zero':
      return new Uint8Array(BLOCK);
    case 'garbage':
      return e.bytes;
  }
}

export interface ArchiveSpec {
  entries: EntrySpec[];
  end: 'two-zero' | 'one-zero' | 'none';
  trailing: Uint8Array;
}

export const archive: fc.Arbitrary<ArchiveSpec> = fc.record({
  entries: fc.array(entry, { minLength: 1, maxLength: 6 }),
  end: fc.constantFrom('two-zero' as const, 'two-zero' as const, 'one-zero' as const, 'none' as const),
  trailing: fc.oneof({ weight: 5, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }) }),
});

export function archiveBytes(a: ArchiveSpec): Uint8Array {
  const end = new Uint8Array(a.end === 'two-zero' ? 2 * BLOCK : a.end === 'one-zero' ? BLOCK : 0);
  return concat([...a.entries.map(entryBytes), end, a.trailing]);
}

/** Arbitrary tar archives (bytes) that reach the decoder's deeper paths. */
export const tarArchive: fc.Arbitrary<Uint8Array> = archive.map(archiveBytes);

/** Offsets of the 512-byte blocks of `b` whose checksum is right: the headers of a real archive. */
export function headerOffsets(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 0; at + BLOCK <= b.length; at += BLOCK) {
    const block = b.subarray(at, at + BLOCK);
    if (block.every((x) => x === 0)) continue;
    let stored = 0;
    for (let i = 148; i < 156 && block[i] !== 0 && block[i] !== 0x20; i++) stored = stored * 8 + (block[i]! - 0x30);
    if (stored === headerSum(block)) out.push(at);
  }
  return out;
}
