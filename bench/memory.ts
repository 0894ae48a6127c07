// Benchmark `memory`: peak RSS of `cake-img mkfs` on synthetic trees of many small files
// (300 dirs × 1,000 files, 1,000 dirs × 1,000 files, 100 bytes each) against
// `mkfs.ext4 -d` of the same tree into an image of the same size and inode count. Peak RSS
// is GNU time's maximum resident set size; every cake-img image is checked with
// `e2fsck -fn`. The trees are made in bench/scratch/memory/ and deleted afterwards
// (--keep-trees keeps them for the next run).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { e2fsck } from '../test/oracles/e2fsck.js';
import { distBuilt, log, OUT_DIR, requireBuilt, requireTools, run, runOrThrow, WORK_DIR } from './host.js';
import { geometry, mke2fsArgs } from './mkfs.js';
import { type Column, fmtBytes, fmtInt, fmtPhases, fmtSec, measured, measuredColumn, renderSection, rowNotes, type TargetCheck } from './report.js';
import type { Benchmark, ItemBase, SectionData } from './results.js';
import { finishRun, othersCpuNotes, parseTreeArgs, recordError, type RunSummary, summarizeRuns, timeCake, timeCommand, timed } from './timing.js';
import type { TreeStats } from './trees.js';

const MB = 1e6;
const FILE_BYTES = 100;

/** The trees: directories × files per directory. */
const TREES = { '300k': { dirs: 300, files: 1000 }, '1m': { dirs: 1000, files: 1000 } } as const;
type TreeKey = keyof typeof TREES;
const TREE_KEYS = Object.keys(TREES) as TreeKey[];

/** Targets from the issue: ≤ 250 MB at 300k files, growing ≤ ~300 bytes per inode beyond. */
export const TARGETS = { rss: { tree: '300k', maxBytes: 250 * MB }, growth: { tree: '1m', from: '300k', maxBytesPerInode: 300 } };

const PHASES = ['read', 'plan', 'write'];

export interface MemoryItem extends ItemBase {
  sizeBytes?: number;
  inodes?: number;
  cake?: RunSummary;
  mke2fs?: RunSummary;
  /** Seconds it took to make the tree (not timed against anything). */
  makeSeconds?: number;
}

const treeDir = (name: string) => path.join(WORK_DIR, 'memory', name);

/** Deletes a tree and its marker: `rm -rf` (fs.rmSync takes minutes over 300,000 files). */
function removeTree(name: string): void {
  fs.rmSync(`${treeDir(name)}.json`, { force: true });
  runOrThrow('rm', ['-rf', '--one-file-system', treeDir(name)]);
}

/** Makes the tree (dirs × files of FILE_BYTES bytes, each file's content different); its stats. */
function makeTree(name: TreeKey): { dir: string; stats: TreeStats; seconds: number } {
  const { dirs, files } = TREES[name];
  const dir = treeDir(name);
  const marker = `${dir}.json`;
  const stats: TreeStats = { entries: dirs * (files + 1), dirs, files: dirs * files, bytes: dirs * files * FILE_BYTES, hardLinkNames: 0, symlinks: 0, other: 0 };
  if (fs.existsSync(marker) && fs.existsSync(dir)) {
    log(`tree ${name}: reusing ${dir}`);
    return { dir, stats, seconds: 0 };
  }
  removeTree(name);
  log(`tree ${name}: making ${fmtInt(dirs)} dirs × ${fmtInt(files)} files of ${FILE_BYTES} bytes in ${dir}`);
  const t0 = Date.now();
  const buf = Buffer.alloc(FILE_BYTES, 0x61);
  const stamp = new Date(1_700_000_000 * 1000);
  for (let d = 0; d < dirs; d++) {
    const sub = path.join(dir, `d${String(d).padStart(4, '0')}`);
    fs.mkdirSync(sub, { recursive: true });
    for (let f = 0; f < files; f++) {
      buf.write(`${d}/${f}\n`, 0); // every file different
      fs.writeFileSync(path.join(sub, `f${String(f).padStart(4, '0')}`), buf);
    }
    fs.utimesSync(sub, stamp, stamp);
    if ((d + 1) % 100 === 0) log(`  ${name}: ${fmtInt((d + 1) * files)} files`);
  }
  const seconds = (Date.now() - t0) / 1000;
  fs.writeFileSync(marker, `${JSON.stringify({ made: new Date().toISOString(), stats })}\n`);
  return { dir, stats, seconds };
}

