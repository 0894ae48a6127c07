// Benchmark `initramfs`: `cake-img initramfs TREE -o OUT.cpio.gz` against
// `cd TREE && find . | cpio -o -H newc | gzip -9` on the same trees. Every output is
// checked (gzip -t, and its cpio entry count against the tree's) before its time counts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256File } from '../src/util/sha256-file.js';
import { DEFAULT_TREES } from './bake-inputs.js';
import { cakeOrThrow, debVersions, distBuilt, log, OUT_DIR, requireBuilt, requireTools, run } from './host.js';
import {
  boldRatio, type Checks, ckCell, type Column, fmtBytes, fmtInt, fmtRss, fmtSec, measuredColumn, measured, renderSection,
  rowNotes, type TargetCheck, targetStatus, treeRows, walls,
} from './report.js';
import type { Benchmark, ItemBase, SectionData } from './results.js';
import { TREES, TREE_NAMES, type TreeName, prepareTree } from './trees.js';
import {
  dropCaches, finishRun, getCachePolicy, othersCpuNotes, parseTreeArgs, recordError, rotate, type RunSummary, summarizeRuns, timeCake, timeCommand, timed,
  type TimedRun,
} from './timing.js';

/** Target from the issue: cake-img's time / the reference pipeline's ≤ 1.0. */
export const TARGETS = { ratio: { trees: DEFAULT_TREES, max: 1.0 } };

export const REF_SCRIPT = 'cd "$1" && find . | cpio --quiet -o -H newc | gzip -9 > "$2"';

export interface InitramfsItem extends ItemBase {
  cake?: RunSummary;
  ref?: RunSummary;
  ratio?: number;
  sizes?: { cake: number; ref: number };
  sameNames?: boolean;
  cakeDeterministic?: boolean;
  checks?: { cake: Checks; ref: Checks };
}

const cakeArgs = (tree: string, out: string) => ['initramfs', tree, '-o', out];
const TOOLS = { cake: 'cake-img', ref: 'find|cpio|gzip' } as const;
type Tool = keyof typeof TOOLS;

/**
 * Checks a .cpio.gz: `gzip -t`, then the names `gzip -dc | cpio -t` lists. `expected` is
 * the number of entries it must hold.
 */
function checkArchive(file: string, expected: number): { ok: boolean; count: number | null; names?: string[]; why?: string } {
  const t = run('gzip', ['-t', file]);
  if (t.status !== 0) return { ok: false, count: null, why: `gzip -t: exit ${t.status}: ${t.stderr.trim()}` };
  const r = run('bash', ['-c', 'set -o pipefail; gzip -dc "$1" | cpio -t --quiet', 'bash', file]);
  if (r.status !== 0) return { ok: false, count: null, why: `gzip -dc | cpio -t: exit ${r.status}: ${r.stderr.trim().split('\n').slice(0, 4).join(' | ')}` };
  const names = r.stdout.split('\n').filter((l) => l !== '');
  if (names.length !== expected) return { ok: false, count: names.length, names, why: `cpio -t lists ${names.length} entries, expected ${expected}` };
  return { ok: true, count: names.length, names };
}

