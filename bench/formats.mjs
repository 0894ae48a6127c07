// Benchmark `formats`: the image formats written straight from the plan against the two
// passes they replace, on the same tree, kernel and disk size as the bake benchmark:
//   bake:    cake-img bake -o disk.qcow2        vs  cake-img bake -o disk.img && qemu-img convert -O qcow2
//   convert: cake-img convert disk.img out.qcow2 vs  qemu-img convert -f raw -O qcow2 disk.img out.qcow2
// Every output is judged before its time counts: `qemu-img check` exits 0 and `qemu-img
// compare` finds it identical to the raw bake; cake-img's qcow2 must be the same bytes in
// every run.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prepareKernel, SIZES } from './bake.mjs';
import { renderFooter, renderNotes } from './results.mjs';
import { TREES, TREE_NAMES, prepareTree } from './trees.mjs';
import {
  CHILD_ENV, distBuilt, dropCaches, ensureTool, finishRun, fmtBytes, fmtInt, fmtSec, getCachePolicy, log, othersCpuNote, parseTreeArgs,
  REPO_DIR, run, runOrThrow, summarizeRuns, timeCommand, timeFsync, which, WORK_DIR, debVersions,
} from './timing.mjs';

export const name = 'formats';
export const description = 'cake-img bake -o disk.qcow2 vs cake-img bake -o disk.img && qemu-img convert -O qcow2; cake-img convert vs qemu-img convert (raw → qcow2)';
export const usage = 'formats [--trees busybox,debian] [--runs N]';

const CAKE_MAIN = path.join(REPO_DIR, 'dist', 'cli', 'main.js');
const OUT_DIR = path.join(WORK_DIR, 'out');
const DEFAULT_TREES = ['busybox', 'debian'];
const MODULES = 'virtio_pci,virtio_blk,ext4';

/** Targets from the issue. */
export const TARGETS = { bake: { trees: ['debian'], max: 0.6 }, convert: { trees: ['debian'], max: 1.2 } };

const TOOLS = {
  cakeBake: 'cake-img bake -o .qcow2',
  twoPass: 'cake-img bake -o .img + qemu-img convert',
  cakeConvert: 'cake-img convert',
  qemuConvert: 'qemu-img convert',
};

function cakeEnv() {
  const env = { ...CHILD_ENV, SOURCE_DATE_EPOCH: '1700000000' };
  if (!env.XDG_CACHE_HOME) env.XDG_CACHE_HOME = path.join(WORK_DIR, 'xdg-cache');
  fs.mkdirSync(env.XDG_CACHE_HOME, { recursive: true });
  return env;
}

const bakeArgs = (tree, kernel, size, img) => [CAKE_MAIN, 'bake', '--rootfs', tree, '--kernel', kernel.dir, '--modules', MODULES, '--options', 'console=ttyS0', '--size', size, '-o', img];
const sh = (s) => `'${s.replaceAll("'", "'\\''")}'`;

function sha256File(file) {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(8 << 20);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** qemu-img check and compare against the raw bake; returns the problems. */
function judge(img, raw) {
  const problems = [];
  const c = run('qemu-img', ['check', '-f', 'qcow2', img]);
  if (c.status !== 0) problems.push(`qemu-img check: exit ${c.status}: ${`${c.stdout}${c.stderr}`.trim().split('\n').slice(0, 4).join(' | ')}`);
  const k = run('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', raw, img]);
  if (k.status !== 0) problems.push(`qemu-img compare with the raw bake: exit ${k.status}: ${`${k.stdout}${k.stderr}`.trim()}`);
  return problems;
}

const allocated = (f) => fs.statSync(f).blocks * 512;

