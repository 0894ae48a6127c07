// Kernel module resolution from a lib/modules/<version> directory: modules.dep for hard
// dependencies, modules.softdep (pre/post) and modules.alias for soft ones,
// modules.builtin for what needs no loading. The load order is a topological order:
// every module after what it needs.
import type { SourceFs } from '../../io/source-fs.js';
import { CorruptInputError, InvalidOptionError } from '../../util/errors.js';
import { exists, pathProblem, readText } from './read-file.js';

export interface ModuleIndex {
  dir: string;
  /** Canonical name (dashes as underscores) → relative path as in modules.dep. */
  paths: Map<string, string>;
  /** Relative path → relative paths it needs (modules.dep). */
  deps: Map<string, string[]>;
  builtin: Set<string>;
  softPre: Map<string, string[]>;
  softPost: Map<string, string[]>;
  /** The module names an alias stands for, in file order (modules.alias is big: searched, not parsed whole). */
  aliasesOf(alias: string): string[];
}

/** Module names treat '-' and '_' alike. */
export function canonical(name: string): string {
  return name.replace(/-/g, '_');
}

/** "kernel/fs/ext4/ext4.ko.xz" → "ext4". */
export function moduleName(path: string): string {
  return canonical(path.slice(path.lastIndexOf('/') + 1).replace(/\.ko(\.(xz|zst|gz))?$/, ''));
}

/** A module name as the index files use them: letters, digits, '_' and '-'. */
const MODULE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A module path from an index file must name a .ko inside the modules directory: what it
 * names is copied into the initrd, and the directory is input like any other.
 */
function checkModulePath(path: string, where: string): string {
  const why = pathProblem(path);
  if (why) throw new CorruptInputError(where, `module path ${JSON.stringify(path)} ${why}; only modules inside the directory can be used`);
  if (!/\.ko(\.(xz|zst|gz))?$/.test(path)) throw new CorruptInputError(where, `module path ${JSON.stringify(path)} is not a .ko file`);
  return path;
}

/**
 * A soft dependency names a module or an alias ("platform:idma64"): a lookup key, never a
 * path, but one with a "/" could only be a path someone slipped in.
 */
function checkModuleName(name: string, where: string): string {
  if (name === '' || name.length > 256 || /[/\0]/.test(name)) throw new CorruptInputError(where, `${JSON.stringify(name)} is not a module name or alias`);
  return name;
}

export async function loadModuleIndex(fs: SourceFs, label: string): Promise<ModuleIndex> {
  if (!(await exists(fs, 'modules.dep'))) {
    throw new CorruptInputError(label, 'has no modules.dep (an unpacked kernel package has none: run `depmod -b ROOT VERSION` on it)');
  }
  const aliasText = (await exists(fs, 'modules.alias')) ? `\n${await readText(fs, 'modules.alias', label)}` : '';
  const found = new Map<string, string[]>();
  const idx: ModuleIndex = {
    dir: label, paths: new Map(), deps: new Map(), builtin: new Set(), softPre: new Map(), softPost: new Map(),
    aliasesOf(alias) {
      let list = found.get(alias);
      if (!list) {
        list = findAliases(aliasText, alias, `${label}/modules.alias`);
        found.set(alias, list);
      }
      return list;
    },
  };
  const lines = (file: string, text: string) => text.split('\n').map((line, i) => ({ line, where: `${label}/${file}:${i + 1}` }));
  for (const { line, where } of lines('modules.dep', await readText(fs, 'modules.dep', label))) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new CorruptInputError(where, 'not a "path: dependencies" line');
    const path = checkModulePath(line.slice(0, colon).trim(), where);
    idx.paths.set(moduleName(path), path);
    idx.deps.set(path, line.slice(colon + 1).trim().split(/\s+/).filter(Boolean).map((d) => checkModulePath(d, where)));
  }
  if (await exists(fs, 'modules.builtin')) {
    for (const { line, where } of lines('modules.builtin', await readText(fs, 'modules.builtin', label))) {
      if (line.trim()) idx.builtin.add(moduleName(checkModulePath(line.trim(), where)));
    }
  }
  if (await exists(fs, 'modules.softdep')) {
    for (const { line, where } of lines('modules.softdep', await readText(fs, 'modules.softdep', label))) {
      const m = /^softdep\s+(\S+)\s+(.*)$/.exec(line.trim());
      if (!m) continue;
      let list: 'pre' | 'post' = 'pre';
      const key = canonical(checkModuleName(m[1]!, where));
      for (const tok of m[2]!.split(/\s+/)) {
        if (tok === 'pre:' || tok === 'post:') list = tok === 'pre:' ? 'pre' : 'post';
        else {
          const map = list === 'pre' ? idx.softPre : idx.softPost;
          map.set(key, [...(map.get(key) ?? []), checkModuleName(tok, where)]);
        }
      }
    }
  }
  return idx;
}

