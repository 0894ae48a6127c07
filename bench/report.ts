// Rendering a benchmark's section of RESULTS.md: the one markdown table renderer every
// benchmark uses, the cells they share, the targets/machines footer and the notes.
import { formatBytes } from '../src/util/errors.js';
import type { ItemBase, SectionData } from './results.js';
import { TREE_NAMES } from './trees.js';
import type { RunSummary, TimedRun } from './timing.js';

// ---------------------------------------------------------------------------------------
// Cells

export const fmtBytes = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : formatBytes(n));
export const fmtSec = (s: number | null | undefined): string => (s === null || s === undefined ? '–' : `${s.toFixed(s < 10 ? 2 : 1)} s`);
export const fmtInt = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : n.toLocaleString('en-US'));
export const fmtRatio = (x: number | null | undefined): string => (typeof x === 'number' ? x.toFixed(2) : '–');
/** A ratio the table is about, in bold. */
export const boldRatio = (x: number | null | undefined): string => (typeof x === 'number' ? `**${x.toFixed(2)}**` : '–');
/** Peak RSS of a summary (GNU time's KiB). */
export const fmtRss = (s: RunSummary | undefined): string => (s ? fmtBytes((s.peakRssKiB ?? 0) * 1024) : '–');
/** "checked/failed" of a tool's outputs. */
export interface Checks {
  checked: number;
  failed: number;
  failures?: string[];
}
export const ckCell = (c: Checks | undefined, ok = 'ok'): string => (!c ? '–' : c.failed === 0 ? `${ok} ${c.checked}/${c.checked}` : `**FAILED ${c.failed}/${c.checked}**`);
/** The stages `cake-img -v` reported, as "read / plan / write" medians in ms. */
export const fmtPhases = (s: RunSummary | undefined, names: string[]): string =>
  s?.medianPhases ? `${names.map((n) => fmtInt(Math.round(s.medianPhases![n] ?? NaN))).join(' / ')} ms` : '–';
/** "[1.20, 1.31] s": every wall time of a tool. */
export const walls = (runs: TimedRun[]): string => `[${runs.map((x) => x.wall.toFixed(2)).join(', ')}] s`;

// ---------------------------------------------------------------------------------------
// The table

/**
 * A column: its heading, alignment and cell. `tree` columns describe the tree rather than
 * a measurement: a failed row still shows them.
 */
export interface Column<R> {
  head: string;
  right?: boolean;
  tree?: boolean;
  cell: (r: R) => string;
}

/** The last column of every table: when and how the row was measured. */
export function measuredColumn<R extends ItemBase>(): Column<R> {
  return { head: 'measured', cell: (r) => `${r.date}, ${r.runs} run${r.runs === 1 ? '' : 's'}, ${r.policy} cache` };
}

/**
 * A markdown table with a row per item. A skipped item shows dashes and "skipped DATE"; a
 * failed one its tree columns, FAILED in the first measurement column and its date last.
 */
