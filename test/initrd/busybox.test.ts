// The busybox checks the initrd makes without running it: which applets its name table
// has (names between NULs), against the real busybox-static where the host has it.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isStaticElf, missingApplets } from '../../src/bake/initrd/busybox.js';
import { INIT_APPLETS } from '../../src/bake/initrd/init-script.js';

const bytes = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));

describe('missingApplets', () => {
  it('finds a name only between two NULs', () => {
    const bin = bytes('\x7fELF..\0sh\0mount\0\0insmodx\0xls\0cat');
    expect(missingApplets(bin, ['sh', 'mount', 'insmod', 'ls', 'cat'])).toEqual(['insmod', 'ls', 'cat']);
    expect(missingApplets(bytes('sh\0'), ['sh'])).toEqual(['sh']); // no NUL before it
    expect(missingApplets(new Uint8Array(0), ['sh'])).toEqual(['sh']);
  });

  it('agrees with a plain string search on arbitrary bytes', () => {
    const names = ['sh', 'ls', 'cat', 'mount'];
    fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom('\0', 's', 'h', 'l', 'c', 'a', 't', 'mount', 'x')), { maxLength: 40 }), (parts) => {
      const text = parts.join('');
      const expected = names.filter((a) => !text.includes(`\0${a}\0`));
      expect(missingApplets(bytes(text), names)).toEqual(expected);
    }), { numRuns: 500 });
  });

  it.skipIf(!fs.existsSync('/bin/busybox'))('the host busybox has what /init uses', () => {
    const bin = new Uint8Array(fs.readFileSync('/bin/busybox'));
    if (!isStaticElf(bin, '/bin/busybox')) return; // the dynamic `busybox` package: not ours to judge
    expect(missingApplets(bin, INIT_APPLETS)).toEqual([]);
    expect(missingApplets(bin, ['no-such-applet-here'])).toEqual(['no-such-applet-here']);
  });
});
