// The core entry (src/core.ts: the formats, the trees, the memory backends) bundles for a
// browser: esbuild --platform=browser resolves every import, and no `node:` module or
// host/ file is reachable from it. The whole package (src/index.ts, which also has the
// host adapters) does not, which shows the check can fail.
import * as path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { SRC, WEB } from './imports.js';

async function bundle(entry: string, root = SRC): Promise<{ errors: string[]; inputs: string[] }> {
  try {
    const r = await build({ entryPoints: [path.join(root, entry)], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
    return { errors: [], inputs: Object.keys(r.metafile.inputs) };
  } catch (e) {
    const errors = (e as { errors?: { text: string }[] }).errors ?? [{ text: String(e) }];
    return { errors: errors.map((x) => x.text), inputs: [] };
  }
}

describe('browser bundle', () => {
  it('src/core.ts bundles with no Node module and nothing from src/host reachable', async () => {
    const r = await bundle('core.ts');
    expect(r.errors).toEqual([]);
    expect(r.inputs.some((i) => i.endsWith('src/bake/ext4/writer.ts'))).toBe(true);
    expect(r.inputs.filter((i) => i.startsWith('node:') || i.includes('src/host/'))).toEqual([]);
  }, 60_000);

  it('src/index.ts, which includes the host layer, does not', async () => {
    const r = await bundle('index.ts');
    expect(r.errors.some((e) => /node:/.test(e))).toBe(true);
  }, 60_000);

  it.each(['main.ts', 'worker.ts'])('web/%s (the page, its worker) bundles with no Node module and nothing from src/host reachable', async (entry) => {
    const r = await bundle(entry, WEB);
    expect(r.errors).toEqual([]);
    expect(r.inputs.some((i) => i.endsWith('src/bake/disk.ts'))).toBe(entry === 'worker.ts');
    expect(r.inputs.filter((i) => i.startsWith('node:') || i.includes('src/host/'))).toEqual([]);
  }, 60_000);
});
