// bench/RESULTS.md: one section per benchmark, between <!-- bench:NAME begin/end -->
// markers, re-rendered after each run from the results kept so far. The raw results sit
// in a comment inside the section, so a run over a subset of trees keeps the other rows.
// Also the types every benchmark shares: its items, its section's data, the module shape.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR } from './host.js';
import type { TreeStats } from './trees.js';

export const RESULTS_FILE = path.join(BENCH_DIR, 'RESULTS.md');

/** The machine a run was made on (machineInfo()); rows point at it by a hash of all but date and commit. */
export interface Machine {
  date: string;
  nproc: string;
  cpu: string;
  memory: string;
  kernel: string;
  node: string;
  e2fsprogs: string;
  commit: string;
}

/** What every benchmark's item (one per tree) holds besides its own measurements. */
export interface ItemBase {
  name: string;
  title?: string;
  how?: string;
  stats?: TreeStats;
  notes?: string[];
  /** Why the tree was not measured (then the item holds nothing else). */
  skipped?: string;
  error?: string;
  /** A later attempt was skipped; the item is from an earlier run. */
  skippedLater?: { date: string; reason: string };
  /** How it was measured (finishRun) and when (mergeItems). */
  runs?: number;
  policy?: string;
  tools?: Record<string, string>;
  distBuilt?: string | null;
  date?: string;
  commit?: string;
  machineKey?: string;
  /** The load average (1, 5, 15 minutes) when the benchmark started and ended (run.ts). */
  load?: { start: string; end: string };
  /** A failed check of a cake-img output: run.ts exits 1. */
  fsck?: { checked: number; failed: number };
}

export interface SectionData<I extends ItemBase = ItemBase> {
  items: Record<string, I>;
  machines: Record<string, Machine>;
}

/** What a benchmark's main() returns. */
export interface RunOutput<I extends ItemBase = ItemBase> {
  items: Record<string, I>;
  seconds: number;
}

/** A benchmark module exports one of these as `benchmark`; run.ts lists them. */
export interface Benchmark<I extends ItemBase = ItemBase> {
  name: string;
  description: string;
  usage: string;
  main(argv: string[]): Promise<RunOutput<I>>;
  render(data: SectionData<I>): string;
}

const HEADER = `# cake-img benchmarks

Written by \`npm run bench -- NAME\` (\`jiti bench/run.ts NAME\`); see bench/README.md.
Each section is replaced by the next run of its benchmark; rows of items that a run did
not cover are kept from earlier runs, with their own date.
`;

const begin = (name: string) => `<!-- bench:${name} begin -->`;
const end = (name: string) => `<!-- bench:${name} end -->`;
const DATA_RE = /<!-- bench-data ([\s\S]*?) -->/;

// JSON inside an HTML comment must not contain "--"; outside strings JSON never does,
// and inside strings "-\u002d" is the same text.
const encode = (obj: unknown) => JSON.stringify(obj).replace(/--/g, '-\\u002d');

export function machineKey(m: Machine): string {
  const { date: _date, commit: _commit, ...rest } = m;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 12);
}

export function readResults(file = RESULTS_FILE): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The section of `name` as written (markdown and data comment, without the markers), or null. */
export function sectionText(name: string, text = readResults()): string | null {
  const a = text.indexOf(begin(name));
  const b = text.indexOf(end(name));
  return a < 0 || b < a ? null : text.slice(a + begin(name).length, b);
}

export function loadSectionData<I extends ItemBase>(name: string, text = readResults()): SectionData<I> {
  const m = DATA_RE.exec(sectionText(name, text) ?? '');
  if (!m) return { items: {}, machines: {} };
  try {
    const d = JSON.parse(m[1]!) as Partial<SectionData<I>>;
    return { items: d.items ?? {}, machines: d.machines ?? {} };
  } catch {
    return { items: {}, machines: {} };
  }
}

/**
 * Merges this run's items into the stored ones. A skipped item does not replace an
 * earlier measurement; it is remembered beside it instead.
 */
export function mergeItems<I extends ItemBase>(old: SectionData<I>, fresh: Record<string, I>, machine: Machine): SectionData<I> {
  const key = machineKey(machine);
  const data: SectionData<I> = { items: { ...old.items }, machines: { ...old.machines, [key]: machine } };
  for (const [k, v] of Object.entries(fresh)) {
    const item: I = { ...v, date: machine.date, commit: machine.commit, machineKey: key };
    const prev = data.items[k];
    if (item.skipped && prev && !prev.skipped) data.items[k] = { ...prev, skippedLater: { date: machine.date, reason: item.skipped } };
    else data.items[k] = item;
  }
  // Forget machines no row refers to any more.
  const used = new Set(Object.values(data.items).map((i) => i.machineKey));
  for (const k of Object.keys(data.machines)) if (!used.has(k)) delete data.machines[k];
  return data;
}

/** The section as it is written into RESULTS.md: the markdown and its data. */
export function sectionBody(markdown: string, data: SectionData): string {
  return `\n${markdown.trimEnd()}\n\n<!-- bench-data ${encode(data)} -->\n`;
}

/** Writes the rendered section (plus its data) into RESULTS.md, keeping other sections. */
export function writeSection(name: string, markdown: string, data: SectionData, file = RESULTS_FILE): void {
  let text = readResults(file);
  if (!text.trim()) text = HEADER;
  const section = `${begin(name)}${sectionBody(markdown, data)}${end(name)}`;
  const a = text.indexOf(begin(name));
  const b = text.indexOf(end(name));
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + end(name).length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}
