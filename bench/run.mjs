#!/usr/bin/env node
// Benchmark runner: `node bench/run.mjs NAME [options]` (npm run bench -- NAME ...).
// Each benchmark is a module exporting name, description, usage, main(argv) → { items }
// and render(data) → markdown; its section of bench/RESULTS.md is merged after each run.
import { loadSectionData, mergeItems, RESULTS_FILE, writeSection } from './results.mjs';
import { machineInfo } from './timing.mjs';

/** Benchmarks by name, loaded on demand. */
const BENCHMARKS = {
  mkfs: () => import('./mkfs.mjs'),
  initramfs: () => import('./initramfs.mjs'),
  bake: () => import('./bake.mjs'),
  formats: () => import('./formats.mjs'),
  cache: () => import('./cache.mjs'),
  web: () => import('./web.mjs'),
};

async function listBenchmarks(out) {
  out.write('usage: node bench/run.mjs NAME [options]   (npm run bench -- NAME [options])\n\navailable benchmarks:\n');
  for (const load of Object.values(BENCHMARKS)) {
    const b = await load();
    out.write(`  ${b.usage}\n      ${b.description}\n`);
  }
  out.write('\ncommon options: --no-write (print the table, leave bench/RESULTS.md alone),\n  --render (only re-render the section of bench/RESULTS.md from the results stored in it)\n');
}

const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || !Object.hasOwn(BENCHMARKS, name)) {
  if (name && name !== '--help' && name !== '-h') process.stderr.write(`unknown benchmark ${JSON.stringify(name)}\n\n`);
  await listBenchmarks(name === '--help' || name === '-h' ? process.stdout : process.stderr);
  process.exit(name === '--help' || name === '-h' ? 0 : 2);
}

const bench = await BENCHMARKS[name]();
if (rest.includes('--render')) {
  // Re-render the section from the results stored in RESULTS.md (after a change of layout).
  const data = loadSectionData(name);
  const md = bench.render(data);
  process.stdout.write(`${md}\n`);
  writeSection(name, md, data);
  process.exit(0);
}
const noWrite = rest.includes('--no-write');
const argv = rest.filter((a) => a !== '--no-write');
const machine = machineInfo();
let out;
try {
  out = await bench.main(argv);
} catch (e) {
  process.stderr.write(`bench ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
const data = mergeItems(noWrite ? { items: {}, machines: {} } : loadSectionData(name), out.items, machine);
const md = bench.render(data);
process.stdout.write(`${md}\n`);
if (!noWrite) {
  writeSection(name, md, data);
  process.stderr.write(`[bench] results merged into ${RESULTS_FILE}\n`);
}
process.stderr.write(`[bench] ${name}: ${out.seconds.toFixed(0)} s in all\n`);
const bad = Object.values(out.items).some((i) => i.error || i.fsck?.failed);
process.exitCode = bad ? 1 : 0;
