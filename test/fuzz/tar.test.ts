// Fuzz: the tar reader (loadTar, and the entry iterator tarEntries under it) over
// arbitrary bytes, generated archives whose headers pass the checksum (pax, GNU long
// names, the three sparse formats, hostile numbers), mutated real archives written by
// GNU tar in every format it has, and gzip-wrapped variants mutated before and after
// compression. Every file's content is read back through the ContentSource.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteReader } from '../../src/sources/decompress.js';
import { loadTar } from '../../src/sources/tar.js';
import { tarEntries } from '../../src/sources/tar-entries.js';
import { hasTool } from '../oracles/tools.js';
import { RUNS, expectValueOrCakeError, fuzz, replayCorpus } from './expect-clean.js';
import { applyMutations, chunked, chunking, concat, mutations } from './mutate.js';
import { readContents } from './read-tree.js';
import { fixChecksum, headerOffsets, tarArchive } from './tar-gen.js';

const BOUND_MS = 2000;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-fuzz-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface ReadOptions {
  sizes?: number[];
  lenient?: boolean;
  sizeLimit?: number;
  /** Announce the reads in reverse archive order (the out-of-order path of TarContent). */
  reverse?: boolean;
}

async function loadAndRead(bytes: Uint8Array, o: ReadOptions = {}): Promise<number> {
  const l = await loadTar(chunked(bytes, o.sizes ?? [65536]), { label: 'fuzz.tar', lenient: o.lenient, sizeLimit: o.sizeLimit });
  return readContents(l, o.reverse);
}

async function entriesOf(bytes: Uint8Array, sizes: number[]): Promise<number> {
  const reader = new ByteReader(chunked(bytes, sizes)());
  let n = 0;
  try {
    for await (const e of tarEntries(reader, { label: 'fuzz.tar' })) {
      expect(e.dataLength).toBeGreaterThanOrEqual(0);
      n++;
    }
  } finally {
    await reader.close();
  }
  return n;
}

const readOptions: fc.Arbitrary<ReadOptions> = fc.record({
  sizes: chunking,
  lenient: fc.boolean(),
  sizeLimit: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat({ max: 100_000 }) }),
  reverse: fc.boolean(),
});

const clean = (f: () => unknown) => expectValueOrCakeError(f, BOUND_MS);
const asBin = (b: Uint8Array) => ({ ext: 'bin' as const, data: b });

// --- real archives by GNU tar ---------------------------------------------------------------

/** name → archive bytes, written by GNU tar from one small tree in each format. */
const real = new Map<string, Uint8Array>();

