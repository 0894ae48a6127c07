// Fuzz: the extlinux binary scan (extractFromExtlinux) and the separate-blob check
// (checkSyslinuxBlobs): arbitrary bytes with the patterns the scanner looks for planted in
// them (boot sector template, ldlinux.sys banner and LDLINUX_MAGIC, i386 ELF32 headers,
// HEXDATE dwords), the host's /usr/bin/extlinux mutated around exactly those places,
// slices of it, and the three blobs it holds mutated one by one.
import * as fs from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { LDLINUX_MAGIC } from '../../src/bake/extlinux/install.js';
import { type SyslinuxBlobs, checkSyslinuxBlobs, extractFromExtlinux } from '../../src/bake/syslinux/extract.js';
import { hasTool } from '../oracles/tools.js';
import { RUNS, expectValueOrCakeError, fuzz, replayCorpus } from './expect-clean.js';
import { applyMutations, concat, mutations } from './mutate.js';

const BOUND_MS = 2000;
const HOST = '/usr/bin/extlinux';
const haveHost = hasTool('extlinux') && fs.existsSync(HOST);

const u32le = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const clean = <T,>(f: () => T | Promise<T>) => expectValueOrCakeError(f, BOUND_MS);
const asBin = (b: Uint8Array) => ({ ext: 'bin' as const, data: b });

let binary: Uint8Array = new Uint8Array(0);
let blobs: SyslinuxBlobs | undefined;
/** [start, end) of what the scanner reads in the host binary. */
let regions: [number, number][] = [];

beforeAll(() => {
  if (!haveHost) return;
  binary = new Uint8Array(fs.readFileSync(HOST));
  blobs = extractFromExtlinux(binary, HOST);
  const find = (pat: Uint8Array) => Buffer.from(binary).indexOf(Buffer.from(pat));
  const bss = find(blobs.bootSector);
  const sys = find(blobs.ldlinuxSys.subarray(0, 64));
  const c32 = find(blobs.ldlinuxC32.subarray(0, 64));
  regions = [[0, 64], [bss, bss + 512], [sys, sys + 1024], [sys + blobs.ldlinuxSys.length - 64, sys + blobs.ldlinuxSys.length], [c32, c32 + 256]];
  // The section header table of the host ELF (the end-of-.data fallback reads it).
  const shoff = Number(Buffer.from(binary).readBigUInt64LE(0x28));
  if (shoff > 0 && shoff < binary.length) regions.push([shoff, Math.min(binary.length, shoff + 64 * 40)]);
  // The _len/_mtime dwords next to each HEXDATE.
  const dv = new DataView(binary.buffer, binary.byteOffset, binary.length);
  for (let o = 0; o + 4 <= binary.length; o += 4) if (dv.getUint32(o, true) === blobs.hexdate) regions.push([Math.max(0, o - 8), o + 12]);
});

/** Planted patterns: what makes the scanner go past its first checks on random bytes. */
const pattern = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 1 }).map(([x]) => {
    const b = new Uint8Array(512).map((_, i) => (i * 31 + x!) & 0xff);
    b.set([0xeb, 0x3c, 0x90], 0);
    b.set(ascii('SYSLINUX'), 3);
    b.set(u32le(LDLINUX_MAGIC), 0x1f8);
    b.set([0x55, 0xaa], 0x1fe);
    b.set([0x66, 0x81, 0x3e, 0x1c, 0x80, x!, 1, 2, 3], 0x100);
    return b;
  }),
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ maxLength: 80 })).map(([inst, epa]) =>
    concat([ascii('\r\nSYSLINUX 6.04 '), Uint8Array.of(0, 0x0d, 0x0a, 0x1a), new Uint8Array(2), u32le(LDLINUX_MAGIC), inst, epa]),
  ),
  fc.tuple(fc.uint8Array({ minLength: 44, maxLength: 44 }), fc.nat({ max: 3 })).map(([rest, ph]) => {
    const e = concat([Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0), rest]);
    e[0x12] = 3;
    e[0x13] = 0;
    e[0x28] = 52;
    e[0x29] = 0;
    e[0x2a] = 32;
    e[0x2c] = ph;
    return e;
  }),
  fc.nat().map((x) => u32le((x ^ LDLINUX_MAGIC) >>> 0)),
  fc.constant(u32le(LDLINUX_MAGIC)),
);

