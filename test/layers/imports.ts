// The import graph of src/, read from the files' text: each relative import (static,
// re-export or dynamic) resolved to the file it names.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SRC = path.resolve(import.meta.dirname, '../../src');
/** The browser page (bundled to dist/web): it may import the core layers of src/, never the host. */
export const WEB = path.resolve(import.meta.dirname, '../../web');

export interface Edge {
  from: string;
  to: string;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]|(?:^|[\s;])import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every import in `root` (default src/), as paths relative to src/ (`node:` and package imports as written). */
export function importGraph(root = SRC): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(root)) {
    // Comments may quote imports (`import { bake } from 'cake-img'` in help text is a string, not an import).
    const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      const from = path.relative(SRC, file);
      if (!spec.startsWith('.')) {
        edges.push({ from, to: spec });
        continue;
      }
      edges.push({ from, to: path.relative(SRC, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts') });
    }
  }
  return edges;
}

/** The folder a src/ path is in ('' for top-level files such as index.ts). */
export function folderOf(p: string): string {
  const parts = p.split('/');
  return parts.length > 1 ? parts[0]! : '';
}
