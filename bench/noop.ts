// Benchmark `noop`: a no-op `cake-img build examples/busybox-machine` (the tree in the store,
// the image already in out/: nothing to cook or bake) against a bare `node -e 0`, the floor
// of any Node CLI. The build runs once untimed first (it may cook and bake then), and must
// report every step `cached`, before and after the timed rounds, with the image untouched.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CAKE_MAIN, cakeEnv, cakeOrThrow, distBuilt, log, REPO_DIR, requireBuilt } from './host.js';
import { boldRatio, type Column, fmtBytes, fmtRatio, fmtRss, fmtSec, measured, measuredColumn, renderSection, rowNotes, type TargetCheck, targetStatus } from './report.js';
import type { Benchmark, ItemBase, SectionData } from './results.js';
import { finishRun, othersCpuNotes, pairedRatio, parseTreeArgs, recordError, rotate, type RunSummary, summarizeRuns, timeCommand, timed, type TimedRun } from './timing.js';

/** Target from the issue: the no-op build ≤ 4 × `node -e 0`. */
export const TARGETS = { ratio: { max: 4 } };

const EXAMPLES = ['busybox-machine'];

export interface NoopItem extends ItemBase {
  /** The no-op build and `node -e 0`. */
  cake?: RunSummary;
  node?: RunSummary;
  /** Median build / median node -e 0; the median of each round's ratio; of CPU time. */
  ratio?: number;
  ratioPaired?: number;
  ratioCpu?: number;
  /** The summary's rows (output and status) and the image, as the check found them. */
  steps?: string[];
  image?: string;
}

interface SummaryRow {
  output: string;
  status: string;
  sha256: string;
  path: string;
}

/** An untimed `build --json`: its summary rows; throws unless every step is `cached`. */
function checkNoop(example: string, env: NodeJS.ProcessEnv, when: string): SummaryRow[] {
  const r = cakeOrThrow('build', ['build', example, '--json'], { env, cwd: REPO_DIR });
  const rows = (JSON.parse(r.stdout.trim().split('\n').filter(Boolean).at(-1)!) as { rows: SummaryRow[] }).rows;
  const notCached = rows.filter((x) => x.status !== 'cached');
  if (notCached.length) throw new Error(`${when}, the build was not a no-op: ${notCached.map((x) => `${x.output} ${x.status}`).join(', ')}`);
  return rows;
}

async function benchExample(name: string, runs: number): Promise<NoopItem> {
  const res: NoopItem = { name, title: `examples/${name}`, notes: [] };
  const example = path.join('examples', name);
  const env = cakeEnv();
  delete env.CAKE_IMG_CACHE; // the local store only: no registry in a no-op
  try {
    log(`${name}: untimed build (cooks and bakes what is missing)`);
    cakeOrThrow('build', ['build', example], { env, cwd: REPO_DIR });
    const rows = checkNoop(example, env, 'after the untimed build');
    res.steps = rows.map((x) => `${x.output} ${x.status}`);
    const img = rows.find((x) => x.path.endsWith('.img'))?.path;
    const stamp = (p: string | undefined) => (p ? `${fs.statSync(p).mtimeMs} ${fs.statSync(p).size}` : '');
    const before = stamp(img);
    res.image = img ? `${path.relative(REPO_DIR, img)} (${fmtBytes(fs.statSync(img).size)})` : undefined;
    const commands = { cake: [process.execPath, CAKE_MAIN, 'build', example], node: [process.execPath, '-e', '0'] } as const;
    const times: Record<'cake' | 'node', TimedRun[]> = { cake: [], node: [] };
    for (let i = 0; i < runs; i++) {
      for (const k of rotate<'cake' | 'node'>(['cake', 'node'], i)) {
        const [cmd, ...args] = commands[k];
        const r = timeCommand(cmd!, args, { env, cwd: REPO_DIR });
        if (r.status !== 0) throw new Error(`${k === 'cake' ? 'cake-img build' : 'node -e 0'} failed in round ${i + 1} (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-6).join('\n')}`);
        times[k].push(timed(r));
        log(`${name}: round ${i + 1}/${runs} ${k === 'cake' ? 'cake-img build' : 'node -e 0'} ${fmtSec(r.wall)} (CPU ${fmtSec((r.user ?? 0) + (r.sys ?? 0))})`);
      }
    }
    checkNoop(example, env, 'after the timed rounds');
    if (stamp(img) !== before) throw new Error(`the image ${img} changed during the timed rounds`);
    res.cake = summarizeRuns(times.cake);
    res.node = summarizeRuns(times.node);
    res.ratio = res.cake.median! / res.node.median!;
    res.ratioPaired = pairedRatio(times.cake, times.node) ?? undefined;
    res.ratioCpu = res.cake.medianCpu! / res.node.medianCpu!;
    res.notes!.push(...othersCpuNotes([...times.cake, ...times.node]));
  } catch (e) {
    recordError(res, e);
  }
  return res;
}