/** Both archives should name the same entries (the reference's "." aside). */
function compareNames(res: InitramfsItem, cakeNames: string[], refNames: string[]): void {
  const norm = (n: string) => n.replace(/^\.\//, '');
  const sa = new Set(cakeNames.map(norm));
  const sb = new Set(refNames.map(norm).filter((n) => n !== '.'));
  const onlyA = [...sa].filter((n) => !sb.has(n));
  const onlyB = [...sb].filter((n) => !sa.has(n));
  res.sameNames = onlyA.length === 0 && onlyB.length === 0;
  const few = (xs: string[]) => `${xs.slice(0, 5).join(', ') || 'none'}${xs.length > 5 ? ` (+${xs.length - 5})` : ''}`;
  if (!res.sameNames) res.notes!.push(`the archives name different entries: only in cake-img's: ${few(onlyA)}; only in the reference: ${few(onlyB)}`);
}

async function benchTree(treeName: string, runs: number, policy: string): Promise<InitramfsItem> {
  const t = await prepareTree(treeName);
  if ('skipped' in t) return { name: treeName, skipped: t.skipped };
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const outs: Record<Tool, string> = { cake: path.join(OUT_DIR, `${treeName}.cake.cpio.gz`), ref: path.join(OUT_DIR, `${treeName}.ref.cpio.gz`) };
  const res: InitramfsItem = { name: treeName, title: TREES[treeName as TreeName].title, how: t.how, stats: t.stats, notes: [] };
  // cake-img leaves out the root "." entry; `find .` lists it.
  const want: Record<Tool, number> = { cake: t.stats.entries, ref: t.stats.entries + 1 };
  const times: Record<Tool, TimedRun[]> = { cake: [], ref: [] };
  const checks: Record<Tool, Checks & { failures: string[] }> = { cake: { checked: 0, failed: 0, failures: [] }, ref: { checked: 0, failed: 0, failures: [] } };
  const cakeHashes = new Set<string>();
  const firstNames: Partial<Record<Tool, string[]>> = {};
  const timeTool = (tool: Tool, out: string) => (tool === 'cake' ? timeCake(cakeArgs(t.dir, out)) : timeCommand('sh', ['-c', REF_SCRIPT, 'sh', t.dir, out]));
  try {
    if (policy === 'warm') {
      log(`${treeName}: one untimed run of each (warm cache)`);
      cakeOrThrow('initramfs', cakeArgs(t.dir, outs.cake));
      const r = run('sh', ['-c', REF_SCRIPT, 'sh', t.dir, outs.ref]);
      if (r.status !== 0) throw new Error(`the reference pipeline failed (exit ${r.status}): ${r.stderr.trim()}`);
    }
    for (let i = 0; i < runs; i++) {
      for (const tool of rotate<Tool>(['cake', 'ref'], i)) {
        const out = outs[tool];
        fs.rmSync(out, { force: true });
        if (policy === 'cold') dropCaches();
        const r = timeTool(tool, out);
        if (r.status !== 0) throw new Error(`${TOOLS[tool]} failed in run ${i + 1} (exit ${r.status}): ${r.stderr.trim().split('\n').slice(0, 8).join('\n')}`);
        const bytes = fs.statSync(out).size;
        const ck = checkArchive(out, want[tool]);
        checks[tool].checked++;
        if (!ck.ok) {
          checks[tool].failed++;
          checks[tool].failures.push(`run ${i + 1}: ${ck.why}`);
        }
        if (tool === 'cake') cakeHashes.add(sha256File(out));
        if (i === 0) firstNames[tool] = ck.names;
        times[tool].push(timed(r, { bytes }));
        log(`${treeName}: run ${i + 1}/${runs} ${TOOLS[tool]} ${fmtSec(r.wall)} (CPU ${fmtSec((r.user ?? 0) + (r.sys ?? 0))}), peak RSS ${fmtBytes((r.rssKiB ?? 0) * 1024)}, ${fmtBytes(bytes)}; check ${ck.ok ? `ok (${ck.count} entries)` : `FAILED: ${ck.why}`}`);
        if (!ck.ok && tool === 'ref') res.notes!.push(`the reference output of run ${i + 1} failed its check: ${ck.why}`);
      }
      if (i === 0 && firstNames.cake && firstNames.ref) compareNames(res, firstNames.cake, firstNames.ref);
    }
    res.cake = summarizeRuns(times.cake);
    res.ref = summarizeRuns(times.ref);
    res.ratio = res.cake.median! / res.ref.median!;
    res.sizes = { cake: times.cake.at(-1)!.bytes!, ref: times.ref.at(-1)!.bytes! };
    res.cakeDeterministic = cakeHashes.size === 1;
    if (cakeHashes.size > 1) res.notes!.push(`cake-img wrote ${cakeHashes.size} different archives in ${times.cake.length} runs of the same tree (its output is meant to be reproducible)`);
    const refSizes = new Set(times.ref.map((x) => x.bytes));
    if (refSizes.size > 1) res.notes!.push(`the reference archive's size varied between runs: ${[...refSizes].join(', ')} bytes`);
    res.checks = checks;
    res.fsck = { checked: checks.cake.checked, failed: checks.cake.failed }; // run.ts's exit code looks here
    if (checks.cake.failed) res.notes!.push(`cake-img output FAILED its check in ${checks.cake.failed} of ${checks.cake.checked} runs: ${checks.cake.failures[0]}`);
  } catch (e) {
    recordError(res, e);
  } finally {
    for (const f of Object.values(outs)) fs.rmSync(f, { force: true });
  }
  return res;
}

async function main(argv: string[]) {
  const o = parseTreeArgs(argv, TREE_NAMES, DEFAULT_TREES);
  requireBuilt();
  requireTools([['find', 'findutils'], ['cpio', 'cpio'], ['gzip', 'gzip'], ['bash', 'bash']]);
  const policy = getCachePolicy();
  const tools = debVersions(['cpio', 'gzip', 'findutils']);
  const built = distBuilt();
  const started = Date.now();
  const results: InitramfsItem[] = [];
  for (const t of o.trees) results.push(await benchTree(t, o.runs, policy));
  return finishRun(results, { runs: o.runs, policy, tools }, built, started);
}

// ---------------------------------------------------------------------------------------
// Report

export function targetChecks(byTree: Record<string, InitramfsItem>): TargetCheck[] {
  return TARGETS.ratio.trees.map((t) => {
    const r = byTree[t];
    return { tree: t, what: `ratio ≤ ${TARGETS.ratio.max.toFixed(1)}`, status: targetStatus(measured(r) ? r!.ratio : null, TARGETS.ratio.max) };
  });
}

const COLUMNS: Column<InitramfsItem>[] = [
  { head: 'tree', cell: (r) => r.name },
  { head: 'entries', right: true, tree: true, cell: (r) => fmtInt(r.stats?.entries) },
  { head: 'bytes', right: true, tree: true, cell: (r) => fmtBytes(r.stats?.bytes) },
  { head: 'cake-img median', right: true, cell: (r) => fmtSec(r.cake!.median) },
  { head: 'reference median', right: true, cell: (r) => fmtSec(r.ref!.median) },
  { head: 'ratio', right: true, cell: (r) => boldRatio(r.ratio) },
  { head: 'cake-img CPU', right: true, cell: (r) => fmtSec(r.cake!.medianCpu) },
  { head: 'reference CPU', right: true, cell: (r) => fmtSec(r.ref!.medianCpu) },
  { head: 'cake-img peak RSS', right: true, cell: (r) => fmtRss(r.cake) },
  { head: 'reference peak RSS', right: true, cell: (r) => fmtRss(r.ref) },
  { head: 'cake-img .cpio.gz', right: true, cell: (r) => fmtBytes(r.sizes!.cake) },
  { head: 'reference .cpio.gz', right: true, cell: (r) => fmtBytes(r.sizes!.ref) },
  { head: 'checks (cake-img)', cell: (r) => ckCell(r.checks!.cake) },
  measuredColumn(),
];

export function render(data: SectionData<InitramfsItem>): string {
  const rows = treeRows(data);
  const body = [
    '',
    'Columns: *entries* are the names below the tree\'s root; *bytes* the regular files\' sizes. Times are medians of whole-command wall times; *CPU* is the median user + system time (cake-img deflates on worker threads, one per core; the reference pipeline\'s three processes are summed). Peak RSS is GNU time\'s maximum resident set size (for the reference: its largest process). Output sizes are from the last run. *checks*: every output, of both tools, is tested with `gzip -t` and its `gzip -dc | cpio -t` entry count is compared with the tree\'s (cake-img leaves out the root "." entry that `find .` lists); after the first run the two archives\' name lists are compared too. *cold cache*: `sync; echo 3 > /proc/sys/vm/drop_caches` before every timed run; *warm cache*: one untimed run first.',
    '',
    'Commands:',
    '',
    '```',
    'node dist/cli/main.js initramfs TREE -o OUT.cpio.gz',
    `sh -c '${REF_SCRIPT.replace('"$1"', 'TREE').replace('"$2"', 'REF.cpio.gz')}'`,
    'gzip -t OUT.cpio.gz && gzip -dc OUT.cpio.gz | cpio -t | wc -l   # = entries (reference: entries + 1)',
    '```',
    '',
    `Trees: as in the mkfs section; ${rows.filter((r) => !r.skipped).map((r) => `${r.name}: ${r.title}`).join('; ')}.`,
  ];
  const notes = rows.flatMap((r) => {
    const extra: string[] = [];
    if (r.cake && r.ref && r.sizes) {
      const { cake, ref } = r.sizes;
      extra.push(`all wall times cake-img ${walls(r.cake.runs)}, reference ${walls(r.ref.runs)}; cake-img output ${fmtInt(cake)} bytes (${r.cakeDeterministic ? 'the same bytes in every run' : 'NOT the same in every run'}), reference ${fmtInt(ref)} bytes (cake-img's is ${Math.abs((cake / ref - 1) * 100).toFixed(1)}% ${cake <= ref ? 'smaller' : 'larger'})${r.sameNames === true ? '; both archives name the same entries' : ''}.`);
      extra.push(...othersCpuNotes([...r.cake.runs, ...r.ref.runs]));
    }
    return rowNotes(r, extra);
  });
  return renderSection({
    heading: '## initramfs: `cake-img initramfs` vs `find | cpio -o -H newc | gzip -9`',
    targets: `Target (from the issue): time ratio cake-img / reference ≤ ${TARGETS.ratio.max.toFixed(1)} (${TARGETS.ratio.trees.join(', ')}).`,
    columns: COLUMNS, rows, data, checks: targetChecks(data.items), body, notes,
  }).join('\n');
}

export const benchmark: Benchmark<InitramfsItem> = {
  name: 'initramfs',
  description: 'cake-img initramfs vs find | cpio -o -H newc | gzip -9 on a busybox rootfs and a Debian minbase',
  usage: 'initramfs [--trees busybox,debian] [--runs N]',
  main,
  render,
};
