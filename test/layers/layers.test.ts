// The layers of src/ (README "Architecture"): an import may only go down this list, so no
// folder depends on one above it and there is no cycle between folders. The bake core
// (bake, io, tree, struct) also never imports a Node module: it runs in a browser.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC, WEB, folderOf, importGraph } from './imports.js';

const ORDER = ['cli', 'recipe', 'api', 'host', 'cook', 'sources', 'bake', 'io', 'run', 'tree', 'struct', 'util'];
const CORE = new Set(['bake', 'io', 'tree', 'struct']);
/** What web/ (the browser page) may import from src/. */
const WEB_MAY = new Set(['bake', 'sources', 'tree', 'io', 'struct', 'util']);

describe('layers', () => {
  const edges = importGraph();

  it('reads the imports it checks (the graph is not empty, and knows every folder)', () => {
    expect(edges.length).toBeGreaterThan(300);
    const folders = new Set(fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name));
    expect([...folders].sort()).toEqual([...ORDER].sort());
  });

  it('no import runs up the layers', () => {
    const upward = edges
      .filter((e) => e.to.endsWith('.ts'))
      .filter((e) => {
        const a = folderOf(e.from), b = folderOf(e.to);
        return a !== '' && b !== '' && a !== b && ORDER.indexOf(b) < ORDER.indexOf(a);
      })
      .map((e) => `${e.from} imports ${e.to}`);
    expect(upward).toEqual([]);
  });

  it('every relative import names a file that exists', () => {
    const missing = edges.filter((e) => e.to.endsWith('.ts') && !fs.existsSync(path.join(SRC, e.to))).map((e) => `${e.from} imports ${e.to}`);
    expect(missing).toEqual([]);
  });

  it('no cycle between files', () => {
    const next = new Map<string, string[]>();
    for (const e of edges) if (e.to.endsWith('.ts')) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, stack: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const t of next.get(f) ?? []) visit(t, [...stack, f]);
      state.set(f, 'done');
    };
    for (const f of next.keys()) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('the bake core imports no Node module', () => {
    const node = edges.filter((e) => CORE.has(folderOf(e.from)) && (e.to.startsWith('node:') || !e.to.includes('/') && !e.to.endsWith('.ts') && ['fs', 'path', 'os', 'crypto', 'child_process', 'worker_threads', 'zlib'].includes(e.to)));
    expect(node.map((e) => `${e.from} imports ${e.to}`)).toEqual([]);
  });

  it('web/ imports only the core layers of src/ (bake, sources, tree, io, struct, util) and no Node module', () => {
    const web = importGraph(WEB);
    expect(web.length).toBeGreaterThan(20);
    const intoSrc = web.filter((e) => e.to.endsWith('.ts') && !e.to.startsWith('..'));
    expect(intoSrc.length).toBeGreaterThan(10);
    const bad = web.filter((e) => (e.to.endsWith('.ts') && !e.to.startsWith('..') && !WEB_MAY.has(folderOf(e.to))) || e.to.startsWith('node:'))
      .map((e) => `web/${path.relative(WEB, path.join(SRC, e.from))} imports ${e.to}`);
    expect(bad).toEqual([]);
  });
});
