// Benchmark `initramfs`: `cake-img initramfs TREE -o OUT.cpio.gz` against
import { renderFooter, renderNotes } from './results.mjs';
// `cd TREE && find . | cpio -o -H newc | gzip -9` on the same trees. Every output is
// checked (gzip -t, and its cpio entry count against the tree's) before its time counts.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TREES, TREE_NAMES, prepareTree } from './trees.mjs';
import {
  debVersions, distBuilt, dropCaches, finishRun, fmtBytes, fmtInt, fmtSec, getCachePolicy, log, othersCpuNote, parseTreeArgs, REPO_DIR, run, summarizeRuns, timeCommand, WORK_DIR,
} from './timing.mjs';

export const name = 'initramfs';
export const description = 'cake-img initramfs vs find | cpio -o -H newc | gzip -9 on a busybox rootfs and a Debian minbase';
export const usage = 'initramfs [--trees busybox,debian] [--runs N]';

const CAKE_MAIN = path.join(REPO_DIR, 'dist', 'cli', 'main.js');
const OUT_DIR = path.join(WORK_DIR, 'out');
const DEFAULT_TREES = ['busybox', 'debian'];

/** Target from the issue: cake-img's time / the reference pipeline's ≤ 1.0. */
export const TARGETS = { ratio: { trees: DEFAULT_TREES, max: 1.0 } };

export const REF_SCRIPT = 'cd "$1" && find . | cpio --quiet -o -H newc | gzip -9 > "$2"';

function cakeArgs(tree, out) {
  return [CAKE_MAIN, 'initramfs', tree, '-o', out];
}

/**
 * Checks a .cpio.gz: `gzip -t`, then the names `gzip -dc | cpio -t` lists. `expected` is
 * the number of entries it must hold. Returns { ok, count, names, why }.
 */
function checkArchive(file, expected) {
  const t = run('gzip', ['-t', file]);
  if (t.status !== 0) return { ok: false, count: null, why: `gzip -t: exit ${t.status}: ${t.stderr.trim()}` };
  const r = run('bash', ['-c', 'set -o pipefail; gzip -dc "$1" | cpio -t --quiet', 'bash', file]);
  if (r.status !== 0) return { ok: false, count: null, why: `gzip -dc | cpio -t: exit ${r.status}: ${r.stderr.trim().split('\n').slice(0, 4).join(' | ')}` };
  const names = r.stdout.split('\n').filter((l) => l !== '');
  if (names.length !== expected) return { ok: false, count: names.length, names, why: `cpio -t lists ${names.length} entries, expected ${expected}` };
  return { ok: true, count: names.length, names };
}

const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

