// Fuzz: what `boot` reads from a user's image to pick its firmware (probeDisk) and the PE
// header reader that checks kernels and systemd-boot (readPe): arbitrary bytes, and real
// headers (a GPT disk we encode, the host's systemd-boot and a PE built here) mutated
// where the readers look. probeDisk never throws; readPe gives a value or a CakeError.
import * as fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeGpt, lastUsable, planGpt } from '../../src/bake/gpt/gpt.js';
import { PARTITION_TYPE } from '../../src/bake/gpt/guid.js';
import { defaultFirmware, probeDisk } from '../../src/bake/gpt/probe.js';
import { readPe } from '../../src/bake/uefi/pe.js';
import { expectValueOrCakeError, fuzz, replayCorpus } from './expect-clean.js';
import { mutatedBytes } from './mutate.js';

const sectors = 64 * 2048;
const gptHead = encodeGpt(planGpt({
  sectors, diskGuid: '11111111-2222-4333-8444-555555555555',
  partitions: [
    { type: PARTITION_TYPE.esp, guid: '21111111-2222-4333-8444-555555555555', name: 'esp', first: 2048, last: 4095 },
    { type: PARTITION_TYPE.rootX86_64, guid: '31111111-2222-4333-8444-555555555555', name: 'root', first: 4096, last: lastUsable(sectors) },
  ],
})).head;

/** A minimal PE32+ EFI application header: MZ, e_lfanew, PE signature, COFF and optional header. */
function tinyPe(): Uint8Array {
  const b = new Uint8Array(512);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 0x5a4d, true);
  dv.setUint32(0x3c, 0x40, true);
  dv.setUint32(0x40, 0x4550, true);
  dv.setUint16(0x44, 0x8664, true);
  dv.setUint16(0x40 + 0x14, 0xf0, true);
  dv.setUint16(0x58, 0x20b, true);
  dv.setUint16(0x58 + 0x44, 10, true);
  return b;
}
const SYSTEMD_BOOT = '/usr/lib/systemd/boot/efi/systemd-bootx64.efi';
const peSeeds = [tinyPe(), ...(fs.existsSync(SYSTEMD_BOOT) ? [new Uint8Array(fs.readFileSync(SYSTEMD_BOOT)).subarray(0, 4096)] : [])];

describe('probeDisk', () => {
  it('knows our GPT disk as UEFI, and as BIOS once it has boot code', () => {
    expect(defaultFirmware(probeDisk(gptHead))).toBe('uefi');
    const withCode = gptHead.slice();
    withCode[0] = 0xeb;
    expect(defaultFirmware(probeDisk(withCode))).toBe('bios');
    expect(defaultFirmware(probeDisk(new Uint8Array(100)))).toBe('bios');
  });
  it('never throws on arbitrary or mutated first sectors', async () => {
    await replayCorpus('disk-probe', (c) => probeDisk(c.bytes));
    await fuzz('disk-probe', fc.asyncProperty(
      fc.oneof(fc.uint8Array({ maxLength: 34 * 512 }), mutatedBytes(gptHead, [[0, 512], [512, 1024], [1024, 1024 + 256]])),
      async (bytes) => {
        const r = await expectValueOrCakeError(() => probeDisk(bytes), 500);
        expect(r.error).toBeUndefined();
      },
    ), { save: ([b]) => ({ ext: 'bin', data: b }) });
  });
});

describe('readPe', () => {
  it('reads a PE32+ EFI application', () => {
    expect(readPe(tinyPe(), 'x')).toEqual({ machine: 0x8664, subsystem: 10 });
  });
  it('gives a value or a CakeError on arbitrary or mutated headers', async () => {
    await replayCorpus('pe', (c) => readPe(c.bytes, 'corpus'));
    await fuzz('pe', fc.asyncProperty(
      fc.oneof(fc.uint8Array({ maxLength: 1024 }), ...peSeeds.map((s) => mutatedBytes(s, [[0, 0x40], [0x3c, 0x40], [0x40, 0x140]]))),
      async (bytes) => {
        await expectValueOrCakeError(() => readPe(bytes, 'fuzz'), 500);
      },
    ), { save: ([b]) => ({ ext: 'bin', data: b }) });
  });
});
