// A kernel package read in-process: a size in a tar header is the archive's word, and one
// no kernel file comes near is refused in one line before anything is allocated for it.
import { describe, expect, it } from 'vitest';
import { MAX_MODULE_BYTES } from '../../src/bake/initrd/builder.js';
import { readKernelArchive } from '../../src/sources/kernel-deb.js';
import { CorruptInputError } from '../../src/util/errors.js';

/** A ustar header for a regular file `name` that says it holds `size` bytes. */
function header(name: string, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (at: number, s: string) => h.set([...s].map((c) => c.charCodeAt(0)), at);
  put(0, name);
  put(100, '0000644\0');
  put(108, '0000000\0');
  put(116, '0000000\0');
  put(124, `${size.toString(8).padStart(11, '0')}\0`);
  put(136, '00000000000\0');
  put(156, '0');
  put(257, 'ustar\0');
  put(263, '00');
  put(148, '        ');
  const sum = h.reduce((a, b) => a + b, 0);
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

describe('readKernelArchive', () => {
  it('refuses a module whose header claims more than any kernel file holds', async () => {
    const tar = new Uint8Array(512 * 4);
    tar.set(header('./lib/modules/6.1.0/kernel/fs/x.ko', MAX_MODULE_BYTES + 1));
    const read = readKernelArchive({ label: 'k.tar', open: async function* () { yield tar; } }, ['x']);
    await expect(read).rejects.toThrow(CorruptInputError);
    await expect(read).rejects.toThrow(/x\.ko.*at most/);
  });
});