export function markdownTable<R extends ItemBase>(cols: Column<R>[], rows: R[]): string[] {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const out = [line(cols.map((c) => c.head)), line(cols.map((c) => (c.right ? '---:' : '---')))];
  for (const r of rows) {
    if (r.skipped) {
      out.push(line(cols.map((c, i) => (i === 0 ? r.name : i === cols.length - 1 ? `skipped ${r.date ?? ''}` : '–'))));
    } else if (r.error) {
      const failedAt = cols.findIndex((c, i) => i > 0 && !c.tree);
      out.push(line(cols.map((c, i) => (i === cols.length - 1 ? r.date ?? '' : c.tree || i === 0 ? c.cell(r) : i === failedAt ? 'FAILED' : ''))).replace(/ {2}\|/g, ' |'));
    } else out.push(line(cols.map((c) => c.cell(r))));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Around the table

/** A target and whether the rows meet it. */
export interface TargetCheck {
  tree: string;
  what: string;
  status: string;
}

/** "met: 0.85" or "NOT met: 1.05", with what follows; "not measured" when there is no number. */
export function targetStatus(value: number | null | undefined, max: number, more = ''): string {
  if (typeof value !== 'number') return 'not measured';
  return `${value <= max ? 'met' : 'NOT met'}: ${value.toFixed(2)}${more}`;
}

/** What a benchmark's section is made of, top to bottom. */
export interface Section<R extends ItemBase> {
  heading: string;
  /** The line saying what the targets are. */
  targets: string;
  columns: Column<R>[];
  rows: R[];
  data: SectionData<R>;
  checks: TargetCheck[];
  /** What follows the footer: columns explained, commands, trees. */
  body: string[];
  notes: string[];
}

/** A section's lines: heading, targets, the table, the footer, its body and its notes. */
export function renderSection<R extends ItemBase>(s: Section<R>): string[] {
  const L = [s.heading, '', s.targets, '', ...markdownTable(s.columns, s.rows)];
  renderFooter(L, s.rows, s.data, s.checks);
  L.push(...s.body);
  renderNotes(L, s.notes);
  return L;
}

/** A section's rows: its items in the order of the trees. */
export function treeRows<I extends ItemBase>(data: SectionData<I>): I[] {
  return TREE_NAMES.map((t) => data.items[t]).filter((r): r is I => !!r);
}

/**
 * The paragraph on the cake-img stage column, once a row has stages: what `cake-img
 * COMMAND -v` reported, and what the rest of the wall time is.
 */
export function stagesParagraph(rows: { cake?: RunSummary }[], names: string[], command: string, stages: string, rest: string): string[] {
  if (!rows.some((r) => r.cake?.medianPhases)) return [];
  return ['', `*cake-img ${names.join(' / ')}*: medians of what \`cake-img ${command} -v\` reports for ${stages}; the rest of the wall time is ${rest}.`];
}

/** Whether an item has measurements (not skipped, not failed). */
export const measured = (r: ItemBase | undefined): boolean => !!r && !r.skipped && !r.error;

/** Appends a "Notes:" list to a section, when there are notes. */
export function renderNotes(L: string[], notes: string[]): void {
  if (!notes.length) return;
  L.push('', 'Notes:', '');
  for (const n of notes) L.push(`- ${n}`);
}

/**
 * The lines every benchmark section ends its table with: the targets and whether they are
 * met, the machines the rows were measured on (with tool versions), and the commits.
 */
export function renderFooter(L: string[], rows: ItemBase[], data: SectionData, checks: TargetCheck[]): void {
  L.push('', 'Targets:', '');
  for (const c of checks) L.push(`- ${c.tree}: ${c.what}: ${c.status}`);
  L.push('');
  const machines = [...new Set(rows.map((r) => r.machineKey).filter((k): k is string => !!k))];
  for (const k of machines) {
    const m = data.machines[k]!;
    const trees = rows.filter((r) => r.machineKey === k).map((r) => r.name).join(', ');
    const tools = rows.find((r) => r.machineKey === k && r.tools)?.tools ?? (m.e2fsprogs ? { e2fsprogs: m.e2fsprogs } : {});
    const tv = Object.entries(tools).map(([p, v]) => `${p} ${v}`).join(', ');
    L.push(`- Machine (${trees}): ${m.nproc} cores, ${m.cpu}, ${m.memory} memory, kernel ${m.kernel}, Node ${m.node}${tv ? `; ${tv}` : ''}.`);
  }
  const commits = [...new Set(rows.map((r) => (r.commit ? `${r.commit}${r.distBuilt ? ` (dist/ built ${r.distBuilt})` : ''}` : '')).filter(Boolean))];
  if (commits.length) L.push(`- cake-img commit: ${commits.join('; ')}.`);
}

/** The notes every benchmark gives for a row: skipped, error, its own notes (`extra` go after those), a later skip. */
export function rowNotes(r: ItemBase, extra: string[] = []): string[] {
  const out: string[] = [];
  if (r.skipped) out.push(`${r.name}: **skipped**: ${r.skipped}`);
  if (r.error) out.push(`${r.name}: ERROR: ${r.error}`);
  for (const n of r.notes ?? []) out.push(`${r.name}: ${n}`);
  out.push(...extra.map((n) => `${r.name}: ${n}`));
  if (r.load) out.push(`${r.name}: load average (1, 5, 15 minutes) when the benchmark started: ${r.load.start}; when it ended: ${r.load.end} (other engineers' tests share the machine).`);
  if (r.skippedLater) out.push(`${r.name}: the latest attempt (${r.skippedLater.date}) was skipped: ${r.skippedLater.reason}; the row is from the earlier run.`);
  return out;
}
