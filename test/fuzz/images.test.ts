// Fuzz: container images through loadImage: docker save archives and OCI layouts (tar
// and directory) whose manifest.json / index.json / index / manifest / config are
// arbitrary JSON or mutations of a valid image's (wrong types, missing keys, huge
// numbers, digests of the wrong shape, ../ paths, nested indexes), with layers sometimes
// mutated, hostile extra members (symlinks and hard links out, loops, duplicates), and,
// for directories, files replaced by directories, fifos, dangling or outside symlinks.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImage } from '../../src/host/container-image.js';
import { RUNS, expectValueOrCakeError, fuzz, replayCorpus } from './expect-clean.js';
import { type BaseImage, type ImageCase, type OciImage, baseImage, buildImage, imageCase } from './image-gen.js';
import { readContents } from './read-tree.js';

const BOUND_MS = 2000;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-fuzz-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

let base: BaseImage;
beforeAll(async () => {
  base = await baseImage();
});

type Member = { name: string; data: Uint8Array } | { name: string; symlink: string } | { name: string; hardlink: string } | { name: string; dir: true };

async function tarOf(members: Member[]): Promise<Uint8Array> {
  const p = tarStream.pack();
  for (const m of members) {
    if ('data' in m) p.entry({ name: m.name, mode: 0o644 }, Buffer.from(m.data));
    else if ('symlink' in m) p.entry({ name: m.name, type: 'symlink', linkname: m.symlink });
    else if ('hardlink' in m) p.entry({ name: m.name, type: 'link', linkname: m.hardlink });
    else p.entry({ name: m.name, type: 'directory', mode: 0o755 });
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

let n = 0;
async function loadFile(bytes: Uint8Array): Promise<void> {
  const file = path.join(work, `case-${n++}.tar`);
  fs.writeFileSync(file, bytes);
  try {
    await readContents(await loadImage(file, { lenient: n % 3 === 0 }));
  } finally {
    fs.rmSync(file, { force: true });
  }
}

const clean = (f: () => unknown) => expectValueOrCakeError(f, BOUND_MS);
const asBin = (b: Uint8Array) => ({ ext: 'bin' as const, data: b });

// --- hostile members ------------------------------------------------------------------------

const TARGETS = ['../../etc/passwd', '/etc/passwd', 'manifest.json', 'index.json', 'a', 'b', 'blobs', '.', '', 'loop'];
const extraMember = (img: OciImage): fc.Arbitrary<Member> => {
  const names = ['manifest.json', 'index.json', 'oci-layout', 'a', 'b', 'loop', 'blobs', `blobs/sha256/${img.top.slice(7)}`, img.docker.configName, img.docker.layerNames[0]!, './manifest.json', '../manifest.json'];
  return fc.oneof(
    fc.record({ name: fc.constantFrom(...names), symlink: fc.constantFrom(...TARGETS, ...names) }),
    fc.record({ name: fc.constantFrom(...names), hardlink: fc.constantFrom(...TARGETS, ...names) }),
    fc.record({ name: fc.constantFrom(...names), dir: fc.constant(true as const) }),
    fc.record({ name: fc.constantFrom(...names), data: fc.uint8Array({ maxLength: 64 }) }),
  );
};

interface ArchiveCase {
  kind: 'docker' | 'oci';
  c: ImageCase;
  extras: { seed: number; before: boolean; count: number };
  gzip: boolean;
}

const archiveCase: fc.Arbitrary<ArchiveCase> = fc.record({
  kind: fc.constantFrom('docker' as const, 'oci' as const),
  c: imageCase,
  extras: fc.record({ seed: fc.nat(), before: fc.boolean(), count: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }) }),
  gzip: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

function ociMembers(img: OciImage): Member[] {
  const out: Member[] = [{ name: 'oci-layout', data: new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}') }, { name: 'index.json', data: img.indexJson }];
  for (const [d, b] of img.blobs) out.push({ name: `blobs/sha256/${d.slice(7)}`, data: b });
  return out;
}

function dockerMembers(img: OciImage): Member[] {
  const out: Member[] = [];
  for (const [d, b] of img.blobs) {
    const name = `blobs/sha256/${d.slice(7)}`;
    out.push({ name: `${d.slice(7)}.json` === img.docker.configName ? img.docker.configName : name, data: b });
  }
  out.push({ name: 'manifest.json', data: img.docker.manifestJson }, { name: 'repositories', data: new TextEncoder().encode('{}') });
  return out;
}

async function archiveBytes(a: ArchiveCase): Promise<Uint8Array> {
  const img = buildImage(base, a.c);
  let members = a.kind === 'oci' ? ociMembers(img) : dockerMembers(img);
  if (a.extras.count) {
    const extras = fc.sample(fc.array(extraMember(img), { minLength: a.extras.count, maxLength: a.extras.count }), { seed: a.extras.seed, numRuns: 1 })[0]!;
    members = a.extras.before ? [...extras, ...members] : [...members, ...extras];
  }
  const tar = await tarOf(members);
  return a.gzip ? new Uint8Array(gzipSync(tar, { level: 1 })) : tar;
}

// --- OCI layout directories -------------------------------------------------------------------

type Hostile = 'dir' | 'fifo' | 'dangling' | 'outside' | 'to-dir' | 'missing' | 'loop';
interface DirCase {
  c: ImageCase;
  hostile: { target: number; as: Hostile }[];
}
const dirCase: fc.Arbitrary<DirCase> = fc.record({
  c: imageCase,
  hostile: fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as DirCase['hostile']) },
    { weight: 2, arbitrary: fc.array(fc.record({ target: fc.nat(), as: fc.constantFrom<Hostile>('dir', 'fifo', 'dangling', 'outside', 'to-dir', 'missing', 'loop') }), { minLength: 1, maxLength: 2 }) },
  ),
});