async function benchTree(treeName, runs, policy) {
  const t = await prepareTree(treeName);
  if (t.skipped) return { name: treeName, skipped: t.skipped };
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const cakeOut = path.join(OUT_DIR, `${treeName}.cake.cpio.gz`);
  const refOut = path.join(OUT_DIR, `${treeName}.ref.cpio.gz`);
  const res = { name: treeName, title: TREES[treeName].title, how: t.how, stats: t.stats, notes: [] };
  // cake-img leaves out the root "." entry; `find .` lists it.
  const want = { cake: t.stats.entries, ref: t.stats.entries + 1 };
  const cake = [];
  const ref = [];
  const checks = { cake: { checked: 0, failed: 0, failures: [] }, ref: { checked: 0, failed: 0, failures: [] } };
  const cakeHashes = new Set();
  const firstNames = {};
  try {
    if (policy === 'warm') {
      log(`${treeName}: one untimed run of each (warm cache)`);
      const c = run(process.execPath, cakeArgs(t.dir, cakeOut));
      if (c.status !== 0) throw new Error(`cake-img initramfs failed (exit ${c.status}): ${`${c.stderr}${c.stdout}`.trim().split('\n').slice(0, 8).join('\n')}`);
      const r = run('sh', ['-c', REF_SCRIPT, 'sh', t.dir, refOut]);
      if (r.status !== 0) throw new Error(`the reference pipeline failed (exit ${r.status}): ${r.stderr.trim()}`);
    }
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? ['cake', 'ref'] : ['ref', 'cake'];
      for (const tool of order) {
        const out = tool === 'cake' ? cakeOut : refOut;
        fs.rmSync(out, { force: true });
        if (policy === 'cold') dropCaches();
        const r = tool === 'cake'
          ? timeCommand(process.execPath, cakeArgs(t.dir, out))
          : timeCommand('sh', ['-c', REF_SCRIPT, 'sh', t.dir, out]);
        const label = tool === 'cake' ? 'cake-img' : 'find|cpio|gzip';
        if (r.status !== 0) throw new Error(`${label} failed in run ${i + 1} (exit ${r.status}): ${r.stderr.trim().split('\n').slice(0, 8).join('\n')}`);
        const bytes = fs.statSync(out).size;
        const ck = checkArchive(out, want[tool]);
        checks[tool].checked++;
        if (!ck.ok) {
          checks[tool].failed++;
          checks[tool].failures.push(`run ${i + 1}: ${ck.why}`);
        }
        if (tool === 'cake') cakeHashes.add(sha256(out));
        if (i === 0) firstNames[tool] = ck.names;
        (tool === 'cake' ? cake : ref).push({ wall: r.wall, rssKiB: r.rssKiB, user: r.user, sys: r.sys, othersCpu: r.othersCpu, bytes });
        log(`${treeName}: run ${i + 1}/${runs} ${label} ${fmtSec(r.wall)} (CPU ${fmtSec((r.user ?? 0) + (r.sys ?? 0))}), peak RSS ${fmtBytes(r.rssKiB * 1024)}, ${fmtBytes(bytes)}; check ${ck.ok ? `ok (${ck.count} entries)` : `FAILED: ${ck.why}`}`);
        if (!ck.ok && tool === 'ref') res.notes.push(`the reference output of run ${i + 1} failed its check: ${ck.why}`);
      }
      if (i === 0) {
        // Both archives should name the same entries (the reference's "." aside).
        if (firstNames.cake && firstNames.ref) {
          const norm = (n) => n.replace(/^\.\//, '');
          const sa = new Set(firstNames.cake.map(norm));
          const sb = new Set(firstNames.ref.map(norm).filter((n) => n !== '.'));
          const onlyA = [...sa].filter((n) => !sb.has(n));
          const onlyB = [...sb].filter((n) => !sa.has(n));
          res.sameNames = onlyA.length === 0 && onlyB.length === 0;
          if (!res.sameNames) res.notes.push(`the archives name different entries: only in cake-img's: ${onlyA.slice(0, 5).join(', ') || 'none'}${onlyA.length > 5 ? ` (+${onlyA.length - 5})` : ''}; only in the reference: ${onlyB.slice(0, 5).join(', ') || 'none'}${onlyB.length > 5 ? ` (+${onlyB.length - 5})` : ''}`);
        }
      }
    }
    res.cake = summarizeRuns(cake);
    res.ref = summarizeRuns(ref);
    res.ratio = res.cake.median / res.ref.median;
    res.sizes = { cake: cake.at(-1).bytes, ref: ref.at(-1).bytes };
    res.cakeDeterministic = cakeHashes.size === 1;
    if (cakeHashes.size > 1) res.notes.push(`cake-img wrote ${cakeHashes.size} different archives in ${cake.length} runs of the same tree (its output is meant to be reproducible)`);
    const refSizes = new Set(ref.map((x) => x.bytes));
    if (refSizes.size > 1) res.notes.push(`the reference archive's size varied between runs: ${[...refSizes].join(', ')} bytes`);
    res.checks = checks;
    res.fsck = { checked: checks.cake.checked, failed: checks.cake.failed }; // run.mjs's exit code looks here
    if (checks.cake.failed) res.notes.push(`cake-img output FAILED its check in ${checks.cake.failed} of ${checks.cake.checked} runs: ${checks.cake.failures[0]}`);
  } catch (e) {
    res.error = (e instanceof Error ? e.message : String(e)).trim();
    log(`${treeName}: ERROR: ${res.error}`);
  } finally {
    fs.rmSync(cakeOut, { force: true });
    fs.rmSync(refOut, { force: true });
  }
  return res;
}

export async function main(argv) {
  const o = parseTreeArgs(argv, TREE_NAMES, DEFAULT_TREES);
  if (!fs.existsSync(CAKE_MAIN)) throw new Error(`${path.relative(process.cwd(), CAKE_MAIN)} is missing: run \`npm run build\` first (npm run bench does)`);
  for (const tool of ['find', 'cpio', 'gzip', 'bash']) {
    if (run('which', [tool]).status !== 0) throw new Error(`${tool} is not on PATH`);
  }
  const policy = getCachePolicy();
  log(policy === 'cold'
    ? 'cache: cold, the page cache is dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every timed run'
    : 'cache: warm, cannot drop the page cache (not root); each command runs once untimed before the timed runs');
  const tools = debVersions(['cpio', 'gzip', 'findutils']);
  const built = distBuilt();
  const started = Date.now();
  const results = [];
  for (const t of o.trees) results.push(await benchTree(t, o.runs, policy));
  return finishRun(results, { runs: o.runs, policy, tools }, built, started);
}

// ---------------------------------------------------------------------------------------
// Report

export function targetChecks(byTree) {
  const out = [];
  for (const t of TARGETS.ratio.trees) {
    const r = byTree[t];
    const what = `ratio ≤ ${TARGETS.ratio.max.toFixed(1)}`;
    if (!r || r.skipped || r.error || r.ratio === undefined) out.push({ tree: t, what, status: 'not measured' });
    else out.push({ tree: t, what, status: `${r.ratio <= TARGETS.ratio.max ? 'met' : 'NOT met'}: ${r.ratio.toFixed(2)}` });
  }
  return out;
}

