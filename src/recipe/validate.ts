// A recipe is checked whole before anything is built: every option of every output
// (reachable cooks included) is parsed the way the command would parse it, every path it
// names must exist, unknown keys are errors. A typo in the last bake's size must not be
// found after an hour of cooking.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { parseSize, parseUuid } from '../bake/ext4/options.js';
import { parseFormat } from '../bake/image-formats/format.js';
import { cmdlineProblem } from '../bake/kernel-cmdline.js';
import { normalizeHash, checkPathEntry } from '../api/cook.js';
import { parseImageRef } from '../sources/registry.js';
import { parsePlatform } from '../sources/oci.js';
import { CakeError } from '../util/errors.js';
import { type Recipe, RecipeError } from './recipe.js';
import type { BakeSpec, CookSpec, Output, SourceSpec } from './spec.js';

const COOK_KEYS = new Set(['kind', 'name', 'src', 'contents', 'path', 'script', 'prepare', 'cleanup', 'sha256', 'platform', 'lenient']);
const BAKE_KEYS = new Set(['kind', 'name', 'image', 'kernel', 'size', 'debug', 'options', 'modules', 'uuid', 'force', 'format']);
const DEB_NAME = /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?$/;
const MODULE = /^[A-Za-z0-9_-]{1,64}$/;

/** How deep outputs may feed each other (a src or image that is a cook, and so on): real recipes are a few deep, and a deeper chain would overflow the stack. */
export const MAX_CHAIN = 256;

/** Checks every output reachable from the recipe; throws a RecipeError naming the file and the output. */
export function validateRecipe(recipe: Recipe): void {
  const names = new Map<Output, string>();
  for (const [k, v] of recipe.outputs) names.set(v, k);
  const seen = new Set<Output>();
  const visit = (o: Output, user: string, depth = 0): void => {
    if (seen.has(o)) return;
    seen.add(o);
    const name = names.get(o) ?? o.name ?? `${user}-src`;
    const fail = (msg: string): never => {
      throw new RecipeError(recipe.file, msg, name);
    };
    if (depth > MAX_CHAIN) fail(`is at the end of a chain of more than ${MAX_CHAIN} outputs, each the src or image of the next`);
    // An option checked by the command's own parser: its error, worded for the recipe.
    const check = (field: string, f: () => unknown): void => {
      try {
        f();
      } catch (e) {
        if (e instanceof CakeError) fail(`${field}: ${e.message.replace(/^[-\w]+: /, '')}`);
        throw e;
      }
    };
    const keys = o.kind === 'cook' ? COOK_KEYS : BAKE_KEYS;
    for (const k of Object.keys(o)) if (!keys.has(k)) fail(`unknown field ${JSON.stringify(k)} in a ${o.kind} (it takes ${[...keys].filter((x) => x !== 'kind').join(', ')})`);
    const strings = (field: string, v: unknown): string[] => {
      if (v === undefined) return [];
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(`${field} must be a list of strings`);
      return v as string[];
    };
    const str = (field: string, v: unknown): void => {
      if (v !== undefined && typeof v !== 'string') fail(`${field} must be a string`);
    };
    const bool = (field: string, v: unknown): void => {
      if (v !== undefined && typeof v !== 'boolean') fail(`${field} must be true or false`);
    };
    if (o.kind === 'cook') {
      const c = o as CookSpec;
      for (const f of ['name', 'script', 'prepare', 'cleanup', 'sha256', 'platform'] as const) str(f, c[f]);
      bool('lenient', c.lenient);
      if (c.sha256 !== undefined) check('sha256', () => normalizeHash(c.sha256!));
      if (c.platform !== undefined) check('platform', () => parsePlatform(c.platform!));
      for (const d of strings('path', c.path)) check('path', () => checkPathEntry(d));
      for (const p of strings('contents', c.contents)) {
        if (!fs.existsSync(nodePath.resolve(recipe.dir, p))) fail(`contents ${JSON.stringify(p)}: no such file or directory`);
      }
      visitInput(c.src, name, 'src', depth);
    } else {
      const b = o as BakeSpec;
      for (const f of ['name', 'size', 'uuid', 'format'] as const) str(f, b[f]);
      bool('debug', b.debug);
      bool('force', b.force);
      if (b.size !== undefined) check('size', () => parseSize(b.size!));
      if (b.uuid !== undefined) check('uuid', () => parseUuid(b.uuid!));
      if (b.format !== undefined) check('format', () => parseFormat(b.format!));
      const options = strings('options', b.options);
      const why = cmdlineProblem(options.join(' '));
      if (why) fail(`options: the kernel command line ${JSON.stringify(options.join(' '))} ${why}`);
      for (const m of strings('modules', b.modules)) if (!MODULE.test(m)) fail(`modules: ${JSON.stringify(m)} is not a module name`);
      const k = b.kernel;
      for (const f of ['debian', 'path'] as const) if (k[f] !== undefined && typeof k[f] !== 'string') fail(`kernel: ${f} must be a string`);
      if (k.debian !== undefined && !DEB_NAME.test(k.debian)) fail(`kernel: ${JSON.stringify(k.debian)} is not a Debian package name`);
      if (k.path !== undefined && !fs.existsSync(nodePath.resolve(recipe.dir, k.path))) fail(`kernel ${JSON.stringify(k.path)}: no such file or directory`);
      visitInput(b.image, name, 'image', depth);
    }
  };
  const visitInput = (s: SourceSpec | CookSpec, user: string, field: string, depth: number): void => {
    if (s.kind === 'cook') return visit(s, user, depth + 1);
    const fail = (msg: string): never => {
      throw new RecipeError(recipe.file, msg, user);
    };
    if (s.ref.startsWith('deb:')) {
      if (!DEB_NAME.test(s.ref.slice(4))) fail(`${field} ${JSON.stringify(s.ref)}: not a Debian package name`);
    } else if (!s.isPath) {
      try {
        parseImageRef(s.ref);
      } catch (e) {
        fail(`${field}: ${(e as Error).message.replace(/^image: /, '')}`);
      }
    } else if (!fs.existsSync(nodePath.resolve(recipe.dir, s.ref))) {
      const outputs = [...recipe.outputs.keys()];
      fail(`${field} ${JSON.stringify(s.ref)} is neither an output of this recipe (${outputs.join(', ')}) nor a file or directory`);
    }
  };
  for (const [name, o] of recipe.outputs) visit(o, name);
}