/** Free bytes and inodes of the filesystem holding `dir` (df). */
function free(dir: string): { bytes: number; inodes: number } {
  fs.mkdirSync(dir, { recursive: true });
  const b = run('df', ['-B1', '--output=avail', dir]).stdout.trim().split('\n').pop();
  const i = run('df', ['--output=iavail', dir]).stdout.trim().split('\n').pop();
  return { bytes: Number(b), inodes: Number(i) };
}

/** Why a tree cannot be made here, or null: the tree (a 4 KiB block a file) and two images' worth of room, and its inodes. */
function noRoom(name: TreeKey): string | null {
  const { dirs, files } = TREES[name];
  const n = dirs * (files + 1);
  const needBytes = n * 4096 * 3; // the tree, and the image written by each tool in turn (with slack)
  const f = free(path.join(WORK_DIR, 'memory'));
  if (!Number.isFinite(f.bytes) || f.bytes < needBytes) return `not enough disk space for the ${name} tree and its image: ${fmtBytes(f.bytes)} free, ${fmtBytes(needBytes)} needed`;
  if (Number.isFinite(f.inodes) && f.inodes > 0 && f.inodes < n * 1.1) return `not enough free inodes for the ${name} tree: ${fmtInt(f.inodes)} free, ${fmtInt(n)} needed`;
  return null;
}

function benchTree(name: TreeKey, keep: boolean): MemoryItem {
  const { dirs, files } = TREES[name];
  const res: MemoryItem = { name, title: `${fmtInt(dirs)} dirs × ${fmtInt(files)} files of ${FILE_BYTES} bytes`, notes: [] };
  const why = fs.existsSync(`${treeDir(name)}.json`) ? null : noRoom(name);
  if (why) return { name, skipped: why };
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const cakeImg = path.join(OUT_DIR, `memory-${name}.cake.img`);
  const mkeImg = path.join(OUT_DIR, `memory-${name}.mke2fs.img`);
  try {
    const t = makeTree(name);
    res.stats = t.stats;
    res.how = `${fmtInt(dirs)} directories of ${fmtInt(files)} regular files, ${FILE_BYTES} bytes each (written by the benchmark, every file's content different)`;
    if (t.seconds) res.makeSeconds = t.seconds;
    log(`${name}: cake-img mkfs --size auto -v`);
    fs.rmSync(cakeImg, { force: true });
    const c = timeCake(['mkfs', t.dir, cakeImg, '--size', 'auto', '-v']);
    if (c.status !== 0) throw new Error(`cake-img mkfs failed (exit ${c.status}): ${c.stderr.trim().split('\n').slice(-6).join('\n')}`);
    res.sizeBytes = fs.statSync(cakeImg).size;
    res.inodes = geometry(cakeImg).inodes;
    log(`${name}: cake-img ${fmtSec(c.wall)}, peak RSS ${fmtBytes((c.rssKiB ?? 0) * 1024)}; image ${fmtBytes(res.sizeBytes)}, ${fmtInt(res.inodes)} inodes; e2fsck -fn`);
    const fk = e2fsck(['-fn'], cakeImg);
    res.fsck = { checked: 1, failed: fk.status === 0 ? 0 : 1 };
    if (fk.status !== 0) res.notes!.push(`e2fsck -fn FAILED on cake-img's image (exit ${fk.status}): ${fk.output.trim().split('\n').slice(0, 6).join(' | ')}`);
    fs.rmSync(cakeImg, { force: true });
    log(`${name}: mkfs.ext4 -d into ${fmtBytes(res.sizeBytes)}, ${fmtInt(res.inodes)} inodes`);
    fs.rmSync(mkeImg, { force: true });
    runOrThrow('truncate', ['-s', String(res.sizeBytes), mkeImg]);
    const m = timeCommand('mkfs.ext4', mke2fsArgs(t.dir, mkeImg, res.inodes));
    if (m.status !== 0) throw new Error(`mkfs.ext4 -d failed (exit ${m.status}): ${m.stderr.trim().split('\n').slice(-4).join(' | ')}`);
    log(`${name}: mkfs.ext4 ${fmtSec(m.wall)}, peak RSS ${fmtBytes((m.rssKiB ?? 0) * 1024)}`);
    res.cake = summarizeRuns([timed(c)]);
    res.mke2fs = summarizeRuns([timed(m)]);
    res.notes!.push(...othersCpuNotes([c, m]));
  } catch (e) {
    recordError(res, e);
  } finally {
    fs.rmSync(cakeImg, { force: true });
    fs.rmSync(mkeImg, { force: true });
    if (!keep) {
      log(`tree ${name}: deleting it`);
      removeTree(name);
    }
  }
  return res;
}