function makeTree(root: string): void {
  fs.mkdirSync(path.join(root, 'dir'), { recursive: true });
  fs.writeFileSync(path.join(root, 'hello.txt'), 'hello\n');
  const long = path.join(root, 'd'.repeat(60), 'f'.repeat(80));
  fs.mkdirSync(path.dirname(long));
  fs.writeFileSync(long, 'long name\n');
  fs.writeFileSync(path.join(root, 'caf\u00e9'), 'utf-8 name\n');
  // A sparse file: data at 0, 100K and the last bytes of 300K; the rest holes.
  const fd = fs.openSync(path.join(root, 'sparse'), 'w');
  fs.ftruncateSync(fd, 300 * 1024);
  for (const at of [0, 100 * 1024, 300 * 1024 - 5]) fs.writeSync(fd, Buffer.from('data!'), 0, 5, at);
  fs.closeSync(fd);
  fs.linkSync(path.join(root, 'hello.txt'), path.join(root, 'hl'));
  fs.symlinkSync('hello.txt', path.join(root, 'sl'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
}

function gnuTar(name: string, args: string[], cwd: string, members = ['.']): void {
  const out = path.join(work, `${name}.tar`);
  try {
    execFileSync('tar', ['-b1', '--mtime=@1700000000', '--owner=0', '--group=0', '--numeric-owner', '-cf', out, ...args, ...members], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    // v7 cannot hold some members and says so (exit 2); what it wrote is still an archive.
  }
  if (fs.existsSync(out)) real.set(name, new Uint8Array(fs.readFileSync(out)));
}

beforeAll(() => {
  if (!hasTool('tar') || !hasTool('mkfifo')) return;
  const root = path.join(work, 'tree');
  makeTree(root);
  gnuTar('gnu-sparse', ['--format=gnu', '--sparse'], root);
  gnuTar('oldgnu-sparse', ['--format=oldgnu', '--sparse'], root);
  gnuTar('posix-sparse-1.0', ['--format=posix', '--sparse', '--sparse-version=1.0'], root);
  gnuTar('posix-sparse-0.1', ['--format=posix', '--sparse', '--sparse-version=0.1'], root);
  gnuTar('posix-sparse-0.0', ['--format=posix', '--sparse', '--sparse-version=0.0'], root);
  gnuTar('ustar', ['--format=ustar'], root);
  gnuTar('v7', ['--format=v7'], root, ['hello.txt', 'dir', 'hl', 'sl']);
});

const realNames = (): string[] => [...real.keys()];

// --- properties -------------------------------------------------------------------------------

describe('tar fuzz: loadTar + content reads, tarEntries', () => {
  it('replays the corpus (corpus/tar)', async () => {
    await replayCorpus('tar', async ({ bytes }) => {
      await loadAndRead(bytes);
      await loadAndRead(bytes, { sizes: [7], reverse: true, lenient: true });
      await entriesOf(bytes, [511]);
    }, 3 * BOUND_MS);
  });

  it(`arbitrary bytes (${RUNS} cases)`, async () => {
    await fuzz(
      'tar',
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), chunking, async (bytes, sizes) => {
        await clean(() => loadAndRead(bytes, { sizes }));
      }),
      { save: ([b]) => asBin(b) },
    );
  });

  it(`generated archives with valid checksums (${RUNS} cases)`, async () => {
    await fuzz(
      'tar',
      fc.asyncProperty(tarArchive, readOptions, async (bytes, o) => {
        await clean(() => loadAndRead(bytes, o));
      }),
      { save: ([b]) => asBin(b) },
    );
  });

  it(`tarEntries over generated archives, chunked (${RUNS} cases)`, async () => {
    await fuzz(
      'tar',
      fc.asyncProperty(tarArchive, chunking, async (bytes, sizes) => {
        await clean(() => entriesOf(bytes, sizes));
      }),
      { save: ([b]) => asBin(b) },
    );
  });

  describe.skipIf(!hasTool('tar') || !hasTool('mkfifo'))('real archives', () => {
    it('GNU tar wrote every format, and each loads cleanly as written', async () => {
      expect(realNames().length).toBeGreaterThanOrEqual(7);
      for (const [name, b] of real) {
        const n = await loadAndRead(b);
        expect(n, name).toBeGreaterThan(0);
      }
    });

    const mutatedReal = fc
      .tuple(fc.constantFrom(0, 1, 2, 3, 4, 5, 6), mutations({ regions: true }), fc.boolean())
      .map(([i, ms, fix]) => {
        const base = real.get(realNames()[i % real.size]!)!;
        const heads = headerOffsets(base);
        // Aim at headers and the block after each (pax records, sparse maps, extension blocks).
        const out = applyMutations(base, ms, heads.map((h) => [h, h + 1024] as [number, number]));
        if (fix) for (const h of heads) fixChecksum(out, h);
        return out;
      });

    it(`mutated real archives (${RUNS} cases)`, async () => {
      await fuzz(
        'tar',
        fc.asyncProperty(mutatedReal, readOptions, async (bytes, o) => {
          await clean(() => loadAndRead(bytes, o));
        }),
        { save: ([b]) => asBin(b) },
      );
    });

    it(`gzip: mutated before gzip, after gzip, and multi-member (${RUNS} cases)`, async () => {
      const gz = (b: Uint8Array): Uint8Array => new Uint8Array(gzipSync(b, { level: 1 }));
      const input = fc.oneof(
        mutatedReal.map(gz),
        tarArchive.map(gz),
        fc.tuple(fc.constantFrom(0, 1, 2, 3, 4, 5, 6), mutations()).map(([i, ms]) => applyMutations(gz(real.get(realNames()[i % real.size]!)!), ms)),
        fc.tuple(fc.constantFrom(0, 1, 2, 3, 4, 5, 6), fc.nat(), mutations({ maxLength: 3 })).map(([i, cut, ms]) => {
          const b = real.get(realNames()[i % real.size]!)!;
          const at = cut % (b.length + 1);
          return applyMutations(concat([gz(b.subarray(0, at)), gz(b.subarray(at))]), ms);
        }),
      );
      await fuzz(
        'tar',
        fc.asyncProperty(input, readOptions, async (bytes, o) => {
          await clean(() => loadAndRead(bytes, o));
        }),
        { save: ([b]) => asBin(b) },
      );
    });
  });
});
