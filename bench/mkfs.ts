// Benchmark `mkfs`: `cake-img mkfs TREE IMG` against `mkfs.ext4 -d TREE IMG` on the same
// trees and the same image size. Every cake-img image is checked with `e2fsck -fn`.
// cake-img runs with -v, so its reading, planning and writing are timed apart as well.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { e2fsck } from '../test/oracles/e2fsck.js';
import { cakeOrThrow, distBuilt, log, OUT_DIR, requireBuilt, requireTools, run, runOrThrow, which } from './host.js';
import {
  type Column, fmtBytes, fmtInt, fmtPhases, fmtRss, fmtSec, measuredColumn, renderSection, rowNotes, stagesParagraph, type TargetCheck, targetStatus, treeRows,
  walls,
} from './report.js';
import type { Benchmark, ItemBase, SectionData } from './results.js';
import { TREES, TREE_NAMES, type TreeName, prepareTree } from './trees.js';
import {
  dropCaches, finishRun, getCachePolicy, othersCpuNotes, parseTreeArgs, recordError, rotate, type RunSummary, summarizeRuns, timeCake, timeCommand, timed, timeFsync,
  type TimedRun,
} from './timing.js';

const MB = 1e6;

/** Targets from the issues: the first mkfs issue's, then the speed issue's (≤ 0.5 on Debian, warm). */
export const TARGETS = {
  ratio: { trees: ['debian', 'synthetic'], max: 1.0 },
  rss: { trees: ['synthetic'], maxBytes: 300 * MB },
  speed: { trees: ['debian'], max: 0.5 },
};

export interface Geometry {
  blocks: number;
  inodes: number;
  freeBlocks: number;
  freeInodes: number;
  inodesPerGroup: number;
  journal: string;
  features: string[];
}

export interface MkfsItem extends ItemBase {
  autoSize?: number;
  sizeBytes?: number;
  inodes?: number;
  geometry?: { cake: Geometry; mke2fs: Geometry };
  cake?: RunSummary;
  mke2fs?: RunSummary;
  /** The data floor: GNU tar copying the tree's bytes into one file (no filesystem at all). */
  floor?: RunSummary;
  /** `node -e 0` in the same rounds: what any Node program pays before its first line. */
  nodeStart?: RunSummary;
  ratio?: number;
  ratioDurable?: number;
  floorRatio?: number;
  floorRatioDurable?: number;
  /** mkfs.ext4 -d under eatmydata (its fsyncs made no-ops): the non-durable like of cake-img's run. */
  mke2fsNoSync?: RunSummary;
  ratioNoSync?: number;
  floorRatioNoSync?: number;
  /** (data floor + node -e 0) over mke2fs: the least a Node program can score, durable and not. */
  nodeFloorRatioDurable?: number;
  nodeFloorRatioNoSync?: number;
  fsck?: { checked: number; failed: number; failures: string[] };
}

const PHASES = ['read', 'plan', 'write'];

function cakeArgs(tree: string, img: string, size: number | string, verbose = false): string[] {
  return ['mkfs', tree, img, '--size', String(size), ...(verbose ? ['-v'] : [])];
}

export function mke2fsArgs(tree: string, img: string, inodes: number | string): string[] {
  return [
    '-q', '-F', '-t', 'ext4', '-O', '^64bit,^resize_inode', '-b', '4096', '-I', '256', '-N', String(inodes),
    '-E', 'lazy_itable_init=0,lazy_journal_init=0', '-d', tree, img,
  ];
}

