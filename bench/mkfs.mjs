// Benchmark `mkfs`: `cake-img mkfs TREE IMG` against `mkfs.ext4 -d TREE IMG` on the same
import { renderFooter, renderNotes } from './results.mjs';
// trees and the same image size. Every cake-img image is checked with `e2fsck -fn`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TREES, TREE_NAMES, prepareTree } from './trees.mjs';
import {
  distBuilt, dropCaches, finishRun, fmtBytes, fmtInt, fmtSec, getCachePolicy, log, median, parseTreeArgs, REPO_DIR, run, runOrThrow, timeCommand, timeFsync, WORK_DIR,
} from './timing.mjs';

export const name = 'mkfs';
export const description = 'cake-img mkfs vs mkfs.ext4 -d on a busybox rootfs, a Debian minbase and a synthetic 100k-file tree';
export const usage = 'mkfs [--trees busybox,debian,synthetic] [--runs N]';

const CAKE_MAIN = path.join(REPO_DIR, 'dist', 'cli', 'main.js');
const OUT_DIR = path.join(WORK_DIR, 'out');
const MB = 1e6;

/** Targets from the issue. */
export const TARGETS = {
  ratio: { trees: ['debian', 'synthetic'], max: 1.0 },
  rss: { trees: ['synthetic'], maxBytes: 300 * MB },
};

function cakeArgs(tree, img, size) {
  return [CAKE_MAIN, 'mkfs', tree, img, '--size', String(size)];
}

function mke2fsArgs(tree, img, inodes) {
  return [
    '-q', '-F', '-t', 'ext4', '-O', '^64bit,^resize_inode', '-b', '4096', '-I', '256', '-N', String(inodes),
    '-E', 'lazy_itable_init=0,lazy_journal_init=0', '-d', tree, img,
  ];
}

/** The fields of `dumpe2fs -h` that both tools should agree on (or that explain a difference). */
function geometry(img) {
  const r = run('dumpe2fs', ['-h', img]);
  const get = (k) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(r.stdout)?.[1]?.trim();
  return {
    blocks: Number(get('Block count')),
    inodes: Number(get('Inode count')),
    freeBlocks: Number(get('Free blocks')),
    freeInodes: Number(get('Free inodes')),
    inodesPerGroup: Number(get('Inodes per group')),
    journal: get('Total journal size') ?? get('Journal size') ?? 'none',
    features: (get('Filesystem features') ?? '').split(/\s+/).filter(Boolean).sort(),
  };
}

