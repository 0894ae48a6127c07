// A recipe is checked whole before anything is built: every option of every output
// (reachable cooks included) is parsed the way the command would parse it, every path it
// names must exist, unknown keys are errors. A typo in the last bake's size must not be
// found after an hour of cooking.
import { FIRMWARES } from '../bake/firmware.js';
import { parseGuid } from '../bake/gpt/guid.js';
import { parseFormat } from '../bake/image-formats/format.js';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { parseSize, parseUuid } from '../bake/ext4/options.js';
import { cmdlineProblem } from '../bake/kernel-cmdline.js';
import { normalizeHash, checkPathEntry } from '../cook/cook-options.js';
import { parseImageRef, parseImageTag, parsePlatform } from '../sources/image-names.js';
import { CakeError } from '../util/errors.js';
import { type Recipe, RecipeError } from './recipe.js';
import type { BakeSpec, CookSpec, Output, SourceSpec } from './spec.js';

const COOK_KEYS = new Set(['kind', 'name', 'src', 'contents', 'path', 'script', 'prepare', 'cleanup', 'sha256', 'platform', 'lenient', 'output', 'tag']);
const BAKE_KEYS = new Set(['kind', 'name', 'image', 'kernel', 'size', 'debug', 'options', 'modules', 'uuid', 'force', 'firmware', 'espSize', 'diskGuid', 'format']);
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
    const ch = new FieldChecks(recipe.file, name);
    if (depth > MAX_CHAIN) ch.fail(`is at the end of a chain of more than ${MAX_CHAIN} outputs, each the src or image of the next`);
    const keys = o.kind === 'cook' ? COOK_KEYS : BAKE_KEYS;
    for (const k of Object.keys(o)) if (!keys.has(k)) ch.fail(`unknown field ${JSON.stringify(k)} in a ${o.kind} (it takes ${[...keys].filter((x) => x !== 'kind').join(', ')})`);
    if (o.kind === 'cook') checkCook(o as CookSpec, ch, recipe.dir);
    else checkBake(o as BakeSpec, ch, recipe.dir);
    const [input, field] = o.kind === 'cook' ? [(o as CookSpec).src, 'src'] : [(o as BakeSpec).image, 'image'];
    if (input.kind === 'cook') visit(input, name, depth + 1);
    else checkSource(recipe, input, field, ch);
  };
  for (const [name, o] of recipe.outputs) visit(o, name);
}

/** Checks of one output's fields; a failure is a RecipeError naming the recipe file and the output. */
class FieldChecks {
  constructor(private readonly file: string, private readonly output: string) {}

  fail(msg: string): never {
    throw new RecipeError(this.file, msg, this.output);
  }

  /** An option checked by the command's own parser: its error, worded for the recipe. */
  parsed(field: string, f: () => unknown): void {
    try {
      f();
    } catch (e) {
      if (e instanceof CakeError) this.fail(`${field}: ${e.message.replace(/^[-\w]+: /, '')}`);
      throw e;
    }
  }

  strings(field: string, v: unknown): string[] {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail(`${field} must be a list of strings`);
    return v as string[];
  }

  str(field: string, v: unknown): void {
    if (v !== undefined && typeof v !== 'string') this.fail(`${field} must be a string`);
  }

  bool(field: string, v: unknown): void {
    if (v !== undefined && typeof v !== 'boolean') this.fail(`${field} must be true or false`);
  }
}

