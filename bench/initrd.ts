// Benchmark `initrd`: an uncached `cake-img initrd` (a fresh, empty XDG_CACHE_HOME every
// run) of the bake benchmark's kernel and modules against bench/initrd-ref.sh, the same
// initramfs made by a script: the modules' closure from `modprobe --show-depends`, the
// files copied into a directory, `find | sort | cpio -o -H newc | gzip -9`. Every output is
// checked (gzip -t, the names cpio -t lists against the other tool's) before its time counts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isStaticElf } from '../src/bake/initrd/busybox.js';
import { sha256File } from '../src/util/sha256-file.js';
import { type BenchKernel, benchKernel, MODULES } from './bake-inputs.js';
import { BENCH_DIR, cakeEnv, cakeOrThrow, debVersions, distBuilt, log, OUT_DIR, requireBuilt, requireTools, run, runOrThrow } from './host.js';
import {
  boldRatio, type Checks, ckCell, type Column, fmtBytes, fmtInt, fmtRatio, fmtRss, fmtSec, measured, measuredColumn, renderSection, rowNotes, type TargetCheck,
  targetStatus, walls,
} from './report.js';
import type { Benchmark, ItemBase, SectionData } from './results.js';
import { finishRun, othersCpuNotes, pairedRatio, parseTreeArgs, recordError, rotate, type RunSummary, summarizeRuns, timeCake, timeCommand, timed, type TimedRun } from './timing.js';

/** Target from the issue: the uncached cake-img initrd ≤ 0.5 × the script. */
export const TARGETS = { ratio: { max: 0.5 } };

const REF_SCRIPT = path.join(BENCH_DIR, 'initrd-ref.sh');
const ROW = 'debian-kernel';
const UUID = '99999999-9999-9999-9999-999999999999';
/** The host's static busybox, which cake-img takes by default; the script is given the same file. */
const BUSYBOX = '/bin/busybox';
/** Files the script adds that cake-img's initramfs does not have (its /init uses insmod by path). */
const REF_ONLY = ['modules.dep', 'modules.builtin'];

const TOOLS = { cake: 'cake-img initrd', ref: 'initrd-ref.sh' } as const;
type Tool = keyof typeof TOOLS;

export interface InitrdItem extends ItemBase {
  kernel?: { pkg: string; deb: string; how: string; dir: string };
  modules?: string;
  /** What cake-img said it loads, in order. */
  loadOrder?: string;
  cake?: RunSummary;
  ref?: RunSummary;
  ratio?: number;
  ratioPaired?: number;
  ratioCpu?: number;
  sizes?: { cake: number; ref: number };
  entries?: { cake: number; ref: number };
  sameNames?: boolean;
  cakeDeterministic?: boolean;
  checks?: Record<Tool, Checks>;
}