/** The fields of `dumpe2fs -h` that both tools should agree on (or that explain a difference). */
export function geometry(img: string): Geometry {
  const r = run('dumpe2fs', ['-h', img]);
  const get = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(r.stdout)?.[1]?.trim();
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

const rmImage = (img: string) => fs.rmSync(img, { force: true });

function makeSparse(img: string, size: number): void {
  rmImage(img);
  runOrThrow('truncate', ['-s', String(size), img]);
}

/** One untimed cake-img run; returns the image size or throws. */
function cakeOnce(tree: string, img: string, size: number | 'auto'): number {
  rmImage(img);
  cakeOrThrow('mkfs', cakeArgs(tree, img, size));
  return fs.statSync(img).size;
}

function mke2fsOnce(tree: string, img: string, size: number, inodes: number) {
  makeSparse(img, size);
  return run('mkfs.ext4', mke2fsArgs(tree, img, inodes));
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/**
 * Sizing (untimed; doubles as the warm-up run of each tool): cake-img --size auto gives
 * the size; mkfs.ext4 -d gets the same size and cake-img's inode count. If mke2fs cannot
 * fit the tree there, both get a larger size.
 */
function sizeImages(res: MkfsItem, dir: string, cakeImg: string, mkeImg: string): { size: number; inodes: number } {
  log(`${res.name}: sizing with cake-img --size auto`);
  let size = cakeOnce(dir, cakeImg, 'auto');
  res.autoSize = size;
  for (let attempt = 0; ; attempt++) {
    // The fixed-size image (timed below) may differ from the auto one, e.g. in its inode
    // count: the image size and inode count mke2fs gets are read from this one.
    size = cakeOnce(dir, cakeImg, size);
    const inodes = geometry(cakeImg).inodes;
    log(`${res.name}: size ${size} bytes, ${inodes} inodes; checking that mkfs.ext4 -d fits the tree there`);
    const r = mke2fsOnce(dir, mkeImg, size, inodes);
    if (r.status === 0) return { size, inodes };
    const msg = `${r.stderr}${r.stdout}`.trim().split('\n').slice(-4).join(' | ');
    if (attempt >= 4) throw new Error(`mkfs.ext4 -d fails even at ${fmtBytes(size)}: ${msg}`);
    const bigger = roundUp(Math.ceil(size * 1.25), 4 << 20);
    res.notes!.push(`mkfs.ext4 -d could not fit the tree in ${fmtBytes(size)} (${msg}); both tools use ${fmtBytes(bigger)}.`);
    log(`${res.name}: ${res.notes!.at(-1)}`);
    size = bigger;
  }
}

/** Notes where the two images' geometry differs. */
function compareGeometry(res: MkfsItem, cakeImg: string, mkeImg: string): void {
  const gc = geometry(cakeImg);
  const gm = geometry(mkeImg);
  res.geometry = { cake: gc, mke2fs: gm };
  const diffs: string[] = [];
  for (const k of ['blocks', 'inodes', 'inodesPerGroup', 'journal'] as const) if (gc[k] !== gm[k]) diffs.push(`${k} ${gc[k]} vs ${gm[k]}`);
  const onlyC = gc.features.filter((f) => !gm.features.includes(f));
  const onlyM = gm.features.filter((f) => !gc.features.includes(f));
  if (onlyC.length || onlyM.length) diffs.push(`features only in cake-img: [${onlyC.join(' ')}], only in mke2fs: [${onlyM.join(' ')}]`);
  if (diffs.length) res.notes!.push(`geometry differs (cake-img vs mke2fs): ${diffs.join('; ')}`);
}

async function benchTree(treeName: string, runs: number, policy: string): Promise<MkfsItem> {
  const t = await prepareTree(treeName);
  if ('skipped' in t) return { name: treeName, skipped: t.skipped };
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const cakeImg = path.join(OUT_DIR, `${treeName}.cake.img`);
  const mkeImg = path.join(OUT_DIR, `${treeName}.mke2fs.img`);
  const floorFile = path.join(OUT_DIR, `${treeName}.floor.tar`);
  const res: MkfsItem = { name: treeName, title: TREES[treeName as TreeName].title, how: t.how, stats: t.stats, notes: [] };
  try {
    const { size, inodes } = sizeImages(res, t.dir, cakeImg, mkeImg);
    res.sizeBytes = size;
    res.inodes = inodes;
    const fkM = e2fsck(['-fn'], mkeImg);
    if (fkM.status !== 0) res.notes!.push(`the mkfs.ext4 image itself fails e2fsck -fn (exit ${fkM.status}): ${fkM.output.trim().split('\n').slice(0, 4).join(' | ')}`);
    compareGeometry(res, cakeImg, mkeImg);

    // Timed runs, cake-img and mke2fs alternating which goes first.
    const cake: TimedRun[] = [];
    const mke: TimedRun[] = [];
    const floor: TimedRun[] = [];
    const nodeStart: TimedRun[] = [];
    const mkeNoSync: TimedRun[] = [];
    const eatmydata = which('eatmydata');
    if (!eatmydata) res.notes!.push('no eatmydata on this machine (Debian package eatmydata): mkfs.ext4 was timed only with its own fsync, so there is no like-for-like non-durable ratio.');
    const fsckFails: string[] = [];
    for (let i = 0; i < runs; i++) {
      for (const tool of rotate(eatmydata ? ['cake', 'mke2fs', 'floor', 'node', 'mke2fs-nosync'] : ['cake', 'mke2fs', 'floor', 'node'], i)) {
        if (tool === 'node') {
          // Starting Node and exiting: cake-img's fixed cost, which mke2fs and tar do not pay.
          if (policy === 'cold') dropCaches();
          nodeStart.push(timed(timeCommand(process.execPath, ['-e', '0'])));
          continue;
        }
        if (tool === 'mke2fs-nosync') {
          // mke2fs fsyncs its image before it exits; cake-img does not. eatmydata makes
          // those fsyncs no-ops, so this run is as (non-)durable as cake-img's.
          makeSparse(mkeImg, size);
          if (policy === 'cold') dropCaches();
          const r = timeCommand(eatmydata!, ['mkfs.ext4', ...mke2fsArgs(t.dir, mkeImg, inodes)]);
          if (r.status !== 0) throw new Error(`eatmydata mkfs.ext4 -d failed in run ${i + 1}: ${r.stderr.trim()}`);
          mkeNoSync.push(timed(r, { fsync: timeFsync(mkeImg) }));
          continue;
        }
        if (tool === 'floor') {
          // What any tool must at least do: read every file and write its bytes into one
          // file (a tar stream: headers, data, padding; no filesystem to lay out).
          rmImage(floorFile);
          if (policy === 'cold') dropCaches();
          const r = timeCommand('tar', ['-cf', floorFile, '-C', t.dir, '.']);
          if (r.status !== 0) throw new Error(`tar (the data floor) failed in run ${i + 1}: ${r.stderr.trim()}`);
          floor.push(timed(r, { fsync: timeFsync(floorFile) }));
          continue;
        }
        if (tool === 'cake') {
          rmImage(cakeImg);
          if (policy === 'cold') dropCaches();
          const r = timeCake(cakeArgs(t.dir, cakeImg, size, true));
          if (r.status !== 0) throw new Error(`cake-img mkfs failed in run ${i + 1} (exit ${r.status}): ${r.stderr.trim().split('\n').slice(0, 8).join('\n')}`);
          const fsync = timeFsync(cakeImg);
          const got = fs.statSync(cakeImg).size;
          if (got !== size) throw new Error(`cake-img image is ${got} bytes, expected ${size}`);
          const fk = e2fsck(['-fn'], cakeImg);
          if (fk.status !== 0) fsckFails.push(`run ${i + 1}: exit ${fk.status}: ${fk.output.trim().split('\n').slice(0, 12).join(' | ')}`);
          cake.push(timed(r, { fsync }));
          log(`${treeName}: run ${i + 1}/${runs} cake-img ${fmtSec(r.wall)} (+fsync ${fmtSec(fsync)}; ${fmtPhases(summarizeRuns([r]), PHASES)}), peak RSS ${fmtBytes((r.rssKiB ?? 0) * 1024)}, e2fsck -fn ${fk.status === 0 ? 'clean' : 'FAILED'}`);
        } else {
          makeSparse(mkeImg, size);
          if (policy === 'cold') dropCaches();
          const r = timeCommand('mkfs.ext4', mke2fsArgs(t.dir, mkeImg, inodes));
          if (r.status !== 0) throw new Error(`mkfs.ext4 -d failed in run ${i + 1}: ${r.stderr.trim()}`);
          const fsync = timeFsync(mkeImg);
          mke.push(timed(r, { fsync }));
          log(`${treeName}: run ${i + 1}/${runs} mkfs.ext4 ${fmtSec(r.wall)} (+fsync ${fmtSec(fsync)}), peak RSS ${fmtBytes((r.rssKiB ?? 0) * 1024)}`);
        }
      }
    }
    res.cake = summarizeRuns(cake);
    res.mke2fs = summarizeRuns(mke);
    res.floor = summarizeRuns(floor);
    res.nodeStart = summarizeRuns(nodeStart);
    res.ratio = res.cake.median! / res.mke2fs.median!;
    res.ratioDurable = res.cake.medianDurable! / res.mke2fs.medianDurable!;
    res.floorRatio = res.floor.median! / res.mke2fs.median!;
    res.floorRatioDurable = res.floor.medianDurable! / res.mke2fs.medianDurable!;
    res.nodeFloorRatioDurable = (res.floor.medianDurable! + res.nodeStart.median!) / res.mke2fs.medianDurable!;
    if (mkeNoSync.length) {
      res.mke2fsNoSync = summarizeRuns(mkeNoSync);
      res.ratioNoSync = res.cake.median! / res.mke2fsNoSync.median!;
      res.floorRatioNoSync = res.floor.median! / res.mke2fsNoSync.median!;
      res.nodeFloorRatioNoSync = (res.floor.median! + res.nodeStart.median!) / res.mke2fsNoSync.median!;
    }
    res.fsck = { checked: cake.length, failed: fsckFails.length, failures: fsckFails };
    if (fsckFails.length) res.notes!.push(`e2fsck -fn FAILED on ${fsckFails.length} of ${cake.length} cake-img images: ${fsckFails[0]}`);
  } catch (e) {
    recordError(res, e);
  } finally {
    rmImage(cakeImg);
    rmImage(mkeImg);
    rmImage(floorFile);
  }
  return res;
}

async function main(argv: string[]) {
  const o = parseTreeArgs(argv, TREE_NAMES);
  requireBuilt();
  requireTools([['tar', 'tar'], ['mkfs.ext4', 'e2fsprogs'], ['e2fsck', 'e2fsprogs'], ['dumpe2fs', 'e2fsprogs'], ['truncate', 'coreutils'], ['sync', 'coreutils']]);
  const policy = getCachePolicy();
  const built = distBuilt();
  const started = Date.now();
  const results: MkfsItem[] = [];
  for (const t of o.trees) results.push(await benchTree(t, o.runs, policy));
  return finishRun(results, { runs: o.runs, policy }, built, started);
}

// ---------------------------------------------------------------------------------------
// Report

/** Checks the targets against a set of tree results. */
export function targetChecks(byTree: Record<string, MkfsItem>): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const t of TARGETS.ratio.trees) {
    const r = byTree[t];
    const ok = r && !r.skipped && !r.error && typeof r.ratio === 'number';
    const durable = ok ? ` (with fsync of the image: ${r.ratioDurable!.toFixed(2)}, ${r.ratioDurable! <= TARGETS.ratio.max ? 'met' : 'not met'})` : '';
    out.push({ tree: t, what: `ratio ≤ ${TARGETS.ratio.max.toFixed(1)}`, status: targetStatus(ok ? r.ratio : null, TARGETS.ratio.max, durable) });
  }
  for (const t of TARGETS.speed.trees) {
    const r = byTree[t];
    const ok = r && !r.skipped && !r.error && typeof r.ratio === 'number';
    // Judged like for like: both durable (cake-img + fsync against mke2fs, which fsyncs),
    // and both not (against mke2fs under eatmydata). The floor says whether the target can
    // be met at all: no mkfs takes less time than copying the tree's bytes once.
    const what = `ratio ≤ ${TARGETS.speed.max.toFixed(1)} (the speed issue, warm cache; like for like)`;
    if (!ok || typeof r.floorRatioDurable !== 'number') {
      out.push({ tree: t, what, status: 'not measured' });
      continue;
    }
    const pairs: [string, number, number, number | undefined][] = [['durable', r.ratioDurable!, r.floorRatioDurable, r.nodeFloorRatioDurable]];
    if (typeof r.ratioNoSync === 'number') pairs.push(['not durable', r.ratioNoSync, r.floorRatioNoSync!, r.nodeFloorRatioNoSync]);
    const met = pairs.every(([, v]) => v <= TARGETS.speed.max);
    const withNode = (n: number | undefined) => (typeof n === 'number' ? `; with \`node -e 0\` added, the least a Node program can score: ${n.toFixed(2)}` : '');
    const parts = pairs.map(([k, v, f, n]) => `${k} ${v.toFixed(2)} (the data floor, GNU tar of the tree into one file: ${f.toFixed(2)}${withNode(n)})`);
    const below = pairs.every(([, , f]) => f > TARGETS.speed.max)
      ? '; the target is below the floor itself'
      : pairs.every(([, , , n]) => typeof n === 'number' && n > TARGETS.speed.max) ? '; the target is below the floor of any Node program' : '';
    out.push({ tree: t, what, status: `${met ? 'met' : 'NOT met'}: ${parts.join('; ')}${below}` });
  }
  for (const t of TARGETS.rss.trees) {
    const r = byTree[t];
    const b = r && !r.skipped && !r.error && r.cake?.peakRssKiB ? r.cake.peakRssKiB * 1024 : null;
    const what = 'cake-img peak RSS ≤ 300 MB';
    if (b === null) out.push({ tree: t, what, status: 'not measured' });
    else out.push({ tree: t, what, status: `${b <= TARGETS.rss.maxBytes ? 'met' : 'NOT met'}: ${(b / MB).toFixed(0)} MB (${fmtBytes(b)})` });
  }
  return out;
}