function checkCook(c: CookSpec, ch: FieldChecks, dir: string): void {
  for (const f of ['name', 'script', 'prepare', 'cleanup', 'sha256', 'platform'] as const) ch.str(f, c[f]);
  ch.bool('lenient', c.lenient);
  for (const f of ['output', 'tag'] as const) ch.str(f, c[f]);
  if (c.output !== undefined && !['oci', 'oci.tar', 'docker.tar'].includes(c.output)) ch.fail(`output: ${JSON.stringify(c.output)} is not oci, oci.tar or docker.tar`);
  if (c.tag !== undefined) ch.parsed('tag', () => parseImageTag(c.tag!));
  if (c.sha256 !== undefined) ch.parsed('sha256', () => normalizeHash(c.sha256!));
  if (c.platform !== undefined) ch.parsed('platform', () => parsePlatform(c.platform!));
  for (const d of ch.strings('path', c.path)) ch.parsed('path', () => checkPathEntry(d));
  for (const p of ch.strings('contents', c.contents)) {
    if (!fs.existsSync(nodePath.resolve(dir, p))) ch.fail(`contents ${JSON.stringify(p)}: no such file or directory`);
  }
}

function checkBake(b: BakeSpec, ch: FieldChecks, dir: string): void {
  for (const f of ['name', 'size', 'uuid', 'firmware', 'espSize', 'diskGuid', 'format'] as const) ch.str(f, b[f]);
  if (b.format !== undefined) ch.parsed('format', () => parseFormat(b.format!));
  if (b.firmware !== undefined && !FIRMWARES.includes(b.firmware)) ch.fail(`firmware: must be bios, uefi or hybrid, not ${JSON.stringify(b.firmware)}`);
  if (b.espSize !== undefined) ch.parsed('espSize', () => parseSize(b.espSize!, 'espSize'));
  if (b.diskGuid !== undefined) ch.parsed('diskGuid', () => parseGuid(b.diskGuid!, 'diskGuid'));
  if ((b.espSize !== undefined || b.diskGuid !== undefined) && b.firmware === 'bios') ch.fail(`${b.espSize !== undefined ? 'espSize' : 'diskGuid'}: is for GPT disks (firmware uefi or hybrid)`);
  ch.bool('debug', b.debug);
  ch.bool('force', b.force);
  if (b.size !== undefined) ch.parsed('size', () => parseSize(b.size!));
  if (b.uuid !== undefined) ch.parsed('uuid', () => parseUuid(b.uuid!));
  const options = ch.strings('options', b.options);
  const why = cmdlineProblem(options.join(' '));
  if (why) ch.fail(`options: the kernel command line ${JSON.stringify(options.join(' '))} ${why}`);
  for (const m of ch.strings('modules', b.modules)) if (!MODULE.test(m)) ch.fail(`modules: ${JSON.stringify(m)} is not a module name`);
  const k = b.kernel;
  for (const f of ['debian', 'path'] as const) if (k[f] !== undefined && typeof k[f] !== 'string') ch.fail(`kernel: ${f} must be a string`);
  if (k.debian !== undefined && !DEB_NAME.test(k.debian)) ch.fail(`kernel: ${JSON.stringify(k.debian)} is not a Debian package name`);
  if (k.path !== undefined && !fs.existsSync(nodePath.resolve(dir, k.path))) ch.fail(`kernel ${JSON.stringify(k.path)}: no such file or directory`);
}

/** A plain source (`src` or `image` of the output `ch` checks): a Debian package name, an image reference, or a path that exists. */
function checkSource(recipe: Recipe, s: SourceSpec, field: string, ch: FieldChecks): void {
  if (s.ref.startsWith('deb:')) {
    if (!DEB_NAME.test(s.ref.slice(4))) ch.fail(`${field} ${JSON.stringify(s.ref)}: not a Debian package name`);
  } else if (!s.isPath) {
    try {
      parseImageRef(s.ref);
    } catch (e) {
      ch.fail(`${field}: ${(e as Error).message.replace(/^image: /, '')}`);
    }
  } else if (!fs.existsSync(nodePath.resolve(recipe.dir, s.ref))) {
    const outputs = [...recipe.outputs.keys()];
    ch.fail(`${field} ${JSON.stringify(s.ref)} is neither an output of this recipe (${outputs.join(', ')}) nor a file or directory`);
  }
}