export function render(data) {
  const L = [];
  const rows = TREE_NAMES.map((t) => data.items[t]).filter(Boolean);
  L.push('## initramfs: `cake-img initramfs` vs `find | cpio -o -H newc | gzip -9`');
  L.push('');
  L.push(`Target (from the issue): time ratio cake-img / reference ≤ ${TARGETS.ratio.max.toFixed(1)} (${TARGETS.ratio.trees.join(', ')}).`);
  L.push('');
  L.push('| tree | entries | bytes | cake-img median | reference median | ratio | cake-img CPU | reference CPU | cake-img peak RSS | reference peak RSS | cake-img .cpio.gz | reference .cpio.gz | checks (cake-img) | measured |');
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  for (const r of rows) {
    const s = r.stats ?? {};
    if (r.skipped && !r.cake) {
      L.push(`| ${r.name} | – | – | – | – | – | – | – | – | – | – | – | – | skipped ${r.date ?? ''} |`);
      continue;
    }
    if (r.error) {
      L.push(`| ${r.name} | ${fmtInt(s.entries)} | ${fmtBytes(s.bytes)} | FAILED | | | | | | | | | | ${r.date} |`);
      continue;
    }
    const c = r.checks.cake;
    const ck = c.failed === 0 ? `ok ${c.checked}/${c.checked}` : `**FAILED ${c.failed}/${c.checked}**`;
    L.push(`| ${r.name} | ${fmtInt(s.entries)} | ${fmtBytes(s.bytes)} | ${fmtSec(r.cake.median)} | ${fmtSec(r.ref.median)} | **${r.ratio.toFixed(2)}** | ${fmtSec(r.cake.medianCpu)} | ${fmtSec(r.ref.medianCpu)} | ${fmtBytes(r.cake.peakRssKiB * 1024)} | ${fmtBytes(r.ref.peakRssKiB * 1024)} | ${fmtBytes(r.sizes.cake)} | ${fmtBytes(r.sizes.ref)} | ${ck} | ${r.date}, ${r.runs} runs, ${r.policy} cache |`);
  }
  renderFooter(L, rows, data, targetChecks(data.items));
  L.push('');
  L.push('Columns: *entries* are the names below the tree\'s root; *bytes* the regular files\' sizes. Times are medians of whole-command wall times; *CPU* is the median user + system time (cake-img deflates on worker threads, one per core; the reference pipeline\'s three processes are summed). Peak RSS is GNU time\'s maximum resident set size (for the reference: its largest process). Output sizes are from the last run. *checks*: every output, of both tools, is tested with `gzip -t` and its `gzip -dc | cpio -t` entry count is compared with the tree\'s (cake-img leaves out the root "." entry that `find .` lists); after the first run the two archives\' name lists are compared too. *cold cache*: `sync; echo 3 > /proc/sys/vm/drop_caches` before every timed run; *warm cache*: one untimed run first.');
  L.push('');
  L.push('Commands:');
  L.push('');
  L.push('```');
  L.push('node dist/cli/main.js initramfs TREE -o OUT.cpio.gz');
  L.push(`sh -c '${REF_SCRIPT.replace('"$1"', 'TREE').replace('"$2"', 'REF.cpio.gz')}'`);
  L.push('gzip -t OUT.cpio.gz && gzip -dc OUT.cpio.gz | cpio -t | wc -l   # = entries (reference: entries + 1)');
  L.push('```');
  L.push('');
  L.push('Trees: as in the mkfs section; ' + rows.filter((r) => !(r.skipped && !r.cake)).map((r) => `${r.name}: ${r.title}`).join('; ') + '.');
  const notes = [];
  for (const r of rows) {
    if (r.skipped && !r.cake) notes.push(`${r.name}: **skipped**: ${r.skipped}`);
    if (r.error) notes.push(`${r.name}: ERROR: ${r.error}`);
    for (const n of r.notes ?? []) notes.push(`${r.name}: ${n}`);
    if (r.cake && r.ref) {
      notes.push(`${r.name}: all wall times cake-img [${r.cake.runs.map((x) => x.wall.toFixed(2)).join(', ')}] s, reference [${r.ref.runs.map((x) => x.wall.toFixed(2)).join(', ')}] s; cake-img output ${fmtInt(r.sizes.cake)} bytes (${r.cakeDeterministic ? 'the same bytes in every run' : 'NOT the same in every run'}), reference ${fmtInt(r.sizes.ref)} bytes (cake-img's is ${Math.abs((r.sizes.cake / r.sizes.ref - 1) * 100).toFixed(1)}% ${r.sizes.cake <= r.sizes.ref ? 'smaller' : 'larger'})${r.sameNames === true ? '; both archives name the same entries' : ''}.`);
      const oc = othersCpuNote([...r.cake.runs, ...r.ref.runs]);
      if (oc) notes.push(`${r.name}: ${oc}.`);
    }
    if (r.skippedLater) notes.push(`${r.name}: the latest attempt (${r.skippedLater.date}) was skipped: ${r.skippedLater.reason}; the row is from the earlier run.`);
  }
  renderNotes(L, notes);
  return L.join('\n');
}
