// `--explain`: why a cook is not a store hit, by comparing its inputs with the most
// recent entry of the same name (the inputs are in each entry's cake-info.json).
import type { CookInputs, StoreEntry } from './store.js';

const LABEL: Record<string, string> = {
  cakeImg: 'cake-img version',
  source: 'source',
  lenient: '--lenient',
  prepare: 'prepare command',
  script: 'script',
  path: '--path list',
  contents: '--contents',
  cleanup: 'cleanup command',
};

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** One line: which inputs differ from the newest stored cook of `name`. */
export function explainMiss(name: string, inputs: CookInputs, entries: StoreEntry[]): string {
  const prior = entries.find((e) => e.info.name === name);
  if (!prior) return `${name}: not in the store (no earlier cook of this name)`;
  const changed: string[] = [];
  for (const k of new Set([...Object.keys(inputs), ...Object.keys(prior.info.inputs)])) {
    const a = prior.info.inputs[k];
    const b = inputs[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) changed.push(`${LABEL[k] ?? k} changed (${show(a)} -> ${show(b)})`);
  }
  return changed.length ? `${name}: ${changed.join('; ')}` : `${name}: same inputs as ${prior.path}, but that entry is incomplete`;
}
