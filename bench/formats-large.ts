// The formats benchmark's `large` item: cake-img convert vs qemu-img convert of a 4 GiB
// sparse raw with 1.6 GB of random data, each replacing its existing output, and each with
// its old output removed first; and `node -e 0`, the fixed cost of any Node CLI.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FormatsItem } from './formats.js';
import { CAKE_MAIN, cakeEnv, log, runOrThrow, WORK_DIR } from './host.js';
import { allocated, fileCell, judge } from './qemu-img-judge.js';
import { boldRatio, type Checks, ckCell, type Column, fmtBytes, fmtRatio, fmtRss, fmtSec, markdownTable, measuredColumn, renderNotes, rowNotes, walls } from './report.js';
import type { ItemBase, SectionData } from './results.js';
import { median, othersCpuNotes, pairedRatio, recordError, rotate, type RunSummary, summarizeRuns, timeCommand, timed, timeFsync, type TimedRun } from './timing.js';

/** The large convert: a sparse raw of SIZE with CHUNK of random data at each offset. */
export const LARGE = { name: 'large', size: 4 * 1024 ** 3, chunkMiB: 400, offsetsMiB: [3, 1003, 2003, 3003] } as const;

/** One way of running the large convert: both tools' runs, in the same rounds. */
export interface LargePair {
  cake: RunSummary;
  qemu: RunSummary;
  /** Every cake-img output: `qemu-img check`, and `qemu-img compare` with qemu-img's output. */
  checks: Checks;
}

const LARGE_TOOLS = {
  cakeReplace: 'cake-img convert, replacing its output',
  qemuReplace: 'qemu-img convert, replacing its output',
  cakeFresh: 'cake-img convert, old output removed',
  qemuFresh: 'qemu-img convert, old output removed',
  node: 'node -e 0',
} as const;
type LargeTool = keyof typeof LARGE_TOOLS;

/**
 * The large convert: a 4 GiB sparse raw with 4 × 400 MiB of random data (made untimed under
 * bench/scratch, deleted afterwards), converted to qcow2 by both tools in the same rounds,
 * each replacing its existing output and each with its old output removed (untimed) first;
 * `node -e 0` in the same rounds. Page cache warm (dropping it would also drop the old
 * output's pages, which is what replacing is about); an untimed `sync` before every run.
 */
