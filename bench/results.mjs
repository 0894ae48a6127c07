// bench/RESULTS.md: one section per benchmark, between <!-- bench:NAME begin/end -->
// markers, re-rendered after each run from the results kept so far. The raw results sit
// in a comment inside the section, so a run over a subset of trees keeps the other rows.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR } from './timing.mjs';

export const RESULTS_FILE = path.join(BENCH_DIR, 'RESULTS.md');

const HEADER = `# cake-img benchmarks

Written by \`npm run bench -- NAME\` (\`node bench/run.mjs NAME\`); see bench/README.md.
Each section is replaced by the next run of its benchmark; rows of items that a run did
not cover are kept from earlier runs, with their own date.
`;

const begin = (name) => `<!-- bench:${name} begin -->`;
const end = (name) => `<!-- bench:${name} end -->`;
const DATA_RE = /<!-- bench-data ([\s\S]*?) -->/;

// JSON inside an HTML comment must not contain "--"; outside strings JSON never does,
// and inside strings "-\u002d" is the same text.
const encode = (obj) => JSON.stringify(obj).replace(/--/g, '-\\u002d');

export function machineKey(m) {
  const { date, commit, ...rest } = m;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 12);
}

export function loadSectionData(name, text = readResults()) {
  const a = text.indexOf(begin(name));
  const b = text.indexOf(end(name));
  if (a < 0 || b < a) return { items: {}, machines: {} };
  const m = DATA_RE.exec(text.slice(a, b));
  if (!m) return { items: {}, machines: {} };
  try {
    const d = JSON.parse(m[1]);
    return { items: d.items ?? {}, machines: d.machines ?? {} };
  } catch {
    return { items: {}, machines: {} };
  }
}

function readResults() {
  try {
    return fs.readFileSync(RESULTS_FILE, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Merges this run's items into the stored ones. A skipped item does not replace an
 * earlier measurement; it is remembered beside it instead.
 */
export function mergeItems(old, fresh, machine) {
  const key = machineKey(machine);
  const data = { items: { ...old.items }, machines: { ...old.machines, [key]: machine } };
  for (const [k, v] of Object.entries(fresh)) {
    const item = { ...v, date: machine.date, commit: machine.commit, machineKey: key };
    const prev = data.items[k];
    if (item.skipped && prev && !prev.skipped) data.items[k] = { ...prev, skippedLater: { date: machine.date, reason: item.skipped } };
    else data.items[k] = item;
  }
  // Forget machines no row refers to any more.
  const used = new Set(Object.values(data.items).map((i) => i.machineKey));
  for (const k of Object.keys(data.machines)) if (!used.has(k)) delete data.machines[k];
  return data;
}

/** Writes the rendered section (plus its data) into RESULTS.md, keeping other sections. */
export function writeSection(name, markdown, data) {
  let text = readResults();
  if (!text.trim()) text = HEADER;
  const section = `${begin(name)}\n${markdown.trimEnd()}\n\n<!-- bench-data ${encode(data)} -->\n${end(name)}`;
  const a = text.indexOf(begin(name));
  const b = text.indexOf(end(name));
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + end(name).length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(RESULTS_FILE, text.endsWith('\n') ? text : `${text}\n`);
}

/** Appends a "Notes:" list to a section, when there are notes. */
export function renderNotes(L, notes) {
  if (!notes.length) return;
  L.push('');
  L.push('Notes:');
  L.push('');
  for (const n of notes) L.push(`- ${n}`);
}

/**
 * The lines every benchmark section ends its table with: the targets and whether they are
 * met, the machines the rows were measured on (with tool versions), and the commits.
 */
export function renderFooter(L, rows, data, checks) {
  L.push('');
  L.push('Targets:');
  L.push('');
  for (const c of checks) L.push(`- ${c.tree}: ${c.what}: ${c.status}`);
  L.push('');
  const machines = [...new Set(rows.map((r) => r.machineKey).filter(Boolean))];
  for (const k of machines) {
    const m = data.machines[k];
    const trees = rows.filter((r) => r.machineKey === k).map((r) => r.name).join(', ');
    const tools = rows.find((r) => r.machineKey === k && r.tools)?.tools ?? (m.e2fsprogs ? { e2fsprogs: m.e2fsprogs } : {});
    const tv = Object.entries(tools).map(([p, v]) => `${p} ${v}`).join(', ');
    L.push(`- Machine (${trees}): ${m.nproc} cores, ${m.cpu}, ${m.memory} memory, kernel ${m.kernel}, Node ${m.node}${tv ? `; ${tv}` : ''}.`);
  }
  const commits = [...new Set(rows.map((r) => (r.commit ? `${r.commit}${r.distBuilt ? ` (dist/ built ${r.distBuilt})` : ''}` : '')).filter(Boolean))];
  if (commits.length) L.push(`- cake-img commit: ${commits.join('; ')}.`);
}
