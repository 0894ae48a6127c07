// Loading a recipe: `cake.config.ts` (or .mts, .js, .mjs, .json) without a build step.
// TypeScript goes through jiti; `import … from 'cake-img'` always means the running
// cake-img (an alias), so a recipe needs no install of its own. The default export is an
// object of named outputs, or a function given the builders that returns one.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CookSpec, type Output, type SourceSpec, bake, cook, helpers, kernelFile, kernelFromDebian, source } from './spec.js';
import { type Recipe, RecipeError } from './recipe.js';
import { MAX_CHAIN, validateRecipe } from './validate.js';
import { cacheDir } from '../host/cache.js';

/** Where jiti keeps transpiled recipes; none (transpile every time) without a cache directory. */
function transpileCache(): string | false {
  try {
    return cacheDir('recipes');
  } catch {
    return false;
  }
}

export { type Recipe, RecipeError } from './recipe.js';

export const RECIPE_NAMES = ['cake.config.ts', 'cake.config.mts', 'cake.config.js', 'cake.config.mjs', 'cake.config.json'];


/** The recipe file: the one named, or cake.config.* in `cwd`. */
export function findRecipe(arg: string | undefined, cwd = process.cwd()): string {
  if (arg) {
    const p = nodePath.resolve(cwd, arg);
    if (fs.existsSync(p) && fs.statSync(p).isDirectory()) return findRecipe(undefined, p);
    if (!fs.existsSync(p)) throw new RecipeError(arg, 'no such recipe file');
    return p;
  }
  for (const n of RECIPE_NAMES) {
    const p = nodePath.join(cwd, n);
    if (fs.existsSync(p)) return p;
  }
  throw new RecipeError(cwd, `no recipe here (looked for ${RECIPE_NAMES.join(', ')})`);
}

function isOutput(v: unknown): v is Output {
  const k = (v as { kind?: unknown } | null)?.kind;
  return k === 'cook' || k === 'bake';
}

/** JSON recipes: { NAME: { "cook": {...} } | { "bake": {...} } }; a string src/image naming another output refers to it. */
function fromJson(file: string, json: unknown): Map<string, Output> {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new RecipeError(file, 'expected an object of named outputs');
  const raw = json as Record<string, Record<string, Record<string, unknown>>>;
  const built = new Map<string, Output>();
  const building = new Set<string>();
  const get = (name: string, from?: string): Output => {
    const done = built.get(name);
    if (done) return done;
    const o = raw[name];
    if (!o || typeof o !== 'object') throw new RecipeError(file, `no output named ${JSON.stringify(name)}`, from);
    if (building.has(name)) throw new RecipeError(file, 'refers to itself through its inputs', name);
    if (building.size > MAX_CHAIN) throw new RecipeError(file, `is at the end of a chain of more than ${MAX_CHAIN} outputs, each the src or image of the next`, name);
    building.add(name);
    const ref = (v: unknown): SourceSpec | CookSpec => {
      if (typeof v !== 'string') throw new RecipeError(file, 'src/image must be a string (a source, or the name of another output)', name);
      if (v in raw) {
        const dep = get(v, name);
        if (dep.kind !== 'cook') throw new RecipeError(file, `${JSON.stringify(v)} is a bake, not a tree`, name);
        return dep;
      }
      return source(v);
    };
    let out: Output;
    try {
      if (o.cook) out = cook({ ...(o.cook as object), src: ref(o.cook.src) } as Parameters<typeof cook>[0]);
      else if (o.bake) {
        const k = o.bake.kernel as { debian?: string; path?: string } | string | undefined;
        const kernel = typeof k === 'string' ? kernelFile(k) : k?.debian ? kernelFromDebian(k.debian) : k?.path ? kernelFile(k.path) : undefined;
        out = bake({ ...(o.bake as object), image: ref(o.bake.image), kernel } as Parameters<typeof bake>[0]);
      } else throw new RecipeError(file, 'needs a "cook" or a "bake" object', name);
    } catch (e) {
      if (e instanceof RecipeError) throw e;
      throw new RecipeError(file, (e as Error).message, name);
    }
    building.delete(name);
    built.set(name, out);
    return out;
  };
  for (const name of Object.keys(raw)) get(name);
  return new Map(Object.keys(raw).map((n) => [n, built.get(n)!]));
}

/** The cake-img API module recipes import as 'cake-img'. */
function apiModule(): string {
  return nodePath.join(nodePath.dirname(fileURLToPath(import.meta.url)), '..', 'index.js');
}

export async function loadRecipe(file: string): Promise<Recipe> {
  const dir = nodePath.dirname(file);
  let outputs: Map<string, Output>;
  if (file.endsWith('.json')) {
    let json: unknown;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new RecipeError(file, `cannot read it: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    try {
      json = JSON.parse(text);
    } catch (e) {
      const msg = (e as Error).message;
      const at = /at position (\d+)/.exec(msg);
      const pos = at ? lineColumn(text, Number(at[1])) : '';
      throw new RecipeError(`${file}${pos}`, `not valid JSON: ${msg.replace(/ in JSON at position \d+.*$/, '')}`);
    }
    outputs = fromJson(file, json);
  } else {
    const { createJiti } = await import('jiti');
    // The transpiled recipe is cached by its content (jiti hashes the source) in cake-img's
    // cache: a no-op build then never loads the TypeScript transpiler (a third of its time).
    const jiti = createJiti(import.meta.url, { alias: { 'cake-img': apiModule() }, moduleCache: false, fsCache: transpileCache(), interopDefault: true });
    let mod: unknown;
    try {
      mod = await jiti.import(file, { default: true });
    } catch (e) {
      const err = e as Error;
      const first = String(err.message ?? err).split('\n')[0]!.trim();
      throw new RecipeError(`${file}${sourcePosition(err, file)}`, `cannot load: ${first}`);
    }
    let value = mod;
    if (typeof value === 'function') {
      try {
        value = await (value as (h: typeof helpers) => unknown)(helpers);
      } catch (e) {
        throw new RecipeError(file, `the recipe function failed: ${(e as Error).message}`);
      }
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new RecipeError(file, 'export default an object of named outputs (cook(...) and bake(...)), or a function returning one');
    outputs = new Map();
    for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
      if (!isOutput(v)) throw new RecipeError(file, 'is not a cook(...) or bake(...)', name);
      outputs.set(name, v);
    }
  }
  if (outputs.size === 0) throw new RecipeError(file, 'has no outputs');
  const recipe = { file, dir, outputs };
  validateRecipe(recipe);
  return recipe;
}

/** ":LINE:COLUMN" of `pos` (a character offset) in `text`. */
function lineColumn(text: string, pos: number): string {
  const before = text.slice(0, pos).split('\n');
  return `:${before.length}:${before[before.length - 1]!.length + 1}`;
}

/** ":LINE:COLUMN" in `file` of a load error: from the parser's message, else from the stack. */
function sourcePosition(err: Error, file: string): string {
  const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`${esc}:(\\d+):(\\d+)`).exec(`${err.message ?? ''}\n${err.stack ?? ''}`);
  return m ? `:${m[1]}:${m[2]}` : '';
}