async function main(argv: string[]) {
  const keep = argv.includes('--keep-trees');
  const o = parseTreeArgs(argv.filter((a) => a !== '--keep-trees'), TREE_KEYS, TREE_KEYS, 1);
  if (o.runs !== 1) throw new Error('memory: one run per tree (peak RSS does not need a median); leave out --runs');
  requireBuilt();
  requireTools([['mkfs.ext4', 'e2fsprogs'], ['e2fsck', 'e2fsprogs'], ['dumpe2fs', 'e2fsprogs'], ['truncate', 'coreutils'], ['df', 'coreutils']]);
  const built = distBuilt();
  const started = Date.now();
  const results = o.trees.map((t) => benchTree(t as TreeKey, keep));
  return finishRun(results, { runs: 1, policy: 'warm' }, built, started);
}

// ---------------------------------------------------------------------------------------
// Report

const rssBytes = (s: RunSummary | undefined): number | null => (s?.peakRssKiB ? s.peakRssKiB * 1024 : null);
const fmtMB = (b: number | null): string => (b === null ? '–' : `${b < 10 * MB ? (b / MB).toFixed(1) : fmtInt(Math.round(b / MB))} MB`);

/** Bytes of peak RSS per inode from row `a` to row `b` (more inodes), of one tool. */
function growth(a: MemoryItem | undefined, b: MemoryItem | undefined, tool: 'cake' | 'mke2fs'): number | null {
  if (!measured(a) || !measured(b)) return null;
  const ra = rssBytes(a![tool]);
  const rb = rssBytes(b![tool]);
  const ia = a!.stats?.entries;
  const ib = b!.stats?.entries;
  if (ra === null || rb === null || !ia || !ib || ib <= ia) return null;
  return (rb - ra) / (ib - ia);
}

export function targetChecks(byName: Record<string, MemoryItem>): TargetCheck[] {
  const r = byName[TARGETS.rss.tree];
  const b = measured(r) ? rssBytes(r!.cake) : null;
  const g = growth(byName[TARGETS.growth.from], byName[TARGETS.growth.tree], 'cake');
  const max = TARGETS.growth.maxBytesPerInode;
  return [
    { tree: TARGETS.rss.tree, what: `cake-img mkfs peak RSS ≤ ${TARGETS.rss.maxBytes / MB} MB`, status: b === null ? 'not measured' : `${b <= TARGETS.rss.maxBytes ? 'met' : 'NOT met'}: ${fmtMB(b)} (${fmtBytes(b)})` },
    { tree: TARGETS.growth.tree, what: `cake-img mkfs peak RSS grows ≤ ~${max} bytes per inode beyond the ${TARGETS.growth.from} row`, status: g === null ? 'not measured' : `${g <= max ? 'met' : 'NOT met'}: ${fmtInt(Math.round(g))} bytes per inode` },
  ];
}

const COLUMNS: Column<MemoryItem>[] = [
  { head: 'tree', cell: (r) => r.name },
  { head: 'files', right: true, tree: true, cell: (r) => fmtInt(r.stats?.files) },
  { head: 'dirs', right: true, tree: true, cell: (r) => fmtInt(r.stats?.dirs) },
  { head: 'image size', right: true, tree: true, cell: (r) => fmtBytes(r.sizeBytes) },
  { head: 'inodes', right: true, tree: true, cell: (r) => fmtInt(r.inodes) },
  { head: 'cake-img peak RSS', right: true, cell: (r) => `**${fmtMB(rssBytes(r.cake))}**` },
  { head: 'mke2fs peak RSS', right: true, cell: (r) => fmtMB(rssBytes(r.mke2fs)) },
  { head: 'cake-img / mke2fs', right: true, cell: (r) => ((a, b) => (a && b ? (a / b).toFixed(1) : '–'))(rssBytes(r.cake), rssBytes(r.mke2fs)) },
  { head: 'cake-img bytes per entry', right: true, cell: (r) => ((b) => (b && r.stats ? fmtInt(Math.round(b / r.stats.entries)) : '–'))(rssBytes(r.cake)) },
  { head: 'cake-img time', right: true, cell: (r) => fmtSec(r.cake!.median) },
  { head: 'mke2fs time', right: true, cell: (r) => fmtSec(r.mke2fs!.median) },
  { head: 'cake-img read / plan / write', right: true, cell: (r) => fmtPhases(r.cake, PHASES) },
  { head: 'e2fsck -fn (cake-img)', cell: (r) => (r.fsck?.failed ? '**FAILED**' : 'clean') },
  measuredColumn(),
];

