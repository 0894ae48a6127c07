// The MBR read back by sfdisk: one active Linux partition from 2048 to the end, the
// disk signature, the boot code untouched; CHS as fdisk computes it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PARTITION_ENTRY, chs, encodeMbr, planMbr } from '../../src/bake/mbr/mbr.js';
import { InvalidOptionError } from '../../src/util/errors.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-mbr-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const code = Uint8Array.from({ length: 440 }, (_, i) => (i * 7) & 0xff);

describe.skipIf(!hasTool('sfdisk'))('MBR', () => {
  it('sfdisk --json reads back exactly the partition we planned', () => {
    for (const mib of [8, 128, 1024, 9000]) {
      const bytes = mib << 20;
      const img = path.join(work, `d${mib}.img`);
      const fd = fs.openSync(img, 'w');
      fs.ftruncateSync(fd, bytes);
      fs.writeSync(fd, encodeMbr(planMbr(bytes, code, 0xcafe1234)), 0, 512, 0);
      fs.closeSync(fd);
      const t = JSON.parse(execFileSync('sfdisk', ['--json', img], { encoding: 'utf8', env: { ...process.env, PATH: TOOL_PATH } })).partitiontable;
      expect(t.label).toBe('dos');
      expect(t.id).toBe('0xcafe1234');
      expect(t.partitions).toHaveLength(1);
      expect(t.partitions[0]).toMatchObject({ start: 2048, size: bytes / 512 - 2048, type: '83', bootable: true });
      expect(fs.readFileSync(img).subarray(0, 440).equals(Buffer.from(code))).toBe(true);
    }
  });
});

describe('MBR encoding', () => {
  it('CHS follows the 255/63 convention and saturates past cylinder 1023', () => {
    expect([...chs(2048)]).toEqual([32, 33, 0]);
    expect([...chs(1023 * 255 * 63 + 5)]).toEqual([0, 6 | 0xc0, 0xff]);
    expect([...chs(1024 * 255 * 63)]).toEqual([0xfe, 0xff, 0xff]);
  });
  it('round-trips the partition entry for any disk size', () => {
    fc.assert(fc.property(fc.integer({ min: 2049, max: 2 ** 32 - 1 }), fc.nat(), (sectors, sig) => {
      const mbr = encodeMbr(planMbr(sectors * 512, code, sig));
      const e = PARTITION_ENTRY.decode(mbr, 446);
      expect(e).toMatchObject({ status: 0x80, type: 0x83, lba_first: 2048, sectors: sectors - 2048 });
      expect([mbr[510], mbr[511]]).toEqual([0x55, 0xaa]);
      expect(new DataView(mbr.buffer).getUint32(440, true)).toBe(sig >>> 0);
    }));
  });
  it('refuses a wrong boot code or a disk too small', () => {
    expect(() => planMbr(1 << 20, new Uint8Array(446), 1)).toThrow(InvalidOptionError);
    expect(() => planMbr(1 << 20, code, 1)).toThrow(/no room after sector 2048/);
  });
});