const COLUMNS: Column<MkfsItem>[] = [
  { head: 'tree', cell: (r) => r.name },
  { head: 'files', right: true, tree: true, cell: (r) => fmtInt(r.stats?.files) },
  { head: 'bytes', right: true, tree: true, cell: (r) => fmtBytes(r.stats?.bytes) },
  { head: 'entries', right: true, tree: true, cell: (r) => fmtInt(r.stats?.entries) },
  { head: 'image size', right: true, tree: true, cell: (r) => fmtBytes(r.sizeBytes) },
  { head: 'cake-img median', right: true, cell: (r) => fmtSec(r.cake!.median) },
  { head: 'mke2fs median', right: true, cell: (r) => fmtSec(r.mke2fs!.median) },
  { head: 'ratio', right: true, cell: (r) => `**${r.ratio!.toFixed(2)}**` },
  { head: 'cake-img + fsync', right: true, cell: (r) => fmtSec(r.cake!.medianDurable) },
  { head: 'ratio with fsync', right: true, cell: (r) => r.ratioDurable!.toFixed(2) },
  { head: 'data floor (tar) / mke2fs', right: true, cell: (r) => (typeof r.floorRatio === 'number' ? `${r.floorRatio.toFixed(2)} (${r.floorRatioDurable!.toFixed(2)} with fsync)` : '') },
  { head: 'ratio / floor to mke2fs without fsync', right: true, cell: (r) => (typeof r.ratioNoSync === 'number' ? `${r.ratioNoSync.toFixed(2)} / ${r.floorRatioNoSync!.toFixed(2)}` : '') },
  { head: 'cake-img read / plan / write', right: true, cell: (r) => fmtPhases(r.cake, PHASES) },
  { head: 'cake-img peak RSS', right: true, cell: (r) => fmtRss(r.cake) },
  { head: 'mke2fs peak RSS', right: true, cell: (r) => fmtRss(r.mke2fs) },
  { head: 'e2fsck -fn (cake-img)', cell: (r) => (r.fsck!.failed === 0 ? `clean ${r.fsck!.checked}/${r.fsck!.checked}` : `**FAILED ${r.fsck!.failed}/${r.fsck!.checked}**`) },
  measuredColumn(),
];

