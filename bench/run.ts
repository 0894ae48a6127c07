// Benchmark runner: `jiti bench/run.ts NAME [options]` (npm run bench -- NAME ...).
// A benchmark is a module exporting `benchmark` (name, description, usage, main, render,
// see results.ts); adding one is one entry in BENCHMARKS. Its section of bench/RESULTS.md
// is merged after each run.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { settle } from '../src/host/lifecycle.js';
import { loadAverage, log, machineInfo } from './host.js';
import { type Benchmark, loadSectionData, mergeItems, RESULTS_FILE, type SectionData, writeSection } from './results.js';

/** Benchmarks by name, loaded on demand. */
export const BENCHMARKS: Record<string, () => Promise<{ benchmark: Benchmark }>> = {
  mkfs: () => import('./mkfs.js'),
  initramfs: () => import('./initramfs.js'),
  bake: () => import('./bake.js'),
  formats: () => import('./formats.js'),
  cache: () => import('./cache.js'),
  web: () => import('./web.js'),
  noop: () => import('./noop.js'),
  initrd: () => import('./initrd.js'),
  memory: () => import('./memory.js'),
};

async function listBenchmarks(out: NodeJS.WriteStream): Promise<void> {
  out.write('usage: jiti bench/run.ts NAME [options]   (npm run bench -- NAME [options])\n\navailable benchmarks:\n');
  for (const load of Object.values(BENCHMARKS)) {
    const { benchmark: b } = await load();
    out.write(`  ${b.usage}\n      ${b.description}\n`);
  }
  out.write('\ncommon options: --no-write (print the table, leave bench/RESULTS.md alone),\n  --render (only re-render the section of bench/RESULTS.md from the results stored in it),\n  --cache warm|cold (mkfs, initramfs, bake, formats: cold drops the page cache before every timed run, root only; default cold as root)\n');
}

/** Runs one benchmark (or re-renders its section); returns the exit code. */
async function runBenchmark(bench: Benchmark, rest: string[]): Promise<number> {
  if (rest.includes('--render')) {
    // Re-render the section from the results stored in RESULTS.md (after a change of layout).
    const data = loadSectionData(bench.name);
    const md = bench.render(data);
    process.stdout.write(`${md}\n`);
    writeSection(bench.name, md, data);
    return 0;
  }
  const noWrite = rest.includes('--no-write');
  const machine = machineInfo();
  const start = loadAverage();
  log(`load average at the start: ${start}`);
  let out;
  try {
    out = await bench.main(rest.filter((a) => a !== '--no-write'));
  } catch (e) {
    process.stderr.write(`bench ${bench.name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const end = loadAverage();
  for (const item of Object.values(out.items)) if (!item.skipped) item.load = { start, end };
  const old: SectionData = noWrite ? { items: {}, machines: {} } : loadSectionData(bench.name);
  const data = mergeItems(old, out.items, machine);
  const md = bench.render(data);
  process.stdout.write(`${md}\n`);
  if (!noWrite) {
    writeSection(bench.name, md, data);
    log(`results merged into ${RESULTS_FILE}`);
  }
  log(`${bench.name}: ${out.seconds.toFixed(0)} s in all; load average at the end: ${end}`);
  return Object.values(out.items).some((i) => i.error || i.fsck?.failed) ? 1 : 0;
}

/** The command line: list, run or re-render. */
async function cli(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const help = name === '--help' || name === '-h';
  if (!name || help || !Object.hasOwn(BENCHMARKS, name)) {
    if (name && !help) process.stderr.write(`unknown benchmark ${JSON.stringify(name)}\n\n`);
    await listBenchmarks(help ? process.stdout : process.stderr);
    process.exitCode = help ? 0 : 2;
    return;
  }
  const { benchmark } = await BENCHMARKS[name]!();
  process.exitCode = await runBenchmark(benchmark, rest);
  await settle(); // the helper processes cake-img's own fetches started (trees, kernel)
}

// Run when started as a script (jiti bench/run.ts), not when a test imports BENCHMARKS.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await cli(process.argv.slice(2));