const planted = fc.tuple(fc.uint8Array({ minLength: 512, maxLength: 6000 }), fc.array(fc.tuple(pattern, fc.nat()), { maxLength: 6 })).map(([b, ps]) => {
  const out = b.slice();
  for (const [p, at] of ps) {
    const o = at % Math.max(1, out.length - p.length);
    if (o + p.length <= out.length) out.set(p, o);
  }
  return out;
});

describe('extlinux fuzz: extractFromExtlinux', () => {
  it('replays the corpus (corpus/extlinux)', async () => {
    await replayCorpus('extlinux', ({ bytes, name }) => extractFromExtlinux(bytes, name));
  });

  it(`arbitrary bytes with the scanned-for patterns planted (${RUNS} cases)`, async () => {
    await fuzz('extlinux', fc.asyncProperty(planted, async (b) => void (await clean(() => extractFromExtlinux(b, 'fuzz')))), { save: ([b]) => asBin(b) });
  });

  describe.skipIf(!haveHost)('the host extlinux', () => {
    it(`mutated around what the scanner reads (${RUNS} cases)`, async () => {
      expect(regions.length).toBeGreaterThan(5);
      const input = mutations({ regions: true }).map((ms) => applyMutations(binary, ms, regions));
      await fuzz('extlinux', fc.asyncProperty(input, async (b) => void (await clean(() => extractFromExtlinux(b, HOST)))));
    });

    it(`slices around the embedded blobs, mutated (${RUNS} cases)`, async () => {
      const input = fc.tuple(fc.nat(), fc.nat(), fc.nat({ max: 200_000 }), fc.oneof(fc.constant([]), mutations())).map(([r, at, len, ms]) => {
        const [start] = regions[r % regions.length]!;
        const from = Math.max(0, start - (at % 70_000));
        return applyMutations(binary.subarray(from, Math.min(binary.length, from + len)), ms);
      });
      await fuzz('extlinux', fc.asyncProperty(input, async (b) => void (await clean(() => extractFromExtlinux(b, 'slice')))), { save: ([b]) => asBin(b.length > 8192 ? b.subarray(0, 8192) : b) });
    });
  });
});

describe('extlinux fuzz: checkSyslinuxBlobs', () => {
  const where = { bootSector: 'ldlinux.bss', ldlinuxSys: 'ldlinux.sys', ldlinuxC32: 'ldlinux.c32' };

  it('replays the corpus (corpus/syslinux-blobs: JSON of three base64 blobs)', async () => {
    await replayCorpus('syslinux-blobs', ({ bytes }) => {
      const j = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<'bootSector' | 'ldlinuxSys' | 'ldlinuxC32', string>;
      const dec = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
      return checkSyslinuxBlobs({ bootSector: dec(j.bootSector), ldlinuxSys: dec(j.ldlinuxSys), ldlinuxC32: dec(j.ldlinuxC32) }, where);
    });
  });

  it(`arbitrary blobs (${RUNS} cases)`, async () => {
    const blob = fc.oneof(fc.uint8Array({ maxLength: 1024 }), planted);
    await fuzz('syslinux-blobs', fc.asyncProperty(blob, blob, blob, async (bootSector, ldlinuxSys, ldlinuxC32) => {
      await clean(() => checkSyslinuxBlobs({ bootSector, ldlinuxSys, ldlinuxC32 }, where));
    }));
  });

  it.skipIf(!haveHost)(`the host's blobs, each mutated (the patch area aimed at) (${RUNS} cases)`, async () => {
    const m = fc.oneof(fc.constant(null), mutations({ regions: true }));
    await fuzz('syslinux-blobs', fc.asyncProperty(m, m, m, async (mb, ms, mc) => {
      const b = blobs!;
      const bootSector = mb ? applyMutations(b.bootSector, mb, [[0, 16], [0x100, 0x140], [0x1f0, 0x200]]) : b.bootSector;
      const ldlinuxSys = ms ? applyMutations(b.ldlinuxSys, ms, [[0, 128], [0x200, 0x400]]) : b.ldlinuxSys;
      const ldlinuxC32 = mc ? applyMutations(b.ldlinuxC32, mc, [[0, 52], [52, 52 + 32 * 4]]) : b.ldlinuxC32;
      await clean(() => checkSyslinuxBlobs({ bootSector, ldlinuxSys, ldlinuxC32 }, where));
    }));
  });
});