async function main(argv: string[]) {
  const o = parseTreeArgs(argv, EXAMPLES, EXAMPLES, 9);
  requireBuilt();
  const built = distBuilt();
  const started = Date.now();
  const results: NoopItem[] = [];
  for (const t of o.trees) results.push(await benchExample(t, o.runs));
  return finishRun(results, { runs: o.runs, policy: 'warm' }, built, started);
}

// ---------------------------------------------------------------------------------------
// Report

export function targetChecks(byName: Record<string, NoopItem>): TargetCheck[] {
  return EXAMPLES.map((t) => {
    const r = byName[t];
    const ok = measured(r);
    return {
      tree: t,
      what: `no-op cake-img build ≤ ${TARGETS.ratio.max} × node -e 0`,
      status: targetStatus(ok ? r!.ratio : null, TARGETS.ratio.max, ok ? ` (median of the per-round ratios ${fmtRatio(r!.ratioPaired)}; of CPU time ${fmtRatio(r!.ratioCpu)})` : ''),
    };
  });
}

const COLUMNS: Column<NoopItem>[] = [
  { head: 'example', cell: (r) => r.name },
  { head: 'no-op build', right: true, cell: (r) => fmtSec(r.cake!.median) },
  { head: 'node -e 0', right: true, cell: (r) => fmtSec(r.node!.median) },
  { head: 'ratio', right: true, cell: (r) => boldRatio(r.ratio) },
  { head: 'ratio, per round', right: true, cell: (r) => fmtRatio(r.ratioPaired) },
  { head: 'build CPU', right: true, cell: (r) => fmtSec(r.cake!.medianCpu) },
  { head: 'node -e 0 CPU', right: true, cell: (r) => fmtSec(r.node!.medianCpu) },
  { head: 'ratio, CPU', right: true, cell: (r) => fmtRatio(r.ratioCpu) },
  { head: 'build peak RSS', right: true, cell: (r) => fmtRss(r.cake) },
  { head: 'node -e 0 peak RSS', right: true, cell: (r) => fmtRss(r.node) },
  measuredColumn(),
];

export function render(data: SectionData<NoopItem>): string {
  const rows = EXAMPLES.map((t) => data.items[t]).filter((r): r is NoopItem => !!r);
  const body = [
    '',
    'Columns: medians of whole-command wall times (GNU time for CPU, user + system, and peak RSS); *per round*: the median of each round\'s build / node ratio (the two run back to back, so load that shifts between rounds cancels). The build runs once untimed first (cooking and baking what is missing), then `build --json` must report every step `cached`; the same check follows the timed rounds, and the image in out/ must be untouched (mtime, size). No `--cache` registry (CAKE_IMG_CACHE unset). *warm cache*: the page cache is never dropped: a no-op build is the one just after another build. On a busy machine a short command\'s wall time includes waiting for a core, which inflates `node -e 0` (about 0.1 s of CPU) relatively more than the build: the CPU ratio is the steadier figure there.',
    '',
    '```',
    'node dist/cli/main.js build examples/busybox-machine   # in the checkout: out/busybox-machine.img already there',
    'node -e 0',
    '```',
  ];
  const notes = rows.flatMap((r) => {
    const extra: string[] = [];
    if (r.steps) extra.push(`the summary said: ${r.steps.join(', ')}${r.image ? `; the image: ${r.image}` : ''}.`);
    if (r.cake && r.node) extra.push(`all wall times: build [${r.cake.runs.map((x) => x.wall.toFixed(3)).join(', ')}] s, node -e 0 [${r.node.runs.map((x) => x.wall.toFixed(3)).join(', ')}] s.`);
    return rowNotes(r, extra);
  });
  return renderSection({
    heading: '## noop: a no-op `cake-img build` vs `node -e 0`',
    targets: `Target (from the issue): a no-op \`cake-img build examples/busybox-machine\` (everything cached) ≤ ${TARGETS.ratio.max} × \`node -e 0\`.`,
    columns: COLUMNS, rows, data, checks: targetChecks(data.items), body, notes,
  }).join('\n');
}

export const benchmark: Benchmark<NoopItem> = {
  name: 'noop',
  description: 'a no-op cake-img build examples/busybox-machine (everything cached, the image in out/) vs node -e 0',
  usage: 'noop [--runs N]   (default 9 rounds)',
  main,
  render,
};
