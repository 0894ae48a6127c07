// Where mkfs's memory goes, stage by stage (issue 16; not a benchmark, a probe): runs the
// mkfs steps of dist/ on a source and prints the live heap after each (after a full GC when
// node has --expose-gc) and the sampled peak RSS.
//   node --expose-gc node_modules/jiti/lib/jiti-cli.mjs bench/mem-probe.ts SRC IMG [STAGE]
// STAGE (load, limits, identity, plan, write) also writes a .heapsnapshot there, for
// bench/heap-summary.ts.
import * as v8 from 'node:v8';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = process.env.CAKE_DIST ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const [src, img, snapAt] = process.argv.slice(2) as [string, string, string | undefined];
const { loadSource } = await import(`${dist}/host/load-source.js`);
const { applyTreeOptions, applyExt4Limits, resolveExt4Options } = await import(`${dist}/bake/tree-options.js`);
const { planExt4 } = await import(`${dist}/bake/ext4/planner.js`);
const { writeExt4 } = await import(`${dist}/bake/ext4/writer.js`);
const { NodeFileBlockDevice } = await import(`${dist}/host/node-block-device.js`);

let peak = 0;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
function report(stage: string): void {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  peak = Math.max(peak, m.rss);
  console.log(`${stage.padEnd(8)} heapUsed ${mb(m.heapUsed)}  external ${mb(m.external)}  rss ${mb(m.rss)}  peak rss ${mb(peak)}`);
  if (snapAt === stage) console.log(`  snapshot: ${v8.writeHeapSnapshot()}`);
}
report('start');
const loaded = await loadSource(src, {});
report('load');
applyTreeOptions(loaded, undefined, undefined);
applyExt4Limits(loaded, src, false);
report('limits');
const options = resolveExt4Options({}, loaded, 'mkfs');
report('identity');
const plan = planExt4(loaded.tree, options);
report('plan');
const dev = NodeFileBlockDevice.create(img, plan.geo.blocksCount * plan.geo.blockSize);
await writeExt4(plan, dev, loaded.content, { assumeZeroed: true });
dev.close();
report('write');
clearInterval(timer);
await loaded.content.close();