export async function benchLarge(runs: number): Promise<FormatsItem> {
  const gib = LARGE.size / 1024 ** 3;
  const res: FormatsItem = { name: LARGE.name, title: `${gib} GiB sparse raw, ${LARGE.offsetsMiB.length} × ${LARGE.chunkMiB} MiB of random data`, notes: [] };
  const dir = path.join(WORK_DIR, 'formats-large');
  const big = path.join(dir, 'big.img');
  const outputs = { cake: path.join(dir, 'c.qcow2'), qemu: path.join(dir, 'q.qcow2') };
  const cakeCmd = [process.execPath, CAKE_MAIN, 'convert', big, outputs.cake];
  const qemuCmd = ['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', big, outputs.qemu];
  const commands: Record<LargeTool, string[]> = { cakeReplace: cakeCmd, qemuReplace: qemuCmd, cakeFresh: cakeCmd, qemuFresh: qemuCmd, node: [process.execPath, '-e', '0'] };
  const outputOf = (k: LargeTool) => (k === 'node' ? null : k.startsWith('cake') ? outputs.cake : outputs.qemu);
  const env = cakeEnv();
  const opts = (k: LargeTool) => (k.startsWith('qemu') ? {} : { env });
  try {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    log(`${LARGE.name}: untimed: a ${gib} GiB sparse raw with ${LARGE.chunkMiB} MiB of /dev/urandom at ${LARGE.offsetsMiB.join(', ')} MiB`);
    runOrThrow('truncate', ['-s', String(LARGE.size), big]);
    for (const off of LARGE.offsetsMiB) runOrThrow('dd', ['if=/dev/urandom', `of=${big}`, 'bs=1M', `seek=${off}`, `count=${LARGE.chunkMiB}`, 'iflag=fullblock', 'conv=notrunc', 'status=none']);
    runOrThrow('sync', [big]);
    res.bigSize = fs.statSync(big).size;
    res.bigAllocated = allocated(big);
    log(`${LARGE.name}: untimed run of each (the outputs the replacing runs replace)`);
    runOrThrow(cakeCmd[0]!, cakeCmd.slice(1), opts('cakeReplace'));
    runOrThrow(qemuCmd[0]!, qemuCmd.slice(1));
    const tools = Object.keys(LARGE_TOOLS) as LargeTool[];
    const times = Object.fromEntries(tools.map((k) => [k, [] as TimedRun[]])) as Record<LargeTool, TimedRun[]>;
    const checks = { replace: { checked: 0, failed: 0, failures: [] as string[] }, fresh: { checked: 0, failed: 0, failures: [] as string[] } };
    for (let i = 0; i < runs; i++) {
      for (const k of rotate(tools, i)) {
        const out = outputOf(k);
        if (out && k.endsWith('Fresh')) fs.rmSync(out, { force: true });
        runOrThrow('sync');
        const r = timeCommand(commands[k][0]!, commands[k].slice(1), opts(k));
        if (r.status !== 0) throw new Error(`${LARGE_TOOLS[k]} failed in round ${i + 1} (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-6).join('\n')}`);
        const fsync = out ? timeFsync(out) : undefined;
        let problems: string[] = [];
        if (out === outputs.cake) {
          problems = judge(outputs.cake, outputs.qemu, 'qcow2', 'qcow2', "qemu-img's output");
          const c = checks[k === 'cakeFresh' ? 'fresh' : 'replace'];
          c.checked++;
          if (problems.length) {
            c.failed++;
            c.failures.push(`round ${i + 1}: ${problems.join('; ')}`);
          }
        }
        if (out) res[out === outputs.cake ? 'bigCakeFile' : 'bigQemuFile'] = { size: fs.statSync(out).size, allocated: allocated(out) };
        times[k].push(timed(r, fsync === undefined ? {} : { fsync }));
        log(`${LARGE.name}: round ${i + 1}/${runs} ${LARGE_TOOLS[k]} ${fmtSec(r.wall)}${fsync === undefined ? '' : ` (+fsync ${fmtSec(fsync)})`}, user ${fmtSec(r.user)}, sys ${fmtSec(r.sys)}${out === outputs.cake ? `; compare ${problems.length ? `FAILED: ${problems.join('; ')}` : 'ok'}` : ''}`);
      }
    }
    res.bigReplace = { cake: summarizeRuns(times.cakeReplace), qemu: summarizeRuns(times.qemuReplace), checks: checks.replace };
    res.bigFresh = { cake: summarizeRuns(times.cakeFresh), qemu: summarizeRuns(times.qemuFresh), checks: checks.fresh };
    res.nodeE0 = summarizeRuns(times.node);
    res.fsck = { checked: checks.replace.checked + checks.fresh.checked, failed: checks.replace.failed + checks.fresh.failed };
    for (const c of [checks.replace, checks.fresh]) if (c.failed) res.notes!.push(`cake-img convert: FAILED its check in ${c.failed} of ${c.checked} runs: ${c.failures[0]}`);
    res.notes!.push(...othersCpuNotes(tools.filter((k) => k !== 'node').flatMap((k) => times[k])));
  } catch (e) {
    recordError(res, e);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return res;
}

/** A row of the large table: one way of running the convert (or the large item skipped or failed). */
interface LargeRow extends ItemBase {
  pair?: LargePair;
}

const userSys = (s: RunSummary) => `${fmtSec(median(s.runs.map((x) => x.user ?? NaN)))} / ${fmtSec(median(s.runs.map((x) => x.sys ?? NaN)))}`;

const LARGE_COLUMNS: Column<LargeRow>[] = [
  { head: 'old output', cell: (r) => r.name },
  { head: 'cake-img convert', right: true, cell: (r) => fmtSec(r.pair!.cake.median) },
  { head: 'qemu-img convert', right: true, cell: (r) => fmtSec(r.pair!.qemu.median) },
  { head: 'ratio', right: true, cell: (r) => boldRatio(r.pair!.cake.median! / r.pair!.qemu.median!) },
  { head: 'ratio, per round', right: true, cell: (r) => fmtRatio(pairedRatio(r.pair!.cake.runs, r.pair!.qemu.runs)) },
  { head: 'ratio, with fsync', right: true, cell: (r) => fmtRatio(r.pair!.cake.medianDurable! / r.pair!.qemu.medianDurable!) },
  { head: 'cake-img user / sys', right: true, cell: (r) => userSys(r.pair!.cake) },
  { head: 'qemu-img user / sys', right: true, cell: (r) => userSys(r.pair!.qemu) },
  { head: 'ratio, CPU', right: true, cell: (r) => fmtRatio(r.pair!.cake.medianCpu! / r.pair!.qemu.medianCpu!) },
  { head: 'peak RSS cake-img / qemu-img', cell: (r) => `${fmtRss(r.pair!.cake)} / ${fmtRss(r.pair!.qemu)}` },
  { head: "cake-img's output vs qemu-img's", cell: (r) => ckCell(r.pair!.checks) },
  measuredColumn(),
];

/** The large convert: both ways of running it, in the same rounds. */
export function renderLarge(L: string[], r: FormatsItem, data: SectionData<FormatsItem>): void {
  const rows: LargeRow[] = r.bigReplace && r.bigFresh
    ? [{ ...r, name: '(i) replaced', pair: r.bigReplace }, { ...r, name: '(ii) removed first', pair: r.bigFresh }]
    : [r];
  const gib = LARGE.size / 1024 ** 3;
  const offsets = LARGE.offsetsMiB.join(', ');
  L.push(
    '',
    `### Large image: \`cake-img convert\` vs \`qemu-img convert\` on a ${gib} GiB raw with ${LARGE.offsetsMiB.length} × ${LARGE.chunkMiB} MiB of random data`,
    '',
    `On the Debian disk (${fmtBytes(data.items.debian?.rawAllocated)} of data) the convert ratio above is mostly fixed cost: starting Node (\`node -e 0\`, in the notes) against qemu-img's whole run. Here the data dominates, and each tool runs two ways: (i) replacing its existing output, as a user rerunning the command does; (ii) with its old output removed (untimed \`rm -f\`) just before the run. cake-img writes a new temp file beside its output and puts it in the old one's place only when complete (a failed run leaves the old output untouched), having dropped the old file's pages from the page cache first and exchanging the two names, then unlinking the old file (new page cache beside the old file's was slow to get on this VM, and a plain rename over it made ext4 write the new file out inside the rename: (i) took 6.06 s against (ii)'s 1.46 s on Dec 4 before both); qemu-img truncates its old output and writes into it.`,
    '',
    ...markdownTable(LARGE_COLUMNS, rows),
    '',
    `Columns: medians of whole-command wall times, and of user and system CPU time (GNU time); *per round*: the median of each round's cake-img / qemu-img ratio; *with fsync* adds \`sync FILE\` of the output after each run. The input: \`truncate -s ${gib}G big.img\`, then \`dd if=/dev/urandom of=big.img bs=1M seek=OFF count=${LARGE.chunkMiB} iflag=fullblock conv=notrunc\` for OFF = ${offsets} (MiB), untimed, in bench/scratch/formats-large (deleted afterwards). One untimed run of each tool first (making the outputs (i) replaces); then each round runs (i) cake-img, (i) qemu-img, (ii) cake-img, (ii) qemu-img and \`node -e 0\`, taking turns going first, with an untimed \`sync\` before every run. *warm cache*: the page cache is never dropped here, whatever the policy of the table above (dropping it would also drop the old output's pages, which replacing is about; the input stays cached). *cake-img's output vs qemu-img's*: after every cake-img run, \`qemu-img check\` of its output exits 0 and \`qemu-img compare -f qcow2 -F qcow2\` finds it identical to qemu-img's.`,
    '',
    '```',
    'node dist/cli/main.js convert big.img c.qcow2',
    'qemu-img convert -f raw -O qcow2 big.img q.qcow2',
    'node -e 0',
    '```',
  );
  const extra: string[] = [];
  if (r.bigSize) extra.push(`the raw: ${fmtBytes(r.bigSize)}, ${fmtBytes(r.bigAllocated)} allocated; the qcow2s (file / allocated): cake-img ${fileCell(r.bigCakeFile)}, qemu-img ${fileCell(r.bigQemuFile)}.`);
  for (const [what, p] of [['(i)', r.bigReplace], ['(ii)', r.bigFresh]] as const) {
    if (p) extra.push(`${what} all wall times cake-img ${walls(p.cake.runs)}, qemu-img ${walls(p.qemu.runs)}; \`sync FILE\` after each run, medians: cake-img ${fmtSec(median(p.cake.runs.map((x) => x.fsync ?? NaN)))}, qemu-img ${fmtSec(median(p.qemu.runs.map((x) => x.fsync ?? NaN)))}.`);
  }
  if (r.nodeE0) extra.push(`\`node -e 0\`: median ${fmtSec(r.nodeE0.median)} wall (${walls(r.nodeE0.runs)}), ${fmtSec(r.nodeE0.medianCpu)} CPU.`);
  renderNotes(L, rowNotes(r, extra));
}
