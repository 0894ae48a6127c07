// Fuzz: Debian packages: arMembers (the ar index) and loadDeb (the data.tar inside, plain,
// gzip, xz or zstd) with every file's content read back, over arbitrary bytes behind the
// ar magic, generated ar archives (names, size fields that lie, odd padding, members that
// are generated tars), and mutated real packages built by dpkg-deb. Each case is a file.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerHostDecoders } from '../../src/host/host-decoders.js';
import { hostByteFile, loadDebFile } from '../../src/host/archive-file.js';
import { arMembers } from '../../src/sources/deb.js';
import { hasTool } from '../oracles/tools.js';
import { RUNS, expectValueOrCakeError, fuzz, replayCorpus } from './expect-clean.js';
import { applyMutations, bytesWithPrefix, concat, mutations } from './mutate.js';
import { tarArchive } from './tar-gen.js';
import { readContents } from './read-tree.js';

const BOUND_MS = 2000;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-fuzz-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const haveTools = hasTool('dpkg-deb') && hasTool('xz') && hasTool('zstd');

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const MAGIC = ascii('!<arch>\n');

let n = 0;
/** Writes the case to a fresh file, reads its members and its tree (and every file's content). */
async function loadCase(bytes: Uint8Array): Promise<void> {
  const file = path.join(work, `case-${n++}.deb`);
  fs.writeFileSync(file, bytes);
  try {
    await arMembers(hostByteFile(file));
    const l = await loadDebFile(file, { lenient: n % 2 === 0 });
    await readContents(l);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

const clean = (f: () => unknown) => expectValueOrCakeError(f, BOUND_MS);
const asBin = (b: Uint8Array) => ({ ext: 'bin' as const, data: b });

// --- ar archives ----------------------------------------------------------------------------

interface ArMember {
  name: string;
  data: Uint8Array;
  /** The size field as written: the real size, or a lie. */
  size: string | null;
  /** A bad header end ("`\n") now and then. */
  badEnd: boolean;
  /** Skip the padding byte after an odd-sized member. */
  noPad: boolean;
}

function arHeader(name: string, size: string, badEnd: boolean): Uint8Array {
  const f = (s: string, w: number) => s.slice(0, w).padEnd(w, ' ');
  return ascii(f(name, 16) + f('0', 12) + f('0', 6) + f('0', 6) + f('100644', 8) + f(size, 10) + (badEnd ? 'x\n' : '`\n'));
}

export function arBytes(members: ArMember[], magic = MAGIC): Uint8Array {
  const parts = [magic];
  for (const m of members) {
    parts.push(arHeader(m.name, m.size ?? String(m.data.length), m.badEnd), m.data);
    if (m.data.length & 1 && !m.noPad) parts.push(ascii('\n'));
  }
  return concat(parts);
}

const NAMES = ['debian-binary', 'debian-binary/', 'control.tar.gz', 'control.tar.xz', 'data.tar', 'data.tar.gz', 'data.tar.xz', 'data.tar.zst', 'data.tar.bz2', 'data.tar.lzma', 'data.tar/', '/', '//', '', 'data.tar.gz.sig', '_gpgorigin'];

const memberData: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: tarArchive },
  { weight: 2, arbitrary: tarArchive.map((b) => new Uint8Array(gzipSync(b, { level: 1 }))) },
  { weight: 1, arbitrary: fc.constant(ascii('2.0\n')) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
);

const member: fc.Arbitrary<ArMember> = fc.record({
  name: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 18 }) }),
  data: memberData,
  size: fc.oneof(
    { weight: 10, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '-1', '9999999999', '1e3', '0x10', '12abc', '0', '   7') },
    { weight: 1, arbitrary: fc.nat({ max: 5000 }).map(String) },
  ),
  badEnd: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  noPad: fc.oneof({ weight: 10, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

/** Mostly a package's member order (debian-binary, control, data), sometimes anything. */
const arArchive: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.oneof(
      fc
        .tuple(member, member, member, fc.constantFrom('data.tar', 'data.tar.gz'))
        .map(([a, b, c, data]) => [{ ...a, name: 'debian-binary', data: ascii('2.0\n') }, { ...b, name: 'control.tar.gz' }, { ...c, name: data }]),
      fc.array(member, { maxLength: 5 }),
    ),
    fc.oneof({ weight: 20, arbitrary: fc.constant(MAGIC) }, { weight: 1, arbitrary: fc.constantFrom(ascii('!<arch>'), ascii('!<thin>\n'), ascii('!<arch>\r\n')) }),
    fc.oneof({ weight: 5, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }) }),
  )
  .map(([members, magic, trailing]) => concat([arBytes(members, magic), trailing]));

