// Fuzz: kernel module indexes (loadModuleIndex + resolveModules over a MemorySourceFs
// holding modules.dep / modules.softdep / modules.alias / modules.builtin): arbitrary text,
// generated indexes in depmod's formats (shared names so dependencies, cycles, soft
// dependencies through aliases and long chains happen; hostile paths), mutations of a
// realistic index, and index files that are not regular files. Also xzUncompressedSize
// (a number or null, never a throw) over arbitrary bytes and mutated real .xz files.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModuleIndex, resolveModules } from '../../src/bake/initrd/modules.js';
import { xzUncompressedSize } from '../../src/bake/initrd/xz-size.js';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { hasTool } from '../oracles/tools.js';
import { RUNS, expectValueOrCakeError, fuzz, replayCorpus } from './expect-clean.js';
import { applyMutations, bytesWithPrefix, concat, mutations } from './mutate.js';

const BOUND_MS = 2000;
const FILES = ['modules.dep', 'modules.softdep', 'modules.alias', 'modules.builtin'] as const;
type IndexFile = (typeof FILES)[number];

/** One case: the text of each index file (absent when undefined), how it is stored, and the names asked for. */
export interface ModulesCase {
  files: Partial<Record<IndexFile, string>>;
  /** An index file stored as a symlink or a directory instead of a file. */
  odd?: { file: IndexFile; as: 'symlink' | 'dir' };
  wanted: string[];
  /** Corpus only: lines appended from a template ({i}, and {j} = i + 1), for long cases kept small on disk. */
  repeat?: { file: IndexFile; line: string; count: number }[];
}

function expand(c: ModulesCase): Partial<Record<IndexFile, string>> {
  const files = { ...c.files };
  for (const r of c.repeat ?? []) {
    const lines: string[] = [];
    for (let i = 0; i < r.count; i++) lines.push(r.line.replaceAll('{i}', String(i)).replaceAll('{j}', String(i + 1)));
    files[r.file] = `${files[r.file] ?? ''}${lines.join('\n')}\n`;
  }
  return files;
}

async function resolveCase(c: ModulesCase): Promise<unknown> {
  const fs = new MemorySourceFs();
  const files = expand(c);
  for (const name of FILES) {
    const text = files[name];
    if (text === undefined) continue;
    if (c.odd?.file === name) {
      if (c.odd.as === 'symlink') fs.addSymlink(name, '/etc/passwd');
      else if (c.odd.as === 'dir') fs.addDir(name);
      continue;
    }
    fs.addFile(name, new TextEncoder().encode(text));
  }
  const idx = await loadModuleIndex(fs, '/lib/modules/9.9.9-fuzz');
  for (const w of c.wanted) idx.aliasesOf(w);
  return resolveModules(idx, c.wanted);
}

const clean = <T,>(f: () => T | Promise<T>) => expectValueOrCakeError(f, BOUND_MS);

// --- depmod's formats -------------------------------------------------------------------------

const NAMES = ['ext4', 'jbd2', 'mbcache', 'crc16', 'crc32c_generic', 'crc32c-intel', 'virtio', 'virtio_ring', 'virtio_blk', 'virtio-pci', 'libcrc32c', 'a', 'b'];
const DIRS = ['kernel/fs/ext4', 'kernel/fs', 'kernel/lib', 'kernel/crypto', 'kernel/drivers/virtio', 'kernel/drivers/block', 'updates', 'extra/x'];
const EXT = ['.ko', '.ko.xz', '.ko.zst', '.ko.gz'];

