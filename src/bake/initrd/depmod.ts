// modules.dep, modules.softdep and modules.alias made in TypeScript, as kmod's depmod makes
// them (tools/depmod.c), so the CLI and the browser get the same module closure and load
// order from a kernel package without running the host's depmod:
// - modules sorted by their line in modules.order (others after, by path);
// - each symbol owned by the last module (in that order) exporting it;
// - a module depends on the owners of its undefined symbols, first use first;
// - a topological sort (Kahn's, roots on a stack, pushed in module order) numbers every
//   module; a line lists the module's whole dependency closure in that numbering;
// - modules in a dependency cycle get no line.
// Checked against the real `depmod -b` on Debian's kernel (test/web/depmod.test.ts).
import { CorruptInputError } from '../../util/errors.js';
import type { ModuleElf } from './module-elf.js';
import { canonical } from './modules.js';

export interface ScannedModule {
  /** Path under lib/modules/<version>, as stored (kernel/fs/ext4/ext4.ko, ...ko.xz). */
  path: string;
  elf: ModuleElf;
}

export interface DepmodOutput {
  'modules.dep': string;
  'modules.softdep': string;
  'modules.alias': string;
}

/** The module files depmod reads: what a path must end with. */
export const MODULE_FILE = /\.ko(\.(gz|xz|zst))?$/;

/** kmod's path_to_modname: the file name up to its first '.', dashes as underscores. */
export function modnameOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return canonical(base.slice(0, base.indexOf('.') < 0 ? undefined : base.indexOf('.')));
}

interface Mod {
  path: string;
  name: string;
  elf: ModuleElf;
  sort: number;
  deps: Mod[];
  users: number;
  depSort: number;
  loop: boolean;
}

/** One module per name: a copy under updates/ wins (depmod.d's default search order), else the first by path. */
function uniqueByName(mods: ScannedModule[]): ScannedModule[] {
  const byName = new Map<string, ScannedModule>();
  const sorted = [...mods].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const m of sorted) {
    const name = modnameOf(m.path);
    const had = byName.get(name);
    if (!had || (!had.path.startsWith('updates/') && m.path.startsWith('updates/'))) byName.set(name, m);
  }
  return [...byName.values()];
}

function sortByOrder(list: Mod[], order: string | undefined): void {
  const uncompressed = (p: string) => p.replace(/\.(gz|xz|zst)$/, '');
  const lines = (order ?? '').split('\n');
  const total = lines.length + 1;
  const byPath = new Map(list.map((m) => [uncompressed(m.path), m]));
  lines.forEach((line, i) => {
    const m = byPath.get(line);
    if (m) m.sort = i + 1 - total;
  });
  list.sort((a, b) => a.sort - b.sort || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function linkSymbols(list: Mod[]): void {
  const owner = new Map<string, Mod>();
  for (const m of list) for (const s of m.elf.exports) owner.set(s, m);
  for (const m of list) {
    for (let s of m.elf.imports) {
      if (s.startsWith('.')) s = s.slice(1);
      const o = owner.get(s);
      if (!o || m.deps.includes(o)) continue;
      m.deps.push(o);
      o.users++;
    }
  }
}

function numberTopologically(list: Mod[]): void {
  const index = new Map(list.map((m, i) => [m, i]));
  const users = list.map((m) => m.users);
  const roots: number[] = [];
  users.forEach((u, i) => u === 0 && roots.push(i));
  let n = 0;
  while (roots.length) {
    const src = list[roots.pop()!]!;
    src.depSort = n++;
    for (const d of src.deps) {
      const i = index.get(d)!;
      if (--users[i]! === 0) roots.push(i);
    }
  }
  users.forEach((u, i) => {
    if (u > 0) list[i]!.loop = true;
  });
}

/** A module's whole dependency closure, ordered by the topological numbering. */
function closure(m: Mod): Mod[] {
  const out: Mod[] = [];
  const seen = new Set<Mod>();
  const stack = [...m.deps].reverse();
  // Iterative pre-order (kmod recurses): only the set matters, it is sorted after.
  while (stack.length) {
    const d = stack.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    out.push(d);
    for (let i = d.deps.length - 1; i >= 0; i--) stack.push(d.deps[i]!);
  }
  const key = (x: Mod) => (x.loop ? Number.MAX_SAFE_INTEGER : x.depSort);
  return out.sort((a, b) => key(a) - key(b));
}

/** The index files for `modules`, given the package's modules.order text (if any). */
export function depmod(modules: ScannedModule[], order: string | undefined): DepmodOutput {
  if (modules.length >= 0xffff) throw new CorruptInputError('modules', `${modules.length} modules: depmod handles fewer than 65535`);
  const list: Mod[] = uniqueByName(modules).map((m) => ({ path: m.path, name: modnameOf(m.path), elf: m.elf, sort: 1, deps: [], users: 0, depSort: Number.MAX_SAFE_INTEGER, loop: false }));
  sortByOrder(list, order);
  linkSymbols(list);
  numberTopologically(list);
  const dep: string[] = [];
  const softdep = ['# Soft dependencies extracted from modules themselves.'];
  const alias = ['# Aliases extracted from modules themselves.'];
  for (const m of list) {
    if (!m.loop) dep.push(`${m.path}:${m.deps.length ? closure(m).map((d) => ` ${d.path}`).join('') : ''}`);
    for (const [k, v] of m.elf.modinfo) {
      if (k === 'softdep') softdep.push(`softdep ${m.name} ${v}`);
      if (k === 'alias') alias.push(`alias ${v} ${m.name}`);
    }
  }
  const text = (lines: string[]) => lines.map((l) => `${l}\n`).join('');
  return { 'modules.dep': text(dep), 'modules.softdep': text(softdep), 'modules.alias': text(alias) };
}