// --- real packages by dpkg-deb ----------------------------------------------------------------

const real: Uint8Array[] = [];

beforeAll(() => {
  registerHostDecoders();
  if (!haveTools) return;
  const root = path.join(work, 'pkg');
  fs.mkdirSync(path.join(root, 'DEBIAN'), { recursive: true });
  fs.writeFileSync(path.join(root, 'DEBIAN/control'), 'Package: fuzz\nVersion: 1.0\nArchitecture: all\nMaintainer: nobody <nobody@example.com>\nDescription: fuzz\n');
  fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  fs.writeFileSync(path.join(root, 'usr/bin/tool'), '#!/bin/sh\necho hi\n', { mode: 0o4755 });
  fs.symlinkSync('tool', path.join(root, 'usr/bin/alias'));
  fs.mkdirSync(path.join(root, 'etc'));
  fs.writeFileSync(path.join(root, 'etc/conf'), 'x=1\n'.repeat(50));
  for (const z of ['gzip', 'xz', 'zstd', 'none']) {
    const out = path.join(work, `fuzz-${z}.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', `-Z${z}`, '--build', root, out], { stdio: 'ignore' });
    real.push(new Uint8Array(fs.readFileSync(out)));
  }
});

/** Where an ar archive's headers are (60 bytes each) and the first block of each member. */
function arRegions(b: Uint8Array): [number, number][] {
  const out: [number, number][] = [[0, 8]];
  let at = 8;
  while (at + 60 <= b.length) {
    const size = Number(Buffer.from(b.subarray(at + 48, at + 58)).toString('latin1').trim());
    if (!Number.isSafeInteger(size)) break;
    out.push([at, at + 60 + 512]);
    at += 60 + size + (size & 1);
  }
  return out;
}

describe('deb fuzz: arMembers + loadDeb', () => {
  it('replays the corpus (corpus/deb)', async () => {
    await replayCorpus('deb', ({ bytes }) => loadCase(bytes), 3 * BOUND_MS);
  });

  it(`arbitrary bytes behind the ar magic (${RUNS} cases)`, async () => {
    await fuzz(
      'deb',
      fc.asyncProperty(bytesWithPrefix([MAGIC, concat([MAGIC, arHeader('debian-binary', '4', false)])], 600), async (bytes) => {
        await clean(() => loadCase(bytes));
      }),
      { save: ([b]) => asBin(b) },
    );
  });

  it(`generated ar archives (${RUNS} cases)`, async () => {
    await fuzz(
      'deb',
      fc.asyncProperty(arArchive, async (bytes) => {
        await clean(() => loadCase(bytes));
      }),
      { save: ([b]) => asBin(b) },
    );
  });

  describe.skipIf(!haveTools)('real packages', () => {
    it('dpkg-deb built a package with each compressor, and each loads', async () => {
      expect(real.length).toBe(4);
      for (const b of real) await loadCase(b);
    });

    it(`mutated real packages (gzip, xz, zstd, none) (${RUNS} cases)`, async () => {
      const input = fc.tuple(fc.nat({ max: 3 }), mutations({ regions: true })).map(([i, ms]) => {
        const base = real[i % real.length]!;
        return applyMutations(base, ms, arRegions(base));
      });
      await fuzz(
        'deb',
        fc.asyncProperty(input, async (bytes) => {
          await clean(() => loadCase(bytes));
        }),
        { save: ([b]) => asBin(b) },
      );
    });
  });
});