const modPath = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...DIRS), fc.constantFrom(...NAMES), fc.constantFrom(...EXT)).map(([d, n, e]) => `${d}/${n}${e}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '../../../etc/shadow.ko', '/boot/vmlinuz.ko', 'kernel//x.ko', 'kernel/./x.ko', 'kernel/x.ko.bz2', 'kernel/x', 'x.ko\0y', '', '.ko', 'kernel/ü.ko',
      `${'d/'.repeat(200)}deep.ko`, `${'n'.repeat(300)}.ko`, 'kernel/x.ko ', ' kernel/x.ko', 'kernel/x.ko:',
    ),
  },
);

const depLine = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(modPath, fc.array(modPath, { maxLength: 4 })).map(([p, ds]) => `${p}: ${ds.join(' ')}`) },
  { weight: 1, arbitrary: fc.constantFrom('', '# comment', ':', 'no colon here', '   ', '\t', 'a.ko:b.ko', 'a.ko: : b.ko', '\r') },
);

const modName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 1, arbitrary: fc.constantFrom('crypto-crc32c', 'fs-ext4', 'platform:idma64', 'pci:v00001AF4d*', 'a/b', '../x', '', 'x'.repeat(300), 'nul\0', 'ünï') },
);

const softLine = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(modName, fc.array(fc.oneof(modName, fc.constantFrom('pre:', 'post:')), { maxLength: 5 })).map(([m, ts]) => `softdep ${m} ${ts.join(' ')}`) },
  { weight: 1, arbitrary: fc.constantFrom('softdep', 'softdep x', 'softdep  x  pre:', '# Soft dependencies extracted from modules themselves.', 'softdep x pre: post: pre:', 'other line') },
);

const aliasLine = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(modName, modName).map(([a, m]) => `alias ${a} ${m}`) },
  { weight: 1, arbitrary: fc.constantFrom('alias', 'alias x', 'alias x y z', 'alias  x  y', 'alias x \t', 'alias x y/z', 'alias crypto-crc32c ../../x') },
);

const builtinLine = fc.oneof({ weight: 6, arbitrary: modPath }, { weight: 1, arbitrary: fc.constantFrom('', ' ', 'kernel/x.txt') });

const text = (line: fc.Arbitrary<string>) => fc.array(line, { maxLength: 12 }).map((ls) => `${ls.join('\n')}\n`);

const wanted = fc.array(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }), { maxLength: 4 });

const odd = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.record({ file: fc.constantFrom(...FILES), as: fc.constantFrom('symlink' as const, 'dir' as const) }) },
);

const generated: fc.Arbitrary<ModulesCase> = fc.record({
  files: fc.record(
    { 'modules.dep': text(depLine), 'modules.softdep': text(softLine), 'modules.alias': text(aliasLine), 'modules.builtin': text(builtinLine) },
    { requiredKeys: ['modules.dep'] },
  ),
  odd,
  wanted,
});

/** A chain: m0 needs m1 needs m2 ... (hard or soft), as long as `length`. */
const chain: fc.Arbitrary<ModulesCase> = fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.boolean()).map(([length, soft]) => {
  const dep: string[] = [];
  const softdep: string[] = [];
  for (let i = 0; i < length; i++) {
    dep.push(soft ? `m${i}.ko:` : `m${i}.ko: m${i + 1}.ko`);
    if (soft) softdep.push(`softdep m${i} pre: m${i + 1}`);
  }
  dep.push(`m${length}.ko:`);
  return { files: { 'modules.dep': dep.join('\n'), ...(soft ? { 'modules.softdep': softdep.join('\n') } : {}) }, wanted: ['m0'] };
});

/** A realistic index (a Debian kernel's files, shortened). */
const REAL: Record<IndexFile, string> = {
  'modules.dep': [
    'kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz',
    'kernel/fs/jbd2/jbd2.ko.xz:', 'kernel/fs/mbcache.ko.xz:', 'kernel/lib/crc16.ko.xz:', 'kernel/crypto/crc32c_generic.ko.xz:',
    'kernel/arch/x86/crypto/crc32c-intel.ko.xz:', 'kernel/lib/libcrc32c.ko.xz:',
    'kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio_ring.ko.xz kernel/drivers/virtio/virtio.ko.xz',
    'kernel/drivers/virtio/virtio_ring.ko.xz:', 'kernel/drivers/virtio/virtio.ko.xz:', 'kernel/drivers/virtio/virtio_pci.ko.xz: kernel/drivers/virtio/virtio_pci_modern_dev.ko.xz',
    'kernel/drivers/virtio/virtio_pci_modern_dev.ko.xz:', '',
  ].join('\n'),
  'modules.softdep': '# Soft dependencies extracted from modules themselves.\nsoftdep ext4 pre: crc32c\nsoftdep libcrc32c pre: crc32c\nsoftdep virtio_blk post: nosuchthing\n',
  'modules.alias': '# Aliases extracted from modules themselves.\nalias crypto-crc32c crc32c_generic\nalias crc32c crc32c_generic\nalias crc32c crc32c_intel\nalias fs-ext4 ext4\nalias pci:v00001AF4d00001001sv*sd*bc*sc*i* virtio_blk\n',
  'modules.builtin': 'kernel/drivers/block/loop.ko\nkernel/fs/binfmt_misc.ko\n',
};

const mutatedReal: fc.Arbitrary<ModulesCase> = fc
  .record({ which: fc.constantFrom(...FILES), muts: mutations(), odd, wanted: fc.oneof(wanted, fc.constant(['ext4', 'virtio_blk', 'virtio-pci', 'loop'] as string[])) })
  .map(({ which, muts, odd: o, wanted: w }) => {
    const bytes = applyMutations(new TextEncoder().encode(REAL[which]), muts);
    return { files: { ...REAL, [which]: Buffer.from(bytes).toString('latin1') }, odd: o, wanted: w };
  });

const asJson = (c: ModulesCase) => ({ ext: 'json' as const, data: JSON.stringify(c) });

// --- xz sizes ---------------------------------------------------------------------------------

const xzFiles: Uint8Array[] = [];
beforeAll(() => {
  if (!hasTool('xz')) return;
  const payload = new Uint8Array(5000).map((_, i) => (i * 7) % 251);
  const xz = (args: string[], input: Uint8Array) => new Uint8Array(execFileSync('xz', ['-c', ...args], { input }));
  xzFiles.push(
    xz([], payload),
    xz(['--check=none'], payload.subarray(0, 100)),
    xz(['--check=sha256', '--block-size=1000'], payload),
    concat([xz([], payload.subarray(0, 2000)), new Uint8Array(8), xz(['-0'], payload.subarray(2000))]),
    xz([], new Uint8Array(0)),
  );
});

describe('modules fuzz: loadModuleIndex + resolveModules', () => {
  it('replays the corpus (corpus/modules)', async () => {
    await replayCorpus('modules', ({ bytes }) => resolveCase(JSON.parse(Buffer.from(bytes).toString('utf8')) as ModulesCase), 3 * BOUND_MS);
  });

  it('the realistic index resolves', async () => {
    const plan = (await resolveCase({ files: REAL, wanted: ['ext4', 'virtio_blk', 'loop'] })) as ReturnType<typeof resolveModules>;
    expect(plan.load).toContain('kernel/fs/ext4/ext4.ko.xz');
    expect(plan.builtin).toEqual(['loop']);
  });

  it(`arbitrary text in each index file (${RUNS} cases)`, async () => {
    const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: fc.constantFrom('a', '.', 'k', 'o', '/', ':', ' ', '\n', '-', '_'), maxLength: 300 }));
    const c = fc.record({
      files: fc.record({ 'modules.dep': anyText, 'modules.softdep': anyText, 'modules.alias': anyText, 'modules.builtin': anyText }, { requiredKeys: [] }),
      wanted: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
    });
    await fuzz('modules', fc.asyncProperty(c, async (mc) => void (await clean(() => resolveCase(mc)))), { save: ([mc]) => asJson(mc) });
  });

  it(`generated indexes in depmod's formats (${RUNS} cases)`, async () => {
    await fuzz('modules', fc.asyncProperty(generated, async (mc) => void (await clean(() => resolveCase(mc)))), { save: ([mc]) => asJson(mc) });
  });

  it(`long dependency chains, hard and soft (${RUNS} cases)`, async () => {
    await fuzz('modules', fc.asyncProperty(chain, async (mc) => void (await clean(() => resolveCase(mc)))), { save: ([mc]) => asJson(mc) });
  });

  it(`mutations of a realistic index (${RUNS} cases)`, async () => {
    await fuzz('modules', fc.asyncProperty(mutatedReal, async (mc) => void (await clean(() => resolveCase(mc)))), { save: ([mc]) => asJson(mc) });
  });
});