function fsck(img) {
  const r = run('e2fsck', ['-fn', img]);
  return { ok: r.status === 0, status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

function rmImage(img) {
  fs.rmSync(img, { force: true });
}

function makeSparse(img, size) {
  rmImage(img);
  runOrThrow('truncate', ['-s', String(size), img]);
}

/** One untimed cake-img run; returns the image size or throws. */
function cakeOnce(tree, img, size) {
  rmImage(img);
  const r = run(process.execPath, cakeArgs(tree, img, size));
  if (r.status !== 0) throw new Error(`cake-img mkfs failed (exit ${r.status}): ${`${r.stderr}${r.stdout}`.trim().split('\n').slice(0, 8).join('\n')}`);
  return fs.statSync(img).size;
}

function mke2fsOnce(tree, img, size, inodes) {
  makeSparse(img, size);
  return run('mkfs.ext4', mke2fsArgs(tree, img, inodes));
}

const roundUp = (n, m) => Math.ceil(n / m) * m;

async function benchTree(treeName, runs, policy) {
  const t = await prepareTree(treeName);
  if (t.skipped) return { name: treeName, skipped: t.skipped };
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const cakeImg = path.join(OUT_DIR, `${treeName}.cake.img`);
  const mkeImg = path.join(OUT_DIR, `${treeName}.mke2fs.img`);
  const res = { name: treeName, title: TREES[treeName].title, how: t.how, stats: t.stats, notes: [] };
  try {
    // Sizing (untimed; doubles as the warm-up run of each tool): cake-img --size auto gives
    // the size; mkfs.ext4 -d gets the same size and cake-img's inode count. If mke2fs
    // cannot fit the tree there, both get a larger size.
    log(`${treeName}: sizing with cake-img --size auto`);
    const autoSize = cakeOnce(t.dir, cakeImg, 'auto');
    res.autoSize = autoSize;
    let size = autoSize;
    let inodes;
    for (let attempt = 0; ; attempt++) {
      // The fixed-size image (timed below) may differ from the auto one, e.g. in its inode
      // count: the image size and inode count mke2fs gets are read from this one.
      size = cakeOnce(t.dir, cakeImg, size);
      inodes = geometry(cakeImg).inodes;
      log(`${treeName}: size ${size} bytes, ${inodes} inodes; checking that mkfs.ext4 -d fits the tree there`);
      const r = mke2fsOnce(t.dir, mkeImg, size, inodes);
      if (r.status === 0) break;
      const msg = `${r.stderr}${r.stdout}`.trim().split('\n').slice(-4).join(' | ');
      if (attempt >= 4) throw new Error(`mkfs.ext4 -d fails even at ${fmtBytes(size)}: ${msg}`);
      const bigger = roundUp(Math.ceil(size * 1.25), 4 << 20);
      res.notes.push(`mkfs.ext4 -d could not fit the tree in ${fmtBytes(size)} (${msg}); both tools use ${fmtBytes(bigger)}.`);
      log(`${treeName}: ${res.notes.at(-1)}`);
      size = bigger;
    }
    res.sizeBytes = size;
    res.inodes = inodes;
    const fkM = fsck(mkeImg);
    if (!fkM.ok) res.notes.push(`the mkfs.ext4 image itself fails e2fsck -fn (exit ${fkM.status}): ${fkM.out.split('\n').slice(0, 4).join(' | ')}`);
    const gc = geometry(cakeImg);
    const gm = geometry(mkeImg);
    res.geometry = { cake: gc, mke2fs: gm };
    const diffs = [];
    for (const k of ['blocks', 'inodes', 'inodesPerGroup', 'journal']) if (gc[k] !== gm[k]) diffs.push(`${k} ${gc[k]} vs ${gm[k]}`);
    const onlyC = gc.features.filter((f) => !gm.features.includes(f));
    const onlyM = gm.features.filter((f) => !gc.features.includes(f));
    if (onlyC.length || onlyM.length) diffs.push(`features only in cake-img: [${onlyC.join(' ')}], only in mke2fs: [${onlyM.join(' ')}]`);
    if (diffs.length) res.notes.push(`geometry differs (cake-img vs mke2fs): ${diffs.join('; ')}`);

    // Timed runs, cake-img and mke2fs alternating which goes first.
    const cake = [];
    const mke = [];
    const fsckFails = [];
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? ['cake', 'mke2fs'] : ['mke2fs', 'cake'];
      for (const tool of order) {
        if (tool === 'cake') {
          rmImage(cakeImg);
          if (policy === 'cold') dropCaches();
          const r = timeCommand(process.execPath, cakeArgs(t.dir, cakeImg, size));
          if (r.status !== 0) throw new Error(`cake-img mkfs failed in run ${i + 1} (exit ${r.status}): ${r.stderr.trim().split('\n').slice(0, 8).join('\n')}`);
          const fsync = timeFsync(cakeImg);
          const got = fs.statSync(cakeImg).size;
          if (got !== size) throw new Error(`cake-img image is ${got} bytes, expected ${size}`);
          const fk = fsck(cakeImg);
          if (!fk.ok) fsckFails.push(`run ${i + 1}: exit ${fk.status}: ${fk.out.split('\n').slice(0, 12).join(' | ')}`);
          cake.push({ wall: r.wall, fsync, rssKiB: r.rssKiB, user: r.user, sys: r.sys, othersCpu: r.othersCpu });
          log(`${treeName}: run ${i + 1}/${runs} cake-img ${fmtSec(r.wall)} (+fsync ${fmtSec(fsync)}), peak RSS ${fmtBytes(r.rssKiB * 1024)}, e2fsck -fn ${fk.ok ? 'clean' : 'FAILED'}`);
        } else {
          makeSparse(mkeImg, size);
          if (policy === 'cold') dropCaches();
          const r = timeCommand('mkfs.ext4', mke2fsArgs(t.dir, mkeImg, inodes));
          if (r.status !== 0) throw new Error(`mkfs.ext4 -d failed in run ${i + 1}: ${r.stderr.trim()}`);
          const fsync = timeFsync(mkeImg);
          mke.push({ wall: r.wall, fsync, rssKiB: r.rssKiB, user: r.user, sys: r.sys, othersCpu: r.othersCpu });
          log(`${treeName}: run ${i + 1}/${runs} mkfs.ext4 ${fmtSec(r.wall)} (+fsync ${fmtSec(fsync)}), peak RSS ${fmtBytes(r.rssKiB * 1024)}`);
        }
      }
    }
    const summarize = (xs) => ({
      runs: xs,
      median: median(xs.map((x) => x.wall)),
      medianDurable: median(xs.map((x) => x.wall + x.fsync)),
      medianCpu: median(xs.map((x) => (x.user ?? NaN) + (x.sys ?? NaN))),
      peakRssKiB: xs.some((x) => x.rssKiB !== null) ? Math.max(...xs.map((x) => x.rssKiB ?? 0)) : null,
    });
    res.cake = summarize(cake);
    res.mke2fs = summarize(mke);
    res.ratio = res.cake.median / res.mke2fs.median;
    res.ratioDurable = res.cake.medianDurable / res.mke2fs.medianDurable;
    res.fsck = { checked: cake.length, failed: fsckFails.length, failures: fsckFails };
    if (fsckFails.length) res.notes.push(`e2fsck -fn FAILED on ${fsckFails.length} of ${cake.length} cake-img images: ${fsckFails[0]}`);
  } catch (e) {
    res.error = (e instanceof Error ? e.message : String(e)).trim();
    log(`${treeName}: ERROR: ${res.error}`);
  } finally {
    rmImage(cakeImg);
    rmImage(mkeImg);
  }
  return res;
}

/** Runs the benchmark; returns { results, meta } for the report. */
export async function main(argv) {
  const o = parseTreeArgs(argv, TREE_NAMES);
  if (!fs.existsSync(CAKE_MAIN)) throw new Error(`${path.relative(process.cwd(), CAKE_MAIN)} is missing: run \`npm run build\` first (npm run bench does)`);
  for (const tool of ['mkfs.ext4', 'e2fsck', 'dumpe2fs', 'truncate', 'sync']) {
    if (run('which', [tool]).status !== 0) throw new Error(`${tool} is not on PATH (e2fsprogs / coreutils)`);
  }
  const policy = getCachePolicy();
  log(policy === 'cold'
    ? 'cache: cold, the page cache is dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every timed run'
    : 'cache: warm, cannot drop the page cache (not root); each tool runs once untimed before the timed runs');
  const built = distBuilt();
  const started = Date.now();
  const results = [];
  for (const t of o.trees) results.push(await benchTree(t, o.runs, policy));
  return finishRun(results, { runs: o.runs, policy }, built, started);
}

// ---------------------------------------------------------------------------------------
// Report

/** Checks the issue's targets against a set of tree results. */
export function targetChecks(byTree) {
  const out = [];
  for (const t of TARGETS.ratio.trees) {
    const r = byTree[t];
    if (!r || r.skipped || r.error || r.ratio === undefined) out.push({ tree: t, what: `ratio ≤ ${TARGETS.ratio.max.toFixed(1)}`, status: 'not measured' });
    else {
      const ok = r.ratio <= TARGETS.ratio.max;
      const okD = r.ratioDurable <= TARGETS.ratio.max;
      out.push({ tree: t, what: `ratio ≤ ${TARGETS.ratio.max.toFixed(1)}`, status: `${ok ? 'met' : 'NOT met'}: ${r.ratio.toFixed(2)} (with fsync of the image: ${r.ratioDurable.toFixed(2)}, ${okD ? 'met' : 'not met'})` });
    }
  }
  for (const t of TARGETS.rss.trees) {
    const r = byTree[t];
    if (!r || r.skipped || r.error || !r.cake?.peakRssKiB) out.push({ tree: t, what: 'cake-img peak RSS ≤ 300 MB', status: 'not measured' });
    else {
      const b = r.cake.peakRssKiB * 1024;
      out.push({ tree: t, what: 'cake-img peak RSS ≤ 300 MB', status: `${b <= TARGETS.rss.maxBytes ? 'met' : 'NOT met'}: ${(b / MB).toFixed(0)} MB (${fmtBytes(b)})` });
    }
  }
  return out;
}

/** Renders the markdown section from all results kept so far (this run's and older ones). */
export function render(data) {
  const L = [];
  const rows = TREE_NAMES.map((t) => data.items[t]).filter(Boolean);
  L.push('## mkfs: `cake-img mkfs` vs `mkfs.ext4 -d`');
  L.push('');
  L.push('Targets (from the issue): time ratio cake-img / mke2fs ≤ 1.0 on the Debian minbase and the synthetic tree; cake-img peak RSS ≤ 300 MB (300 × 10⁶ bytes) on the synthetic tree.');
  L.push('');
  L.push('| tree | files | bytes | entries | image size | cake-img median | mke2fs median | ratio | cake-img + fsync | ratio with fsync | cake-img peak RSS | mke2fs peak RSS | e2fsck -fn (cake-img) | measured |');
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  for (const r of rows) {
    const s = r.stats ?? {};
    if (r.skipped && !r.cake) {
      L.push(`| ${r.name} | – | – | – | – | – | – | – | – | – | – | – | – | skipped ${r.date ?? ''} |`);
      continue;
    }
    if (r.error) {
      L.push(`| ${r.name} | ${fmtInt(s.files)} | ${fmtBytes(s.bytes)} | ${fmtInt(s.entries)} | ${fmtBytes(r.sizeBytes)} | FAILED | | | | | | | | ${r.date} |`);
      continue;
    }
    const fk = r.fsck.failed === 0 ? `clean ${r.fsck.checked}/${r.fsck.checked}` : `**FAILED ${r.fsck.failed}/${r.fsck.checked}**`;
    L.push(`| ${r.name} | ${fmtInt(s.files)} | ${fmtBytes(s.bytes)} | ${fmtInt(s.entries)} | ${fmtBytes(r.sizeBytes)} | ${fmtSec(r.cake.median)} | ${fmtSec(r.mke2fs.median)} | **${r.ratio.toFixed(2)}** | ${fmtSec(r.cake.medianDurable)} | ${r.ratioDurable.toFixed(2)} | ${fmtBytes(r.cake.peakRssKiB * 1024)} | ${fmtBytes(r.mke2fs.peakRssKiB * 1024)} | ${fk} | ${r.date}, ${r.runs} runs, ${r.policy} cache |`);
  }
  renderFooter(L, rows, data, targetChecks(data.items));
  L.push('');
  L.push('Columns: *files* are regular files counted by inode, *bytes* their sizes, *entries* every name below the root (dirs, symlinks, hard-link names included). Times are medians of whole-command wall times; *+ fsync* adds `sync IMG` after the command (cake-img does not fsync its output, mkfs.ext4 does), so *ratio with fsync* compares durable images. Peak RSS is GNU time\'s maximum resident set size. *cold cache*: `sync; echo 3 > /proc/sys/vm/drop_caches` before every timed run; *warm cache*: one untimed run first.');
  L.push('');
  L.push('Commands (image size: cake-img\'s `--size auto` figure, raised only if mkfs.ext4 cannot fit the tree; mkfs.ext4 gets cake-img\'s inode count):');
  L.push('');
  L.push('```');
  L.push('node dist/cli/main.js mkfs TREE cake.img --size BYTES');
  L.push(`truncate -s BYTES mke2fs.img; mkfs.ext4 ${mke2fsArgs('TREE', 'mke2fs.img', 'INODES').join(' ')}`);
  L.push('e2fsck -fn cake.img   # every run; a wrong image would make the timing worthless');
  L.push('```');
  L.push('');
  L.push('Trees:');
  L.push('');
  for (const r of rows) {
    if (r.skipped && !r.cake) L.push(`- ${r.name}: **skipped**: ${r.skipped}`);
    else {
      const s = r.stats ?? {};
      L.push(`- ${r.name} (${r.title}): ${r.how}. ${fmtInt(s.dirs)} dirs, ${fmtInt(s.symlinks)} symlinks, ${fmtInt(s.hardLinkNames)} extra hard-link names, ${fmtInt(s.other)} other (devices, fifos, sockets).`);
    }
  }
  const notes = [];
  for (const r of rows) {
    if (r.error) notes.push(`${r.name}: ERROR: ${r.error}`);
    for (const n of r.notes ?? []) notes.push(`${r.name}: ${n}`);
    if (r.geometry) {
      const g = r.geometry;
      notes.push(`${r.name}: free blocks after writing: cake-img ${fmtInt(g.cake.freeBlocks)}, mke2fs ${fmtInt(g.mke2fs.freeBlocks)}; free inodes: ${fmtInt(g.cake.freeInodes)} vs ${fmtInt(g.mke2fs.freeInodes)}; journal ${g.cake.journal} vs ${g.mke2fs.journal}.`);
    }
    if (r.cake && r.mke2fs) notes.push(`${r.name}: CPU (user+sys) medians: cake-img ${fmtSec(r.cake.medianCpu)}, mke2fs ${fmtSec(r.mke2fs.medianCpu)}; all wall times cake-img [${r.cake.runs.map((x) => x.wall.toFixed(2)).join(', ')}] s, mke2fs [${r.mke2fs.runs.map((x) => x.wall.toFixed(2)).join(', ')}] s.`);
    if (r.cake && r.mke2fs) {
      const o = [...r.cake.runs, ...r.mke2fs.runs].filter((x) => typeof x.othersCpu === 'number');
      if (o.length) {
        const long = o.filter((x) => x.wall >= 1); // shorter runs: /proc/stat's 10 ms ticks are too coarse
        const worst = long.length ? Math.max(...long.map((x) => x.othersCpu / x.wall)) : null;
        notes.push(`${r.name}: CPU used by the rest of the machine (other processes, kernel writeback) during the timed runs: ${o.reduce((acc, x) => acc + x.othersCpu, 0).toFixed(1)} s in all${worst === null ? '' : `; at most ${(100 * worst).toFixed(0)}% of one core during a run`}.`);
      }
    }
    if (r.skippedLater) notes.push(`${r.name}: the latest attempt (${r.skippedLater.date}) was skipped: ${r.skippedLater.reason}; the row is from the earlier run.`);
  }
  renderNotes(L, notes);
  return L.join('\n');
}
