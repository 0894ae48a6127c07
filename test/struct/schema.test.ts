// The struct kit itself: offsets checked at definition, every width and endianness, split
// values, range checks on encode (no silent truncation), low-bit fields, get/set/span, and
// decoding that names the struct, field and offset when the bytes are short or too wide.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { StructRangeError, defineStruct } from '../../src/struct/schema.js';
import { CorruptInputError } from '../../src/util/errors.js';

const ALL = defineStruct('test all', [
  ['a', 'u8', 0x0],
  ['b', 'u16', 0x1],
  ['c', 'u32', 0x3],
  ['d', 'u16be', 0x7],
  ['e', 'u32be', 0x9],
  ['f', 'u64', 0xd],
  ['g', 'u64be', 0x15],
  ['h', 'bytes3', 0x1d],
  ['wide_lo', 'u32', 0x20],
  ['csum', 'u16', 0x24],
  ['wide_hi', 'u16', 0x26],
], { size: 0x30, split: { wide: ['wide_lo', 'wide_hi'] }, lowBits: ['csum'] });

describe('struct kit', () => {
  it('lays fields out as declared, little- and big-endian', () => {
    const b = ALL.encode({ a: 1, b: 0x0203, c: 0x04050607, d: 0x0809, e: 0x0a0b0c0d, f: 2 ** 40 + 5, g: 2 ** 40 + 5, h: new Uint8Array([7, 8, 9]) });
    expect(ALL.size).toBe(0x30);
    expect([...b.subarray(0, 0x20)]).toEqual([
      1, 3, 2, 7, 6, 5, 4, 8, 9, 10, 11, 12, 13,
      5, 0, 0, 0, 0, 1, 0, 0,
      0, 0, 1, 0, 0, 0, 0, 5,
      7, 8, 9,
    ]);
  });
  it('decode(encode(v)) is v for values in range', () => {
    fc.assert(fc.property(
      fc.record({
        a: fc.nat(0xff), b: fc.nat(0xffff), c: fc.nat(0xffffffff), d: fc.nat(0xffff), e: fc.nat(0xffffffff),
        f: fc.maxSafeNat(), g: fc.maxSafeNat(), wide: fc.nat(2 ** 48 - 1),
      }),
      (v) => {
        const buf = ALL.encode(v);
        const back = ALL.decode(buf);
        expect([back.a, back.b, back.c, back.d, back.e, back.f, back.g]).toEqual([v.a, v.b, v.c, v.d, v.e, v.f, v.g]);
        expect(ALL.get(buf, 0, 'wide')).toBe(v.wide);
        expect(back.wide_lo + back.wide_hi * 2 ** 32).toBe(v.wide);
      },
    ));
  });
  it('refuses a value its field cannot hold instead of truncating it', () => {
    expect(() => ALL.encode({ b: 0x10000 })).toThrow(StructRangeError);
    expect(() => ALL.encode({ a: -1 })).toThrow(/a = -1 does not fit u8/);
    expect(() => ALL.encode({ c: 1.5 })).toThrow(StructRangeError);
    expect(() => ALL.encode({ wide: 2 ** 48 })).toThrow(/wide .* does not fit 48 bits/);
    expect(() => ALL.encode({ h: new Uint8Array(4) })).toThrow(StructRangeError);
    expect(() => ALL.set(new Uint8Array(0x30), 0, 'd', 0x10000)).toThrow(StructRangeError);
  });
  it('masks only the fields declared as low bits', () => {
    const b = ALL.encode({ csum: 0x12345678 });
    expect(ALL.get(b, 0, 'csum')).toBe(0x5678);
  });
  it('set and get one field in place; span gives its bytes', () => {
    const buf = new Uint8Array(0x40);
    ALL.set(buf, 0x10, 'e', 0xdeadbeef);
    expect(ALL.get(buf, 0x10, 'e')).toBe(0xdeadbeef);
    expect([...buf.subarray(0x19, 0x1d)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(ALL.span('e')).toEqual([0x9, 0xd]);
    expect(ALL.offsets.g).toBe(0x15);
  });
  it('a short buffer or a u64 past 2^53 is corrupt input naming struct, field and offset', () => {
    expect(() => ALL.decode(new Uint8Array(0x2f))).toThrow(CorruptInputError);
    const b = new Uint8Array(0x30);
    b[0x14] = 0xff; // f's top byte
    let err: unknown;
    try { ALL.decode(b); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CorruptInputError);
    expect((err as CorruptInputError).field).toBe('f');
    expect((err as CorruptInputError).offset).toBe(0xd);
  });
  it('a table whose offsets disagree with the widths fails when defined', () => {
    expect(() => defineStruct('bad', [['x', 'u16', 0], ['y', 'u32', 3]])).toThrow(/y declared at 0x3 but falls at 0x2/);
    expect(() => defineStruct('bad', [['x', 'u16', 0]], { size: 1 })).toThrow(/past size/);
    expect(() => defineStruct('bad', [['x', 'u16', 0], ['x', 'u16', 2]])).toThrow(/twice/);
  });
});

describe('hex text fields', () => {
  const H = defineStruct('test hex', [['magic', 'bytes2', 0], ['n', 'hex8', 2]]);
  it('encode as lowercase digits, decode either case, refuse anything else', () => {
    const b = H.encode({ n: 0xdeadbeef });
    expect(new TextDecoder().decode(b.subarray(2))).toBe('deadbeef');
    b.set(new TextEncoder().encode('DEADBEEF'), 2);
    expect(H.decode(b).n).toBe(0xdeadbeef);
    expect(() => H.encode({ n: 2 ** 32 })).toThrow(/does not fit 8 hex digits/);
    b[5] = 0x67; // 'g'
    expect(() => H.decode(b)).toThrow(CorruptInputError);
  });

  // Encoders are made as code (new Function); a host that forbids it (a page's CSP) gets
  // the table loop instead. Both must write the same bytes and refuse the same values.
  it('encodes the same without made code (a host that forbids eval)', () => {
    const fields = [['a', 'u8', 0x0], ['b', 'u16', 0x1], ['c', 'u32', 0x3], ['d', 'u32be', 0x7], ['lo', 'u32', 0xb], ['hi', 'u16', 0xf], ['s', 'u16', 0x11]] as const;
    const opts = { split: { w: ['lo', 'hi'] }, lowBits: ['s'] } as const;
    const made = defineStruct('made', fields, opts);
    vi.stubGlobal('Function', function NoEval() {
      throw new EvalError('code generation from strings disallowed');
    });
    let loop;
    try {
      loop = defineStruct('loop', fields, opts);
    } finally {
      vi.unstubAllGlobals();
    }
    fc.assert(fc.property(
      fc.record({ a: fc.integer({ min: -1, max: 0x100 }), b: fc.nat(0x10000), c: fc.oneof(fc.nat(0xffffffff), fc.double()), d: fc.nat(0xffffffff), w: fc.nat(2 ** 48), s: fc.integer() }, { requiredKeys: [] }),
      (v) => {
        const run = (st: typeof made) => {
          try {
            return [...st.encode(v)];
          } catch (e) {
            return (e as Error).message.replace(/^struct \w+/, '');
          }
        };
        expect(run(loop)).toEqual(run(made));
      },
    ), { numRuns: 500 });
  });
});
