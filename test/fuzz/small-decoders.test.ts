// Fuzz: the small decoders: the cpio newc header, the cooked directory's metadata table
// (cake-meta.jsonl is input too: a cooked tree can come from anywhere), the tar header
// pieces (decodeHeader, parsePax, paxTime, paxInteger, paxMap01, SparseMapParser,
// checkRuns), the ext4 options (parseSize, parseUuid, parseFeatures), parseOwner and
// cmdlineProblem.
//
// The tar header pieces throw HeaderError, a plain Error subclass (not a CakeError) that
// the tar reader turns into a CorruptInputError naming the archive and entry; called
// directly, as here, HeaderError is what they are allowed to throw.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { NEWC_MAGIC, decodeNewcHeader, encodeNewcEntry } from '../../src/bake/cpio/newc.js';
import { parseFeatures, parseSize, parseUuid } from '../../src/bake/ext4/options.js';
import { cmdlineProblem } from '../../src/bake/kernel-cmdline.js';
import { readTable } from '../../src/sources/meta-table.js';
import { HeaderError, SparseMapParser, checkRuns, decodeHeader, parsePax, paxInteger, paxMap01, paxTime } from '../../src/sources/tar-headers.js';
import { parseOwner } from '../../src/tree/transforms.js';
import { InvalidOptionError } from '../../src/util/errors.js';
import { RUNS, expectValueOrCakeError, fuzz, replayCorpus } from './expect-clean.js';
import { applyJsonOps, concat, hostileJson, jsonOps, mutatedBytes } from './mutate.js';
import { paxRecord, paxRecordBytes, tarArchive } from './tar-gen.js';

const BOUND_MS = 2000;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-fuzz-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const isHeaderError = (e: unknown): boolean => e instanceof HeaderError;
const clean = <T,>(f: () => T | Promise<T>) => expectValueOrCakeError(f, BOUND_MS);
const cleanHeader = <T,>(f: () => T | Promise<T>) => expectValueOrCakeError(f, BOUND_MS, isHeaderError);
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