/** The modules of "alias ALIAS MODULE" lines in modules.alias text (which starts with a newline). */
function findAliases(text: string, alias: string, file: string): string[] {
  const out: string[] = [];
  const needle = `\nalias ${alias} `;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    const start = at + needle.length;
    const end = text.indexOf('\n', start);
    const mod = text.slice(start, end < 0 ? undefined : end).trim();
    if (!mod || /\s/.test(mod)) continue;
    // Only the lines used are checked (the file is big); the line number is counted for the message.
    const where = () => `${file}:${text.slice(0, at + 1).split('\n').length - 1}`;
    if (!MODULE_NAME.test(mod)) throw new CorruptInputError(where(), `${JSON.stringify(mod)} is not a module name`);
    out.push(canonical(mod));
  }
  return out;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

export function closeMatches(idx: ModuleIndex, name: string, n = 5): string[] {
  const all = [...idx.paths.keys(), ...idx.builtin];
  const c = canonical(name);
  return all
    .map((m) => ({ m, s: m.includes(c) || c.includes(m) ? 0.5 : distance(m, c) }))
    .filter((x) => x.s <= Math.max(2, c.length / 3))
    .sort((a, b) => a.s - b.s || (a.m < b.m ? -1 : 1))
    .slice(0, n)
    .map((x) => x.m);
}

/** How deep dependencies (hard and soft) may nest. */
const MAX_DEPTH = 512;

export interface ModulePlan {
  /** Relative paths in load order. */
  load: string[];
  builtin: string[];
  notes: string[];
}

/**
 * The closure of `wanted` in load order. Unknown names are an error listing close
 * matches; built-in ones are skipped; soft dependencies that resolve to nothing are
 * noted, not fatal (modprobe treats them the same way).
 */
export function resolveModules(idx: ModuleIndex, wanted: string[]): ModulePlan {
  const load: string[] = [];
  const builtin: string[] = [];
  const notes: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();

  const resolveSoft = (name: string): string[] => {
    const c = canonical(name);
    if (idx.paths.has(c) || idx.builtin.has(c)) return [c];
    const byName = idx.aliasesOf(name);
    return (byName.length ? byName : idx.aliasesOf(c)).filter((m) => idx.paths.has(m) || idx.builtin.has(m));
  };

  let depth = 0;
  const visitPath = (path: string) => {
    if (state.get(path) === 'done' || state.get(path) === 'visiting') return; // a cycle: modules.dep has none, but never loop
    // Real chains are a few modules deep; a crafted one thousands deep would overflow the stack.
    if (++depth > MAX_DEPTH) throw new CorruptInputError(idx.dir, `module dependencies nest more than ${MAX_DEPTH} deep (at ${JSON.stringify(moduleName(path))})`);
    state.set(path, 'visiting');
    const name = moduleName(path);
    const soft = (list: Map<string, string[]>) => {
      for (const dep of list.get(name) ?? []) {
        const found = resolveSoft(dep);
        if (!found.length) notes.push(`soft dependency ${dep} of ${name} not found; skipped`);
        for (const f of found) visitName(f, false);
      }
    };
    soft(idx.softPre);
    for (const d of idx.deps.get(path) ?? []) visitPath(d);
    state.set(path, 'done');
    load.push(path);
    soft(idx.softPost);
    depth--;
  };

  const visitName = (name: string, explicit: boolean) => {
    const c = canonical(name);
    if (idx.builtin.has(c) && !idx.paths.has(c)) {
      if (explicit && !builtin.includes(c)) builtin.push(c);
      return;
    }
    const path = idx.paths.get(c);
    if (!path) {
      const near = closeMatches(idx, c);
      throw new InvalidOptionError('--modules', `no module ${JSON.stringify(name)} in ${idx.dir}${near.length ? ` (close: ${near.join(', ')})` : ''}`);
    }
    visitPath(path);
  };

  for (const w of wanted) visitName(w, true);
  return { load, builtin, notes };
}