async function benchTree(treeName, runs, policy, kernel) {
  const t = await prepareTree(treeName);
  if (t.skipped) return { name: treeName, skipped: t.skipped };
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const size = SIZES[treeName];
  const f = (n) => path.join(OUT_DIR, `${treeName}.formats-${n}`);
  const raw = f('raw.img');
  const files = { cakeBake: f('cake.qcow2'), twoPass: f('two.qcow2'), twoPassRaw: f('two.img'), cakeConvert: f('conv.qcow2'), qemuConvert: f('qemu.qcow2') };
  const res = { name: treeName, title: TREES[treeName].title, how: t.how, stats: t.stats, size, notes: [] };
  const env = cakeEnv();
  const commands = {
    cakeBake: () => [process.execPath, bakeArgs(t.dir, kernel, size, files.cakeBake), { env }],
    twoPass: () => ['sh', ['-c', `${sh(process.execPath)} ${bakeArgs(t.dir, kernel, size, files.twoPassRaw).map(sh).join(' ')} >/dev/null && qemu-img convert -f raw -O qcow2 ${sh(files.twoPassRaw)} ${sh(files.twoPass)}`], { env }],
    cakeConvert: () => [process.execPath, [CAKE_MAIN, 'convert', raw, files.cakeConvert], { env }],
    qemuConvert: () => ['qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, files.qemuConvert], {}],
  };
  try {
    log(`${treeName}: untimed raw bake (${size}): the reference image every output is compared with, and convert's input`);
    fs.rmSync(raw, { force: true });
    runOrThrow(process.execPath, bakeArgs(t.dir, kernel, size, raw), { env });
    res.rawAllocated = allocated(raw);
    const tools = Object.keys(TOOLS);
    if (policy === 'warm') for (const k of tools) {
      const [cmd, args, opts] = commands[k]();
      runOrThrow(cmd, args, opts);
    }
    const times = Object.fromEntries(tools.map((k) => [k, []]));
    const checks = Object.fromEntries(tools.map((k) => [k, { checked: 0, failed: 0, failures: [] }]));
    const hashes = { cakeBake: new Set(), cakeConvert: new Set() };
    for (let i = 0; i < runs; i++) {
      for (const k of tools.map((_, j) => tools[(i + j) % tools.length])) {
        fs.rmSync(files[k], { force: true });
        fs.rmSync(files.twoPassRaw, { force: true });
        if (policy === 'cold') dropCaches();
        const [cmd, args, opts] = commands[k]();
        const r = timeCommand(cmd, args, opts);
        if (r.status !== 0) throw new Error(`${TOOLS[k]} failed in run ${i + 1} (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-6).join('\n')}`);
        const fsync = timeFsync(files[k]);
        const problems = judge(files[k], raw);
        checks[k].checked++;
        if (problems.length) {
          checks[k].failed++;
          checks[k].failures.push(`run ${i + 1}: ${problems.join('; ')}`);
        }
        if (hashes[k]) hashes[k].add(sha256File(files[k]));
        res[`${k}File`] = { size: fs.statSync(files[k]).size, allocated: allocated(files[k]) };
        times[k].push({ wall: r.wall, fsync, rssKiB: r.rssKiB, user: r.user, sys: r.sys, othersCpu: r.othersCpu });
        log(`${treeName}: run ${i + 1}/${runs} ${TOOLS[k]} ${fmtSec(r.wall)} (+fsync ${fmtSec(fsync)}), CPU ${fmtSec((r.user ?? 0) + (r.sys ?? 0))}, peak RSS ${fmtBytes(r.rssKiB * 1024)}; check ${problems.length ? `FAILED: ${problems.join('; ')}` : 'ok'}`);
      }
    }
    for (const k of tools) res[k] = summarizeRuns(times[k]);
    res.ratioBake = res.cakeBake.median / res.twoPass.median;
    res.ratioBakeDurable = res.cakeBake.medianDurable / res.twoPass.medianDurable;
    res.ratioConvert = res.cakeConvert.median / res.qemuConvert.median;
    res.ratioConvertDurable = res.cakeConvert.medianDurable / res.qemuConvert.medianDurable;
    res.checks = checks;
    res.fsck = { checked: checks.cakeBake.checked + checks.cakeConvert.checked, failed: checks.cakeBake.failed + checks.cakeConvert.failed };
    res.deterministic = Object.values(hashes).every((h) => h.size === 1);
    for (const [k, h] of Object.entries(hashes)) if (h.size > 1) res.notes.push(`${TOOLS[k]} wrote ${h.size} different files in ${runs} runs of the same input`);
    for (const k of tools) if (checks[k].failed) res.notes.push(`${TOOLS[k]}: FAILED its check in ${checks[k].failed} of ${checks[k].checked} runs: ${checks[k].failures[0]}`);
    const o = othersCpuNote(tools.flatMap((k) => times[k]));
    if (o) res.notes.push(o);
  } catch (e) {
    res.error = (e instanceof Error ? e.message : String(e)).trim();
    log(`${treeName}: ERROR: ${res.error}`);
  } finally {
    for (const p of [raw, ...Object.values(files)]) fs.rmSync(p, { force: true });
  }
  return res;
}

export async function main(argv) {
  const o = parseTreeArgs(argv, Object.keys(SIZES).filter((t) => TREE_NAMES.includes(t)), DEFAULT_TREES);
  if (!fs.existsSync(CAKE_MAIN)) throw new Error(`${path.relative(process.cwd(), CAKE_MAIN)} is missing: run \`npm run build\` first (npm run bench does)`);
  if (!which('qemu-img') && !ensureTool('qemu-img', 'qemu-utils')) throw new Error('qemu-img is not on PATH (qemu-utils)');
  const policy = getCachePolicy();
  log(policy === 'cold' ? 'cache: cold, dropped before every timed run' : 'cache: warm (not root): each command runs once untimed first');
  const kernel = prepareKernel();
  const built = distBuilt();
  const started = Date.now();
  const results = [];
  for (const t of o.trees) results.push(await benchTree(t, o.runs, policy, kernel));
  const tools = debVersions(['qemu-utils']);
  return finishRun(results, { runs: o.runs, policy, tools }, built, started);
}

export function targetChecks(byTree) {
  const out = [];
  for (const [key, what, ratio, durable] of [
    ['bake', 'cake-img bake -o disk.qcow2 / (cake-img bake -o disk.img + qemu-img convert -O qcow2)', 'ratioBake', 'ratioBakeDurable'],
    ['convert', 'cake-img convert / qemu-img convert, raw → qcow2', 'ratioConvert', 'ratioConvertDurable'],
  ]) {
    const target = TARGETS[key];
    for (const t of target.trees) {
      const r = byTree[t];
      const w = `${what} ≤ ${target.max}`;
      if (!r || r.skipped || r.error || typeof r[ratio] !== 'number') out.push({ tree: t, what: w, status: 'not measured' });
      else out.push({ tree: t, what: w, status: `${r[ratio] <= target.max ? 'met' : 'NOT met'}: ${r[ratio].toFixed(2)} (each followed by an fsync of its output: ${r[durable].toFixed(2)})` });
    }
  }
  return out;
}

const ckCell = (c) => (!c ? '–' : c.failed === 0 ? `ok ${c.checked}/${c.checked}` : `**FAILED ${c.failed}/${c.checked}**`);

export function render(data) {
  const L = [];
  const rows = TREE_NAMES.map((t) => data.items[t]).filter(Boolean);
  L.push('## formats: qcow2 written from the plan vs a raw bake and `qemu-img convert`');
  L.push('');
  L.push(`Targets (from the issue): on the Debian minbase, \`cake-img bake -o disk.qcow2\` ≤ ${TARGETS.bake.max} × (\`cake-img bake -o disk.img\` + \`qemu-img convert -O qcow2\`), and \`cake-img convert\` ≤ ${TARGETS.convert.max} × \`qemu-img convert\` for raw → qcow2 of the same image.`);
  L.push('');
  L.push('| tree | entries | disk | bake .qcow2 | bake .img + qemu-img convert | ratio | ratio, with fsync | cake-img convert | qemu-img convert | ratio | ratio, with fsync | qcow2 file / allocated: bake, convert, qemu-img | raw allocated | peak RSS bake / convert | checks (bake, two-pass, convert, qemu-img) | measured |');
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- | --- |');
  const ratio = (x) => (typeof x === 'number' ? x.toFixed(2) : '–');
  const file = (x) => (x ? `${fmtBytes(x.size)} / ${fmtBytes(x.allocated)}` : '–');
  for (const r of rows) {
    const s = r.stats ?? {};
    if (r.skipped && !r.cakeBake) {
      L.push(`| ${r.name} | – | – | – | – | – | – | – | – | – | – | – | – | – | – | skipped: ${r.skipped} |`);
      continue;
    }
    if (r.error) {
      L.push(`| ${r.name} | ${fmtInt(s.entries)} | ${r.size} | FAILED | | | | | | | | | | | | ${r.date} |`);
      continue;
    }
    L.push(`| ${r.name} | ${fmtInt(s.entries)} | ${r.size} | ${fmtSec(r.cakeBake.median)} | ${fmtSec(r.twoPass.median)} | **${ratio(r.ratioBake)}** | ${ratio(r.ratioBakeDurable)} | ${fmtSec(r.cakeConvert.median)} | ${fmtSec(r.qemuConvert.median)} | **${ratio(r.ratioConvert)}** | ${ratio(r.ratioConvertDurable)} | ${file(r.cakeBakeFile)}, ${file(r.cakeConvertFile)}, ${file(r.qemuConvertFile)} | ${fmtBytes(r.rawAllocated)} | ${fmtBytes(r.cakeBake.peakRssKiB * 1024)} / ${fmtBytes(r.cakeConvert.peakRssKiB * 1024)} | ${ckCell(r.checks?.cakeBake)}, ${ckCell(r.checks?.twoPass)}, ${ckCell(r.checks?.cakeConvert)}, ${ckCell(r.checks?.qemuConvert)} | ${r.date}, ${r.runs} runs, ${r.policy} cache |`);
  }
  renderFooter(L, rows, data, targetChecks(data.items));
  L.push('');
  L.push('Columns: medians of whole-command wall times; *with fsync* adds `sync FILE` of each output after its command (qemu-img and cake-img both leave the flush to the kernel). *qcow2 file / allocated*: apparent size and allocated bytes of each qcow2 (the files are sparse: zero clusters inside planned ranges stay holes). *checks*: every output of every run: `qemu-img check` exits 0 and `qemu-img compare -f raw -F qcow2` finds it identical to an untimed raw bake of the same inputs; cake-img\'s outputs must be the same bytes in every run. Same kernel, modules and sizes as the bake benchmark; SOURCE_DATE_EPOCH=1700000000 for every cake-img run.');
  L.push('');
  L.push('```');
  L.push("node dist/cli/main.js bake --rootfs TREE --kernel KERNELDIR --modules virtio_pci,virtio_blk,ext4 --options console=ttyS0 --size SIZE -o disk.qcow2");
  L.push("sh -c 'node dist/cli/main.js bake ... -o disk.img && qemu-img convert -f raw -O qcow2 disk.img two.qcow2'");
  L.push('node dist/cli/main.js convert raw.img conv.qcow2');
  L.push('qemu-img convert -f raw -O qcow2 raw.img qemu.qcow2');
  L.push('```');
  renderNotes(L, rows.flatMap((r) => (r.notes ?? []).map((n) => `${r.name}: ${n}`)));
  return L.join('\n');
}