let n = 0;
function tableCase(text: string): unknown {
  const file = path.join(work, `meta-${n++}.jsonl`);
  fs.writeFileSync(file, text);
  try {
    return readTable(file);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function feedSparse(data: Uint8Array, sizes: number[]): unknown {
  const p = new SparseMapParser();
  let at = 0;
  for (let i = 0; at < data.length && !p.done; i++) {
    const chunk = data.subarray(at, at + Math.max(1, sizes[i % sizes.length]!));
    const used = p.feed(chunk);
    if (used < 0 || used > chunk.length) throw new Error(`feed used ${used} of ${chunk.length} bytes`);
    at += used;
  }
  return p.done ? p.runs() : null;
}

/** Replays a corpus case: {"fn": NAME, "text" | "base64": input, "at"?: offset}. */
interface SmallCase {
  fn: string;
  text?: string;
  base64?: string;
  at?: number;
}

function replay(c: SmallCase): unknown {
  const bytes = c.base64 !== undefined ? new Uint8Array(Buffer.from(c.base64, 'base64')) : ascii(c.text ?? '');
  const text = c.text ?? Buffer.from(bytes).toString('latin1');
  switch (c.fn) {
    case 'decodeNewcHeader': return decodeNewcHeader(bytes, c.at ?? 0);
    case 'readTable': return tableCase(text);
    case 'decodeHeader': return decodeHeader(concat([bytes, new Uint8Array(Math.max(0, 512 - bytes.length))]).subarray(0, 512));
    case 'parsePax': return parsePax(bytes);
    case 'paxTime': return paxTime(bytes, 'mtime');
    case 'paxInteger': return paxInteger(bytes, 'size');
    case 'paxMap01': return paxMap01(bytes);
    case 'SparseMapParser': return feedSparse(bytes, [c.at ?? 512]);
    case 'parseSize': return parseSize(text);
    case 'parseUuid': return parseUuid(text);
    case 'parseFeatures': return checkFeatures(text);
    case 'parseOwner': return parseOwner(text);
    case 'cmdlineProblem': return cmdlineProblem(text);
    default: throw new Error(`corpus case for unknown function ${c.fn}`);
  }
}

/** parseFeatures, and the shape of what it returns: exactly the three toggles, as booleans. */
function checkFeatures(list: string): unknown {
  const f = parseFeatures(list);
  const keys = Object.keys(f).sort();
  if (keys.join() !== 'bit64,dirIndex,hasJournal' || !Object.values(f).every((v) => typeof v === 'boolean')) {
    throw new Error(`parseFeatures(${JSON.stringify(list)}) gave ${JSON.stringify(f)} (keys ${keys.join(', ')})`);
  }
  return f;
}

const asCase = (fn: string, input: Uint8Array | string, at?: number) => ({
  ext: 'json' as const,
  data: JSON.stringify(typeof input === 'string' ? { fn, text: input, at } : { fn, base64: Buffer.from(input).toString('base64'), at }),
});

const hexField = fc.oneof(
  { weight: 6, arbitrary: fc.nat().map((v) => v.toString(16).padStart(8, '0').slice(-8)) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFxg -+'), minLength: 8, maxLength: 8 }) },
);

describe('small decoders fuzz', () => {
  it('replays the corpus (corpus/small-decoders)', async () => {
    await replayCorpus('small-decoders', ({ bytes }) => replay(JSON.parse(Buffer.from(bytes).toString('utf8')) as SmallCase), BOUND_MS, isHeaderError);
  });

  it(`decodeNewcHeader (${RUNS} cases)`, async () => {
    const header = fc.array(hexField, { minLength: 13, maxLength: 13 }).map((fs) => ascii(NEWC_MAGIC + fs.join('')));
    const valid = encodeNewcEntry({ c_ino: 1, c_mode: 0o100644, c_uid: 0, c_gid: 0, c_nlink: 1, c_mtime: 0, c_filesize: 5, c_devmajor: 0, c_devminor: 0, c_rdevmajor: 0, c_rdevminor: 0 }, 'name');
    const input = fc.oneof(fc.uint8Array({ maxLength: 200 }), header, mutatedBytes(valid), fc.tuple(fc.uint8Array({ maxLength: 20 }), header).map(([a, b]) => concat([a, b])));
    await fuzz('small-decoders', fc.asyncProperty(input, fc.integer({ min: -5, max: 300 }), async (b, at) => void (await clean(() => decodeNewcHeader(b, at)))), {
      save: ([b, at]) => asCase('decodeNewcHeader', b, at),
    });
  });

  describe('readTable (cake-meta.jsonl)', () => {
    const HEADER = '{"format":"cake-img cooked tree","version":1}';
    const entry = { p: 'etc/passwd', k: 'f', m: 0o644, u: 0, g: 0, t: [1, 2, 3, 4, 5, 6], x: [['user.a', 'dmFsdWU=']], d: [1, 3], i: '12:5:1700000000000000000:420:0' };
    const line = fc.oneof(
      { weight: 4, arbitrary: jsonOps.map((ops) => JSON.stringify(applyJsonOps(entry, ops)) ?? '') },
      { weight: 1, arbitrary: hostileJson.map((v) => JSON.stringify(v) ?? '') },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    );
    const table = fc.tuple(fc.oneof({ weight: 6, arbitrary: fc.constant(HEADER) }, { weight: 1, arbitrary: jsonOps.map((ops) => JSON.stringify(applyJsonOps(JSON.parse(HEADER), ops)) ?? '') }), fc.array(line, { maxLength: 6 }))
      .map(([h, ls]) => [h, ...ls].join('\n'));

    it(`generated and mutated tables (${RUNS} cases)`, async () => {
      await fuzz('small-decoders', fc.asyncProperty(table, async (t) => void (await clean(() => tableCase(t)))), { save: ([t]) => asCase('readTable', t) });
    });
  });

  describe('tar header pieces (HeaderError allowed)', () => {
    it(`decodeHeader on blocks from generated archives and arbitrary blocks (${RUNS} cases)`, async () => {
      const block = fc.oneof(tarArchive.map((b) => concat([b, new Uint8Array(512)]).subarray(0, 512)), fc.uint8Array({ minLength: 512, maxLength: 512 }));
      await fuzz('small-decoders', fc.asyncProperty(block, async (b) => void (await cleanHeader(() => decodeHeader(b)))), { save: ([b]) => asCase('decodeHeader', b) });
    });

    it(`parsePax (${RUNS} cases)`, async () => {
      const records = fc.array(fc.tuple(paxRecord, fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) })), { maxLength: 6 })
        .map((rs) => concat(rs.map(([r, d]) => paxRecordBytes(r, d))));
      const input = fc.oneof(records, fc.uint8Array({ maxLength: 200 }), fc.tuple(records, fc.uint8Array({ maxLength: 20 })).map(([a, b]) => concat([a, b])));
      await fuzz('small-decoders', fc.asyncProperty(input, async (b) => void (await cleanHeader(() => parsePax(b)))), { save: ([b]) => asCase('parsePax', b) });
    });

    it(`paxTime, paxInteger, paxMap01 (${RUNS} cases)`, async () => {
      const num = fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789.-+e, '), maxLength: 40 }), fc.string({ unit: 'binary-ascii', maxLength: 20 }), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String));
      await fuzz('small-decoders', fc.asyncProperty(num, async (s) => {
        const b = ascii(s);
        const t = await cleanHeader(() => paxTime(b, 'mtime'));
        if (t.value) expect(Number.isSafeInteger(t.value.sec) && Number.isInteger(t.value.nsec) && t.value.nsec >= 0 && t.value.nsec < 1e9, JSON.stringify(t.value)).toBe(true);
        const i = await cleanHeader(() => paxInteger(b, 'size'));
        if (i.value !== undefined) expect(Number.isSafeInteger(i.value) && i.value >= 0).toBe(true);
        await cleanHeader(() => paxMap01(b));
      }), { save: ([s]) => asCase('paxTime', s) });
    });

    it(`SparseMapParser fed in chunks (${RUNS} cases)`, async () => {
      const map = fc.array(fc.oneof(fc.nat({ max: 1 << 20 }).map(String), fc.constantFrom('', '16777216', '16777217', '9007199254740993', '99999999999999999', 'x', ' ')), { maxLength: 12 }).map((ns) => ascii(`${ns.join('\n')}\n`));
      const input = fc.oneof(map, fc.uint8Array({ maxLength: 100 }), fc.tuple(map, fc.uint8Array({ maxLength: 30 })).map(([a, b]) => concat([a, b])));
      await fuzz('small-decoders', fc.asyncProperty(input, fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 5 }), async (b, sizes) => {
        await cleanHeader(() => feedSparse(b, sizes));
      }), { save: ([b, sizes]) => asCase('SparseMapParser', b, sizes[0]) });
    });

    it(`checkRuns (${RUNS} cases)`, async () => {
      const runs = fc.array(fc.record({ offset: fc.oneof(fc.nat({ max: 10_000 }), fc.integer({ min: -5, max: 5 }), fc.constantFrom(2 ** 53, Number.MAX_SAFE_INTEGER)), length: fc.oneof(fc.nat({ max: 10_000 }), fc.integer({ min: -5, max: 5 }), fc.constantFrom(2 ** 53, Number.MAX_SAFE_INTEGER)) }), { maxLength: 8 });
      const size = fc.oneof(fc.nat({ max: 50_000 }), fc.constantFrom(-1, 0.5, Number.NaN, Number.MAX_SAFE_INTEGER, 2 ** 60));
      await fuzz('small-decoders', fc.asyncProperty(runs, size, async (rs, s) => void (await cleanHeader(() => checkRuns(rs, s)))));
    });
  });

  describe('options', () => {
    const words = fc.constantFrom('64bit', '^64bit', 'dir_index', '^dir_index', 'has_journal', '^has_journal', 'extent', '^extent', 'inline_data', '^inline_data', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '^toString', 'valueOf', '', ' ', 'bigalloc');
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 20 }));

    it(`parseSize, parseUuid, parseFeatures: a value or an InvalidOptionError (${RUNS} cases)`, async () => {
      const size = fc.oneof(text, fc.tuple(fc.oneof(fc.nat().map(String), fc.double({ noNaN: true }).map(String), fc.constantFrom('1e400', '0', '00.5', '9'.repeat(40))), fc.constantFrom('', 'K', 'M', 'G', 'T', 'KiB', 'mb', 'P', ' M')).map(([a, b]) => a + b));
      const uuid = fc.oneof(text, fc.uuid(), fc.uuid().map((u) => u.replace(/-/g, '')), fc.uuid().map((u) => `${u}-`));
      const features = fc.oneof(text, fc.array(words, { maxLength: 4 }).map((w) => w.join(',')));
      await fuzz('small-decoders', fc.asyncProperty(size, uuid, features, async (s, u, f) => {
        for (const r of [await clean(() => parseSize(s)), await clean(() => parseUuid(u)), await clean(() => checkFeatures(f))]) {
          if (r.error) expect(r.error).toBeInstanceOf(InvalidOptionError);
        }
        const v = (await clean(() => parseSize(s))).value;
        if (v !== undefined && v !== 'auto') expect(Number.isSafeInteger(v) && v > 0).toBe(true);
      }), { save: ([, , f]) => asCase('parseFeatures', f) });
    });

    it(`parseOwner and cmdlineProblem never throw (${RUNS} cases)`, async () => {
      const owner = fc.oneof(text, fc.tuple(fc.oneof(fc.nat().map(String), fc.constantFrom('4294967295', '4294967296', '-1', '0x1', '9'.repeat(30), '')), fc.oneof(fc.nat().map(String), fc.constant('1e3'))).map(([a, b]) => `${a}:${b}`));
      const cmdline = fc.oneof(text, fc.string({ unit: 'grapheme', maxLength: 300 }), fc.nat({ max: 3000 }).map((k) => 'x'.repeat(k)));
      await fuzz('small-decoders', fc.asyncProperty(owner, cmdline, async (o, c) => {
        const r = await expectValueOrCakeError(() => parseOwner(o), BOUND_MS, () => false);
        expect(r.error).toBeUndefined();
        const p = await expectValueOrCakeError(() => cmdlineProblem(c), BOUND_MS, () => false);
        expect(p.error).toBeUndefined();
      }), { save: ([o]) => asCase('parseOwner', o) });
    });
  });
});