/** Renders the markdown section from all results kept so far (this run's and older ones). */
export function render(data: SectionData<MkfsItem>): string {
  const rows = treeRows(data);
  const body = [
    '',
    'Columns: *files* are regular files counted by inode, *bytes* their sizes, *entries* every name below the root (dirs, symlinks, hard-link names included). Times are medians of whole-command wall times; *+ fsync* adds `sync IMG` after the command (cake-img does not fsync its output, mkfs.ext4 does), so *ratio with fsync* compares durable images. *data floor*: `tar -cf floor.tar -C TREE .` in the same rounds, the least any tool must do (read every file once and write its bytes into one file), over mke2fs; no mkfs can have a ratio below it. `node -e 0`, in the same rounds too, is what any Node program pays before its first line: the floor plus it is the least cake-img can score. *without fsync*: mkfs.ext4 -d under `eatmydata` (its fsyncs made no-ops), as non-durable as cake-img\'s run; cake-img\'s ratio and the floor\'s against it. Peak RSS is GNU time\'s maximum resident set size. *cold cache*: `sync; echo 3 > /proc/sys/vm/drop_caches` before every timed run; *warm cache*: one untimed run first.',
    ...stagesParagraph(rows, PHASES, 'mkfs', 'reading the tree, planning the filesystem (pure, in memory) and writing it', 'starting Node and the CLI'),
    '',
    'Commands (image size: cake-img\'s `--size auto` figure, raised only if mkfs.ext4 cannot fit the tree; mkfs.ext4 gets cake-img\'s inode count):',
    '',
    '```',
    'node dist/cli/main.js mkfs TREE cake.img --size BYTES',
    `truncate -s BYTES mke2fs.img; mkfs.ext4 ${mke2fsArgs('TREE', 'mke2fs.img', 'INODES').join(' ')}`,
    'e2fsck -fn cake.img   # every run; a wrong image would make the timing worthless',
    'tar -cf floor.tar -C TREE .   # the data floor',
    'node -e 0                      # starting Node',
    `eatmydata mkfs.ext4 ...   # the same mkfs.ext4 command, its fsyncs made no-ops`,
    '```',
    '',
    'Trees:',
    '',
    ...rows.filter((r) => !r.skipped).map((r) => {
      const s = r.stats;
      return `- ${r.name} (${r.title}): ${r.how}. ${fmtInt(s?.dirs)} dirs, ${fmtInt(s?.symlinks)} symlinks, ${fmtInt(s?.hardLinkNames)} extra hard-link names, ${fmtInt(s?.other)} other (devices, fifos, sockets).`;
    }),
  ];
  const notes = rows.flatMap((r) => {
    const extra: string[] = [];
    const g = r.geometry;
    if (g) extra.push(`free blocks after writing: cake-img ${fmtInt(g.cake.freeBlocks)}, mke2fs ${fmtInt(g.mke2fs.freeBlocks)}; free inodes: ${fmtInt(g.cake.freeInodes)} vs ${fmtInt(g.mke2fs.freeInodes)}; journal ${g.cake.journal} vs ${g.mke2fs.journal}.`);
    if (r.cake && r.mke2fs) {
      const fl = r.floor ? `, tar (data floor) ${fmtSec(r.floor.medianCpu)}` : '';
      const flWalls = (r.floor ? `, tar ${walls(r.floor.runs)} (+ fsync: median ${fmtSec(r.floor.medianDurable)})` : '')
        + (r.mke2fsNoSync ? `, eatmydata mkfs.ext4 ${walls(r.mke2fsNoSync.runs)}` : '')
        + (r.nodeStart ? `, node -e 0 ${walls(r.nodeStart.runs)}` : '');
      extra.push(`CPU (user+sys) medians: cake-img ${fmtSec(r.cake.medianCpu)}, mke2fs ${fmtSec(r.mke2fs.medianCpu)}${fl}; all wall times cake-img ${walls(r.cake.runs)}, mke2fs ${walls(r.mke2fs.runs)}${flWalls}.`);
      extra.push(...othersCpuNotes([...r.cake.runs, ...r.mke2fs.runs, ...(r.floor?.runs ?? []), ...(r.mke2fsNoSync?.runs ?? [])]));
    }
    return rowNotes(r, extra);
  });
  return renderSection({
    heading: '## mkfs: `cake-img mkfs` vs `mkfs.ext4 -d`',
    targets: 'Targets (from the issues): time ratio cake-img / mke2fs ≤ 1.0 on the Debian minbase and the synthetic tree; cake-img peak RSS ≤ 300 MB (300 × 10⁶ bytes) on the synthetic tree; then (the speed issue) ≤ 0.5 on the Debian minbase, warm cache, checked against the data floor.',
    columns: COLUMNS, rows, data, checks: targetChecks(data.items), body, notes,
  }).join('\n');
}

export const benchmark: Benchmark<MkfsItem> = {
  name: 'mkfs',
  description: 'cake-img mkfs vs mkfs.ext4 -d on a busybox rootfs, a Debian minbase and a synthetic 100k-file tree',
  usage: 'mkfs [--trees busybox,debian,synthetic] [--runs N]',
  main,
  render,
};