describe('modules fuzz: xzUncompressedSize', () => {
  const sizeOf = async (b: Uint8Array): Promise<void> => {
    const { value } = await clean(() => xzUncompressedSize(b));
    // Never a throw, not even a CakeError: a number or null.
    expect(value === null || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)).toBe(true);
  };
  const XZ_MAGIC = Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00);

  it('replays the corpus (corpus/xz-size)', async () => {
    await replayCorpus('xz-size', async ({ bytes }) => {
      const v = xzUncompressedSize(bytes);
      if (v !== null && (!Number.isSafeInteger(v) || v < 0)) throw new Error(`xzUncompressedSize gave ${v}`);
    });
  });

  it(`arbitrary bytes, often ending like a stream footer (${RUNS} cases)`, async () => {
    const footer = fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 10, maxLength: 10 })).map(([b, f]) => concat([XZ_MAGIC, b, f, Uint8Array.of(0x59, 0x5a)]));
    await fuzz('xz-size', fc.asyncProperty(fc.oneof(bytesWithPrefix([XZ_MAGIC], 400), footer), sizeOf), { save: ([b]) => ({ ext: 'bin', data: b }) });
  });

  it.skipIf(!hasTool('xz'))(`mutated real .xz files (index and footer aimed at) (${RUNS} cases)`, async () => {
    expect(xzUncompressedSize(xzFiles[0]!)).toBe(5000);
    expect(xzUncompressedSize(xzFiles[3]!)).toBe(5000);
    const input = fc.tuple(fc.nat({ max: 100 }), mutations({ regions: true })).map(([i, ms]) => {
      const b = xzFiles[i % xzFiles.length]!;
      return applyMutations(b, ms, [[0, 12], [Math.max(0, b.length - 64), b.length]]);
    });
    await fuzz('xz-size', fc.asyncProperty(input, sizeOf), { save: ([b]) => ({ ext: 'bin', data: b }) });
  });
});
