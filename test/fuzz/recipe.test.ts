// Fuzz: JSON recipes through loadRecipe (parse, fromJson, validateRecipe): arbitrary JSON
// values, arbitrary text, and mutations of a valid recipe that uses every field (wrong
// types, missing keys, names of outputs that are not there or refer to themselves,
// prototype keys, hostile strings). The result is a Recipe or a CakeError (RecipeError).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRecipe } from '../../src/recipe/load.js';
import { RUNS, expectValueOrCakeError, fuzz, replayCorpus } from './expect-clean.js';
import { applyJsonOps, hostileJson, jsonOps, jsonText } from './mutate.js';

const BOUND_MS = 2000;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-fuzz-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// What the valid recipe names on disk.
fs.mkdirSync(path.join(work, 'files'));
fs.writeFileSync(path.join(work, 'rootfs.tar'), '');
fs.writeFileSync(path.join(work, 'vmlinuz'), '');

const HEX = 'ab'.repeat(32);
const VALID = {
  base: { cook: { src: 'deb:busybox-static', script: '/bin/busybox --install -s', path: ['/opt/tools/bin'], sha256: `sha256:${HEX}` } },
  tree: { cook: { src: 'base', contents: ['files'], prepare: 'true', cleanup: 'true', lenient: true, platform: 'linux/amd64', name: 'tree' } },
  pulled: { cook: { src: `docker.io/library/debian@sha256:${HEX}` } },
  vm: {
    bake: {
      image: 'tree', kernel: { debian: 'linux-image-amd64' }, size: '128M', options: ['console=ttyS0', 'quiet'], modules: ['virtio_blk', 'ext4'],
      uuid: '12345678-1234-1234-1234-123456789abc', debug: false, force: true, name: 'vm',
    },
  },
  vm2: { bake: { image: 'rootfs.tar', kernel: 'vmlinuz' } },
  vm3: { bake: { image: 'pulled', kernel: { path: 'vmlinuz' }, size: 'auto' } },
};

let n = 0;
async function load(text: string): Promise<unknown> {
  const file = path.join(work, `case-${n++}`, 'cake.config.json');
  fs.mkdirSync(path.dirname(file));
  // The recipe's relative paths resolve against its directory: give each case the same files.
  fs.symlinkSync(path.join(work, 'files'), path.join(path.dirname(file), 'files'));
  fs.symlinkSync(path.join(work, 'rootfs.tar'), path.join(path.dirname(file), 'rootfs.tar'));
  fs.symlinkSync(path.join(work, 'vmlinuz'), path.join(path.dirname(file), 'vmlinuz'));
  fs.writeFileSync(file, text);
  try {
    return await loadRecipe(file);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

const clean = <T,>(f: () => T | Promise<T>) => expectValueOrCakeError(f, BOUND_MS);
const asJson = (text: string) => ({ ext: 'json' as const, data: text });

/** Values aimed at the recipe's fields. */
const recipeValue = fc.oneof(
  hostileJson,
  fc.constantFrom<unknown>(
    'base', 'tree', 'vm', 'deb:', 'deb:UPPER', 'deb:a b', 'nosuch', 'files', '../../etc', '/etc', 'x@sha256:abc', `localhost/a@sha256:${HEX}`, 'auto', '0', '-1M',
    '1e999G', '128Mi', 'console=ttyS0\nDEFAULT evil', 'a'.repeat(3000), { debian: 5 }, { path: 5 }, { path: {} }, { debian: '' }, { path: '' }, { cook: {} }, { bake: {} },
    { cook: { src: 'base' } }, { bake: { image: 'vm', kernel: 'vmlinuz' } }, ['console=ttyS0'], [5], [''], ['a\u0000b'],
  ),
);

const opsOnValid = fc.array(
  fc.oneof(
    jsonOps.map((ops) => ops[0]),
    fc.record({ op: fc.constant('replace' as const), path: fc.array(fc.nat({ max: 20 }), { maxLength: 4 }), value: recipeValue }),
  ).filter((x) => x !== undefined),
  { minLength: 1, maxLength: 4 },
);

/** A recipe whose outputs feed each other in a chain `length` long (o0 ← o1 ← ...), ending in a bake when asked. */
function chainRecipe(length: number, bake: boolean): string {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < length; i++) o[`o${i}`] = { cook: { src: i + 1 < length ? `o${i + 1}` : 'deb:x' } };
  if (bake) o.vm = { bake: { image: 'o0', kernel: 'vmlinuz' } };
  return JSON.stringify(o);
}

describe('recipe fuzz: loadRecipe on JSON recipes', () => {
  it('replays the corpus (corpus/recipe; *.gen.json are {"$chain": N} generated chains, kept small on disk)', async () => {
    await replayCorpus('recipe', ({ bytes, name }) => {
      const text = Buffer.from(bytes).toString('utf8');
      if (!name.endsWith('.gen.json')) return load(text);
      const g = JSON.parse(text) as { $chain: number; bake?: boolean };
      return load(chainRecipe(g.$chain, g.bake === true));
    });
  });

  it(`chains of outputs up to 1000 long (${RUNS} cases)`, async () => {
    await fuzz(
      'recipe',
      fc.asyncProperty(fc.integer({ min: 1, max: 1000 }), fc.boolean(), async (length, bake) => {
        await clean(() => load(chainRecipe(length, bake)));
      }),
      { save: ([length, bake]) => ({ ext: 'gen.json', data: JSON.stringify({ $chain: length, bake }) }) },
    );
  });

  it('the valid recipe loads', async () => {
    const r = (await load(JSON.stringify(VALID))) as { outputs: Map<string, unknown> };
    expect([...r.outputs.keys()]).toEqual(Object.keys(VALID));
  });

  it(`arbitrary JSON values and text (${RUNS} cases)`, async () => {
    const text = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })).map((v) => JSON.stringify(v)),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.record({ cook: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] })).map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\n', 'a', '1'), maxLength: 60 }),
    );
    await fuzz('recipe', fc.asyncProperty(text, async (t) => void (await clean(() => load(t)))), { save: ([t]) => asJson(t) });
  });

  it(`mutations of a valid recipe (${RUNS} cases)`, async () => {
    await fuzz(
      'recipe',
      fc.asyncProperty(opsOnValid, async (ops) => {
        const text = jsonText(applyJsonOps(VALID, ops));
        await clean(() => load(text));
      }),
      { save: ([ops]) => asJson(jsonText(applyJsonOps(VALID, ops))) },
    );
  });
});