/** Writes the layout of a case (its hostile replacements best effort: a replaced parent can make one impossible). */
async function writeLayout(d: DirCase): Promise<string> {
  const img = buildImage(base, d.c);
  const dir = path.join(work, `layout-${n++}`);
  const files: [string, Uint8Array][] = ociMembers(img).map((m) => [m.name, (m as { data: Uint8Array }).data]);
  for (const [name, data] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), data);
  }
  const targets = ['index.json', 'oci-layout', 'blobs', 'blobs/sha256', ...files.map(([name]) => name)];
  for (const h of d.hostile) {
    const p = path.join(dir, targets[h.target % targets.length]!);
    try {
      fs.rmSync(p, { recursive: true, force: true });
      if (h.as === 'dir') fs.mkdirSync(p, { recursive: true });
      else if (h.as === 'fifo') execFileSync('mkfifo', [p], { stdio: 'ignore' });
      else if (h.as === 'dangling') fs.symlinkSync(path.join(dir, 'nowhere'), p);
      else if (h.as === 'outside') fs.symlinkSync('/etc/passwd', p);
      else if (h.as === 'to-dir') fs.symlinkSync(work, p);
      else if (h.as === 'loop') fs.symlinkSync(p, p);
    } catch {
      // the parent is no longer a directory
    }
  }
  return dir;
}

async function loadDir(dir: string): Promise<void> {
  await readContents(await loadImage(dir));
}

// --- properties -------------------------------------------------------------------------------

const jsonish = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.anything().map((v) => {
    try {
      return JSON.stringify(v) ?? '';
    } catch {
      return '';
    }
  }),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

describe('images fuzz: loadImage over docker save and OCI layouts', () => {
  it('replays the corpus (corpus/images: tar archives)', async () => {
    await replayCorpus('images', ({ bytes }) => loadFile(bytes), 3 * BOUND_MS);
  });

  it('the unmutated image loads from a docker archive, an OCI tar and an OCI directory', async () => {
    const c: ImageCase = { config: [], manifest: [], index: [], top: [], layer: null, raw: null, staleDigests: false };
    for (const kind of ['docker', 'oci'] as const) {
      const file = path.join(work, `good-${kind}.tar`);
      fs.writeFileSync(file, await archiveBytes({ kind, c, extras: { seed: 0, before: false, count: 0 }, gzip: false }));
      const l = await loadImage(file);
      expect([...l.tree.root.entries.keys()].sort()).toEqual(['bin', 'etc']);
      expect(await readContents(l)).toBeGreaterThan(0);
    }
    await loadDir(await writeLayout({ c, hostile: [] }));
  });

  it('regression: layout files that are not regular files (a directory failed with a raw EISDIR; a fifo blocked for ever)', async () => {
    const c: ImageCase = { config: [], manifest: [], index: null, top: [], layer: null, raw: null, staleDigests: false };
    // Targets: 0 index.json, then (after oci-layout, blobs, blobs/sha256 and the layout's files in
    // order: oci-layout, index.json) 6 and 7 the layers, 8 the config, 9 the manifest.
    for (const hostile of [[{ target: 0, as: 'dir' }], [{ target: 0, as: 'fifo' }], [{ target: 6, as: 'fifo' }], [{ target: 7, as: 'dir' }], [{ target: 8, as: 'fifo' }], [{ target: 9, as: 'dir' }]] as DirCase['hostile'][]) {
      const dir = await writeLayout({ c, hostile });
      try {
        const { error } = await clean(() => loadDir(dir));
        expect(error, JSON.stringify(hostile)).toBeDefined();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it(`arbitrary JSON as manifest.json and index.json (${RUNS} cases)`, async () => {
    await fuzz(
      'images',
      fc.asyncProperty(fc.constantFrom('manifest.json', 'index.json'), jsonish, fc.boolean(), async (name, text, layout) => {
        const members: Member[] = [{ name, data: new TextEncoder().encode(text) }];
        if (layout) members.push({ name: 'oci-layout', data: new TextEncoder().encode('{}') });
        const bytes = await tarOf(members);
        await clean(() => loadFile(bytes));
      }),
    );
  });

  it(`mutated docker and OCI archives (documents, layers, extra members, gzip) (${RUNS} cases)`, async () => {
    await fuzz(
      'images',
      fc.asyncProperty(archiveCase, async (a) => {
        const bytes = await archiveBytes(a);
        await clean(() => loadFile(bytes));
      }),
      { save: async ([a]) => asBin(await archiveBytes(a)) },
    );
  });

  it(`mutated OCI layout directories (documents, and files that are not files) (${RUNS} cases)`, async () => {
    await fuzz(
      'images',
      fc.asyncProperty(dirCase, async (d) => {
        const dir = await writeLayout(d);
        try {
          await clean(() => loadDir(dir));
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
    );
  });
});
