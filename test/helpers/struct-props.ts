// The properties every struct table must have, shared by the format tests: decoding
// arbitrary bytes and encoding the value back is stable, and a short buffer is a
// CorruptInputError, never a RangeError.
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Struct } from '../../src/struct/schema.js';
import { CorruptInputError } from '../../src/util/errors.js';

/** `exact`: every byte is a declared field, so encode(decode(bytes)) is the bytes themselves. */
export function expectStructRoundTrips(structs: Struct<object>[], opts: { exact?: boolean } = {}): void {
  for (const s of structs) {
    fc.assert(fc.property(fc.uint8Array({ minLength: s.size, maxLength: s.size }), (bytes) => {
      const v = s.decode(bytes);
      const again = s.encode(v);
      expect(Object.values(s.offsets).length).toBeGreaterThan(0);
      expect(s.decode(again)).toEqual(v);
      if (opts.exact) expect(again).toEqual(bytes);
    }), { numRuns: 50 });
  }
}

export function expectShortBuffersCorrupt(structs: Struct<object>[]): void {
  for (const s of structs) {
    fc.assert(fc.property(fc.uint8Array({ maxLength: s.size - 1 }), fc.nat(8), (bytes, at) => {
      expect(() => s.decode(bytes, at)).toThrow(CorruptInputError);
    }), { numRuns: 20 });
  }
}