export function render(data: SectionData<MemoryItem>): string {
  const rows = TREE_KEYS.map((t) => data.items[t]).filter((r): r is MemoryItem => !!r);
  const gc = growth(data.items['300k'], data.items['1m'], 'cake');
  const gm = growth(data.items['300k'], data.items['1m'], 'mke2fs');
  const body = [
    '',
    `Columns: peak RSS is GNU time's maximum resident set size (\`/usr/bin/time -f %M\`), in MB of 10⁶ bytes; *bytes per entry*: cake-img's peak RSS over the tree's entries (files and directories). One run per tree. cake-img makes the image with \`--size auto\`; mkfs.ext4 gets a sparse file of that size and cake-img's inode count, with the mkfs benchmark's options. Times are wall times of the one run (they show the scale, not a comparison: see the mkfs section).`,
    '',
    `Beyond the 300k row (from 300k to 1m: ${rows.length === 2 && gc !== null ? fmtInt(data.items['1m']!.stats!.entries - data.items['300k']!.stats!.entries) : '–'} more entries), peak RSS grows by ${gc === null ? '–' : `**${fmtInt(Math.round(gc))} bytes per inode**`} for cake-img and ${gm === null ? '–' : `${fmtInt(Math.round(gm))} bytes per inode`} for mke2fs (one inode per entry: these trees have no hard links).`,
    '',
    '```',
    'node dist/cli/main.js mkfs TREE cake.img --size auto -v',
    `truncate -s BYTES mke2fs.img; mkfs.ext4 ${mke2fsArgs('TREE', 'mke2fs.img', 'INODES').join(' ')}`,
    'e2fsck -fn cake.img',
    '```',
    '',
    'Trees (made in bench/scratch/memory/ and deleted after the run):',
    '',
    ...rows.filter((r) => !r.skipped).map((r) => `- ${r.name}: ${r.how ?? r.title}.${r.makeSeconds ? ` Made in ${fmtSec(r.makeSeconds)}.` : ''}`),
  ];
  const notes = rows.flatMap((r) => rowNotes(r, r.cake && r.mke2fs ? [`CPU (user+sys): cake-img ${fmtSec(r.cake.medianCpu)}, mke2fs ${fmtSec(r.mke2fs.medianCpu)}.`] : []));
  return renderSection({
    heading: '## memory: peak RSS of `cake-img mkfs` vs `mkfs.ext4 -d` on trees of many small files',
    targets: `Targets (from the issue): cake-img mkfs peak RSS ≤ ${TARGETS.rss.maxBytes / MB} MB on ${fmtInt(TREES['300k'].dirs * TREES['300k'].files)} files, and growing by at most ~${TARGETS.growth.maxBytesPerInode} bytes per inode beyond that (measured at ${fmtInt(TREES['1m'].dirs * TREES['1m'].files)} files).`,
    columns: COLUMNS, rows, data, checks: targetChecks(data.items), body, notes,
  }).join('\n');
}

export const benchmark: Benchmark<MemoryItem> = {
  name: 'memory',
  description: 'peak RSS of cake-img mkfs vs mkfs.ext4 -d on 300 × 1,000 and 1,000 × 1,000 files of 100 bytes (made in bench/scratch/memory, deleted afterwards)',
  usage: 'memory [--trees 300k,1m] [--keep-trees]   (the 1m tree needs ~4 GB and 1M inodes; skipped with the reason when df says there is no room)',
  main,
  render,
};
