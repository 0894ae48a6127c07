// util/untrusted.ts and the cook PATH it guards: any JSON value, including objects that
// name toString and valueOf (which String() and Number() would call), is read without
// throwing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { numberFrom, shown } from '../../src/util/untrusted.js';
import { cookPath } from '../../src/cook/store.js';

// Each of these makes String() throw (an array joins its items with their own toString).
const hostile: unknown[] = [{ toString: false }, { toString: false, valueOf: false }, [{ toString: 1 }]];
const odd: unknown[] = [JSON.parse('{"__proto__":{"toString":false}}'), JSON.parse('{"valueOf":false}')];

describe('untrusted JSON values', () => {
  it('shown and numberFrom never call into the value', () => {
    for (const v of hostile) {
      expect(() => String(v)).toThrow(TypeError); // what the helpers avoid (the arrays' join included)
      expect(shown(v)).toMatch(/^an (object|array)$/);
      expect(numberFrom(v)).toBeNaN();
    }
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.constantFrom(...hostile, ...odd)), (v) => {
      expect(typeof shown(v)).toBe('string');
      expect(typeof numberFrom(v)).toBe('number');
    }));
  });

  it('shown quotes strings and cuts long ones; numberFrom reads numbers and numeric text', () => {
    expect(shown('a"b')).toBe('"a\\"b"');
    expect(shown('x'.repeat(100), 10)).toBe(`"${'x'.repeat(10)}…"`);
    expect(shown(undefined)).toBe('none');
    expect(numberFrom('4096')).toBe(4096);
    expect(numberFrom(7)).toBe(7);
  });

  it("a pulled entry's PATH keeps only its strings", () => {
    expect(cookPath({ path: ['/a', { toString: false }, 3, '/b'] })).toEqual(['/a', '/b']);
    expect(cookPath({ path: { toString: false } })).toEqual([]);
    expect(cookPath({})).toEqual([]);
  });
});