/** gzip -t and the names `gzip -dc | cpio -t` lists ("./" and the root "." dropped). */
function listArchive(file: string): { names?: string[]; why?: string } {
  const t = run('gzip', ['-t', file]);
  if (t.status !== 0) return { why: `gzip -t: exit ${t.status}: ${t.stderr.trim()}` };
  const r = run('bash', ['-c', 'set -o pipefail; gzip -dc "$1" | cpio -t --quiet', 'bash', file]);
  if (r.status !== 0) return { why: `gzip -dc | cpio -t: exit ${r.status}: ${r.stderr.trim().split('\n').slice(0, 4).join(' | ')}` };
  return { names: r.stdout.split('\n').filter((l) => l !== '' && l !== '.').map((n) => n.replace(/^\.\//, '')).sort() };
}

/** The names each archive should hold: cake-img's, and those plus REF_ONLY for the script. */
function judge(tool: Tool, names: string[], expected: string[], version: string): string | null {
  const want = tool === 'ref' ? [...expected, ...REF_ONLY.map((f) => `lib/modules/${version}/${f}`)].sort() : expected;
  const onlyHere = names.filter((n) => !want.includes(n));
  const missing = want.filter((n) => !names.includes(n));
  if (!onlyHere.length && !missing.length) return null;
  return `cpio -t: ${missing.length} names missing (${missing.slice(0, 4).join(', ')}), ${onlyHere.length} unexpected (${onlyHere.slice(0, 4).join(', ')})`;
}

async function benchInitrd(runs: number, kernel: BenchKernel): Promise<InitrdItem> {
  const res: InitrdItem = { name: ROW, title: kernel.pkg, kernel: { pkg: kernel.pkg, deb: kernel.deb, how: kernel.how, dir: kernel.dir }, modules: MODULES, notes: [] };
  const dir = path.join(OUT_DIR, 'initrd');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const outs: Record<Tool, string> = { cake: path.join(dir, 'cake.gz'), ref: path.join(dir, 'ref.gz') };
  const work = path.join(dir, 'ref-tree');
  const init = path.join(dir, 'init');
  const cakeArgs = ['initrd', '--kernel-modules', kernel.modules, '--modules', MODULES, '--root-uuid', UUID, '-o', outs.cake];
  const refArgs = [REF_SCRIPT, kernel.modules, MODULES, BUSYBOX, init, work, outs.ref];
  /** cake-img with a fresh, empty cache directory (removed afterwards). */
  const withFreshCache = <T>(f: (env: NodeJS.ProcessEnv) => T): T => {
    const cache = fs.mkdtempSync(path.join(dir, 'cache-'));
    try {
      return f({ ...cakeEnv(), XDG_CACHE_HOME: cache });
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  };
  try {
    // Untimed: one run of each (warm page cache); cake-img's output gives /init and the names.
    log(`${ROW}: one untimed run of each; /init from cake-img's archive for the script`);
    const said = withFreshCache((env) => cakeOrThrow('initrd', cakeArgs, { env })).stdout;
    res.loadOrder = /modules in load order: (.*)$/m.exec(said)?.[1]?.trim();
    runOrThrow('bash', ['-c', 'set -o pipefail; gzip -dc "$1" | (cd "$2" && cpio -id --quiet init)', 'bash', outs.cake, dir]);
    const first = listArchive(outs.cake);
    if (!first.names) throw new Error(`cake-img's archive fails its check: ${first.why}`);
    const expected = first.names;
    // The script's modprobe reads the binary indexes a distribution's depmod leaves; the
    // tests' kernel has only cake-img's modules.dep (text). Made once, untimed, in place.
    if (!fs.existsSync(path.join(kernel.modules, 'modules.dep.bin'))) {
      log(`${ROW}: depmod -b for the script's modprobe (modules.dep.bin), untimed`);
      runOrThrow('depmod', ['-b', kernel.root, path.basename(kernel.modules)]);
    }
    runOrThrow('bash', refArgs);

    const times: Record<Tool, TimedRun[]> = { cake: [], ref: [] };
    const checks: Record<Tool, Checks & { failures: string[] }> = { cake: { checked: 0, failed: 0, failures: [] }, ref: { checked: 0, failed: 0, failures: [] } };
    const hashes = new Set<string>();
    for (let i = 0; i < runs; i++) {
      for (const tool of rotate<Tool>(['cake', 'ref'], i)) {
        fs.rmSync(outs[tool], { force: true });
        fs.rmSync(work, { recursive: true, force: true });
        const r = tool === 'cake' ? withFreshCache((env) => timeCake(cakeArgs, { env })) : timeCommand('bash', refArgs);
        if (r.status !== 0) throw new Error(`${TOOLS[tool]} failed in round ${i + 1} (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-6).join('\n')}`);
        const bytes = fs.statSync(outs[tool]).size;
        const l = listArchive(outs[tool]);
        const why = l.why ?? judge(tool, l.names!, expected, path.basename(kernel.modules));
        checks[tool].checked++;
        if (why) {
          checks[tool].failed++;
          checks[tool].failures.push(`round ${i + 1}: ${why}`);
        }
        if (tool === 'cake') hashes.add(sha256File(outs.cake));
        res.entries = { ...(res.entries ?? { cake: 0, ref: 0 }), [tool]: l.names?.length ?? 0 };
        times[tool].push(timed(r, { bytes }));
        log(`${ROW}: round ${i + 1}/${runs} ${TOOLS[tool]} ${fmtSec(r.wall)} (CPU ${fmtSec((r.user ?? 0) + (r.sys ?? 0))}), peak RSS ${fmtBytes((r.rssKiB ?? 0) * 1024)}, ${fmtBytes(bytes)}; check ${why ? `FAILED: ${why}` : 'ok'}`);
      }
    }
    res.cake = summarizeRuns(times.cake);
    res.ref = summarizeRuns(times.ref);
    res.ratio = res.cake.median! / res.ref.median!;
    res.ratioPaired = pairedRatio(times.cake, times.ref) ?? undefined;
    res.ratioCpu = res.cake.medianCpu! / res.ref.medianCpu!;
    res.sizes = { cake: times.cake.at(-1)!.bytes!, ref: times.ref.at(-1)!.bytes! };
    res.sameNames = checks.ref.failed === 0;
    res.cakeDeterministic = hashes.size === 1;
    if (hashes.size > 1) res.notes!.push(`cake-img wrote ${hashes.size} different archives in ${runs} runs of the same inputs`);
    res.checks = checks;
    res.fsck = { checked: checks.cake.checked, failed: checks.cake.failed }; // run.ts's exit code looks here
    for (const t of ['cake', 'ref'] as const) if (checks[t].failed) res.notes!.push(`${TOOLS[t]}: FAILED its check in ${checks[t].failed} of ${checks[t].checked} rounds: ${checks[t].failures[0]}`);
    res.notes!.push(...othersCpuNotes([...times.cake, ...times.ref]));
  } catch (e) {
    recordError(res, e);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return res;
}

async function main(argv: string[]) {
  const o = parseTreeArgs(argv, [ROW], [ROW], 5);
  requireBuilt();
  requireTools([['modprobe', 'kmod'], ['cpio', 'cpio'], ['gzip', 'gzip'], ['bash', 'bash'], ['busybox', 'busybox-static']]);
  if (!isStaticElf(new Uint8Array(fs.readFileSync(BUSYBOX)), BUSYBOX)) throw new Error(`${BUSYBOX} is not a static busybox (install busybox-static)`);
  const kernel = await benchKernel();
  const built = distBuilt();
  const started = Date.now();
  const results = [await benchInitrd(o.runs, kernel)];
  return finishRun(results, { runs: o.runs, policy: 'warm', tools: debVersions(['cpio', 'gzip', 'kmod', 'busybox-static']) }, built, started);
}

// ---------------------------------------------------------------------------------------
// Report

export function targetChecks(byName: Record<string, InitrdItem>): TargetCheck[] {
  const r = byName[ROW];
  const ok = measured(r);
  return [{
    tree: ROW,
    what: `uncached cake-img initrd ≤ ${TARGETS.ratio.max} × the cpio + gzip -9 script`,
    status: targetStatus(ok ? r!.ratio : null, TARGETS.ratio.max, ok ? ` (median of the per-round ratios ${fmtRatio(r!.ratioPaired)}; of CPU time ${fmtRatio(r!.ratioCpu)})` : ''),
  }];
}

const COLUMNS: Column<InitrdItem>[] = [
  { head: 'kernel', cell: (r) => r.kernel?.pkg ?? r.name },
  { head: 'modules', tree: true, cell: (r) => r.modules ?? '–' },
  { head: 'cake-img initrd', right: true, cell: (r) => fmtSec(r.cake!.median) },
  { head: 'script', right: true, cell: (r) => fmtSec(r.ref!.median) },
  { head: 'ratio', right: true, cell: (r) => boldRatio(r.ratio) },
  { head: 'ratio, per round', right: true, cell: (r) => fmtRatio(r.ratioPaired) },
  { head: 'cake-img CPU', right: true, cell: (r) => fmtSec(r.cake!.medianCpu) },
  { head: 'script CPU', right: true, cell: (r) => fmtSec(r.ref!.medianCpu) },
  { head: 'ratio, CPU', right: true, cell: (r) => fmtRatio(r.ratioCpu) },
  { head: 'cake-img peak RSS', right: true, cell: (r) => fmtRss(r.cake) },
  { head: 'size: cake-img, script', cell: (r) => `${fmtBytes(r.sizes!.cake)}, ${fmtBytes(r.sizes!.ref)}` },
  { head: 'checks (cake-img, script)', cell: (r) => `${ckCell(r.checks?.cake)}, ${ckCell(r.checks?.ref)}` },
  measuredColumn(),
];

export function render(data: SectionData<InitrdItem>): string {
  const rows = [data.items[ROW]].filter((r): r is InitrdItem => !!r);
  const body = [
    '',
    'Columns: medians of whole-command wall times; *per round*: the median of each round\'s cake-img / script ratio (the two run back to back); *CPU*: median user + system time (cake-img deflates on worker threads; the script\'s processes are summed). cake-img gets a fresh, empty `XDG_CACHE_HOME` every run (`cake-img initrd` keeps nothing between runs anyway: only bake caches its initrd). The script (bench/initrd-ref.sh) puts the same files in a directory: the host\'s static busybox (the one cake-img takes by default) and its applet symlinks, cake-img\'s /init (dumped once from an untimed run), dev/console, mnt proc sys, the modules `modprobe --show-depends` names for each of the modules (dependencies and softdeps), plus modules.dep and modules.builtin; then `find | sort | cpio -o -H newc | gzip -9`. cake-img compresses at gzip level 6 (its boot initrd\'s level), the script at 9. *checks*: every output of every round passes `gzip -t`, and `cpio -t` lists the names of cake-img\'s untimed archive (the script\'s: those and its two modules.* files); cake-img\'s outputs must be the same bytes in every round. *warm cache*: one untimed run of each first; the page cache is not dropped.',
    '',
    '```',
    `XDG_CACHE_HOME=$(mktemp -d) node dist/cli/main.js initrd --kernel-modules KERNELDIR/lib/modules/VERSION --modules ${MODULES} --root-uuid ${UUID} -o cake.gz`,
    `bash bench/initrd-ref.sh KERNELDIR/lib/modules/VERSION ${MODULES} ${BUSYBOX} INIT WORKDIR ref.gz`,
    '```',
  ];
  const notes = rows.flatMap((r) => {
    const extra: string[] = [];
    if (r.kernel) extra.push(`kernel: ${r.kernel.how}, in ${r.kernel.dir} (the bake benchmark's); modules loaded, in order: ${r.loadOrder ?? '–'}.`);
    if (r.cake && r.ref && r.sizes && r.entries) {
      extra.push(`all wall times cake-img ${walls(r.cake.runs)}, script ${walls(r.ref.runs)}; archives: cake-img ${fmtInt(r.sizes.cake)} bytes, ${r.entries.cake} entries (${r.cakeDeterministic ? 'the same bytes in every round' : 'NOT the same in every round'}), script ${fmtInt(r.sizes.ref)} bytes, ${r.entries.ref} entries; peak RSS cake-img ${fmtRss(r.cake)}, script ${fmtRss(r.ref)} (its largest process).`);
    }
    return rowNotes(r, extra);
  });
  return renderSection({
    heading: '## initrd: uncached `cake-img initrd` vs `cpio -o -H newc | gzip -9` in a script',
    targets: `Target (from the issue): an uncached \`cake-img initrd\` (virtio_blk, virtio_pci, ext4 and their closure) ≤ ${TARGETS.ratio.max} × a script doing the same with \`cpio -o -H newc\` and \`gzip -9\`.`,
    columns: COLUMNS, rows, data, checks: targetChecks(data.items), body, notes,
  }).join('\n');
}

export const benchmark: Benchmark<InitrdItem> = {
  name: 'initrd',
  description: 'uncached cake-img initrd (virtio_pci, virtio_blk, ext4 and their closure) vs bench/initrd-ref.sh (modprobe --show-depends, cp, find | sort | cpio -o -H newc | gzip -9)',
  usage: 'initrd [--runs N]   (default 5 rounds)',
  main,
  render,
};
