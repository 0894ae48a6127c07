// Benchmark `web`: the page's bake (dist/web in headless Debian chromium, driven by
// playwright-core) against the CLI's `cake-img bake` of the same files: a rootfs tarball of
// the busybox and Debian minbase trees, Debian's kernel .deb, the extlinux and
// syslinux-common .debs (and busybox-static's .deb where the rootfs has no static busybox).
// The CLI is timed cold (a fresh cache: the kernel package unpacked and indexed) and warm
// (the unpacked kernel reused); the page from Build to the download link, which includes
// reading the kernel package twice at most, writing the image into OPFS and reading it back
// for its sha256 (the CLI does not hash). The page bakes the MBR disk, so the CLI is given
// --firmware bios (hybrid is its default). The two images must have the same sha256.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { resolveDependency } from '../src/host/debian.js';
import { sha256File } from '../src/util/sha256-file.js';
import { CMDLINE, DEFAULT_TREES, MODULES, SIZES } from './bake-inputs.js';
import { CAKE_MAIN, CHILD_ENV, distBuilt, log, requireBuilt, runOrThrow, WORK_DIR } from './host.js';
import { boldRatio, type Column, fmtRatio, fmtSec, measured, renderSection, rowNotes, type TargetCheck, targetStatus, treeRows } from './report.js';
import type { Benchmark, ItemBase, SectionData } from './results.js';
import { benchDeb, prepareTree, TREES, TREE_NAMES, type TreeName } from './trees.js';
import { finishRun, median, parseTreeArgs, recordError, timeCommand } from './timing.js';

const DIR = path.join(WORK_DIR, 'web');

/** Target from the issue: the page ≤ 2 × the CLI (fresh cache). */
export const TARGETS = { ratio: { max: 2 } };

export interface WebItem extends ItemBase {
  size?: string;
  /** The rootfs tarball both are given. */
  tarBytes?: number;
  /** Medians (s): cake-img bake with a fresh cache, with the kernel cached, the page. */
  cliCold?: number;
  cliWarm?: number;
  page?: number;
  /** Median (s) until the page also shows the image's sha256 (read back from OPFS after the download is offered). */
  pageSha?: number;
  /** Every run's wall time (s). */
  walls?: { cliCold: number[]; cliWarm: number[]; page: number[]; pageSha?: number[] };
  /** The page's image has the CLI's sha256. */
  same?: boolean;
  sha256?: string;
  /** The rootfs has no static busybox: the page was given busybox-static's .deb. */
  busyboxDeb?: boolean;
  /** The page's phases in its median run: name and when it began (s after Build), and the end. */
  pagePhases?: [string, number][];
}

interface PageFiles {
  rootfs: string;
  kernel: string;
  syslinux: string[];
  busybox?: string;
}

async function pageRun(page: Page, files: PageFiles, size: string): Promise<{ wall: number; withSha: number; sha256: string | null; phases: [string, number][] }> {
  await page.reload();
  await page.setInputFiles('input[name=rootfs]', files.rootfs);
  await page.setInputFiles('input[name=kernel]', files.kernel);
  await page.setInputFiles('input[name=syslinux]', files.syslinux);
  if (files.busybox) await page.setInputFiles('input[name=busybox]', files.busybox);
  await page.fill('input[name=size]', size);
  await page.fill('input[name=options]', CMDLINE);
  await page.fill('input[name=modules]', MODULES);
  const t0 = Date.now();
  await page.click('#build');
  await page.waitForSelector('#result:not([hidden]), #error:not([hidden])', { timeout: 1_800_000 });
  const wall = (Date.now() - t0) / 1000;
  if (await page.locator('#error').isVisible()) throw new Error(`page: ${await page.locator('#error').textContent()}`);
  // The download is offered first; the sha256 (the image read back from OPFS) follows.
  await page.waitForSelector('#sha256[data-sha256], #error:not([hidden])', { timeout: 1_800_000 });
  const withSha = (Date.now() - t0) / 1000;
  if (await page.locator('#error').isVisible()) throw new Error(`page: ${await page.locator('#error').textContent()}`);
  // The page keeps when each phase began (ms after Build) on its body.
  const log = JSON.parse((await page.evaluate(() => document.body.dataset.phases)) ?? '[]') as [string, number][];
  const phases: [string, number][] = [...log.map(([n, ms]): [string, number] => [n, ms / 1000]), ['done', withSha]];
  return { wall, withSha, sha256: await page.locator('#sha256').getAttribute('data-sha256'), phases };
}

/** [[name, start], ..., ['done', end]] → "name 1.2, name 3.4". */
export function phaseSpans(phases: [string, number][]): string {
  return phases.slice(0, -1).map(([n, t], i) => `${n} ${(phases[i + 1]![1] - t).toFixed(1)}`).join(', ');
}

async function main(argv: string[]) {
  const o = parseTreeArgs(argv, TREE_NAMES, DEFAULT_TREES);
  requireBuilt();
  const built = distBuilt();
  const started = Date.now();
  const { buildWeb } = await import('../web/build.mjs');
  const { serveWeb } = await import('../web/serve.mjs');
  const { chromium } = await import('playwright-core');
  await buildWeb({ quiet: true });
  fs.mkdirSync(DIR, { recursive: true });
  const debs = {
    kernel: await benchDeb(await resolveDependency('linux-image-amd64', 'linux-image-')),
    extlinux: await benchDeb('extlinux'),
    common: await benchDeb('syslinux-common'),
    busybox: await benchDeb('busybox-static'),
  };
  const sys = path.join(DIR, 'syslinux');
  if (!fs.existsSync(path.join(sys, 'usr/bin/extlinux'))) for (const d of [debs.extlinux, debs.common]) runOrThrow('dpkg-deb', ['-x', d.path, sys]);
  const results: WebItem[] = [];
  const server = await serveWeb();
  const profile = fs.mkdtempSync(path.join(DIR, 'profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.url);
  try {
    for (const treeName of o.trees) {
      const tree = await prepareTree(treeName);
      if ('skipped' in tree) {
        results.push({ name: treeName, skipped: tree.skipped });
        continue;
      }
      const size = SIZES[treeName]!;
      const res: WebItem = { name: treeName, title: TREES[treeName as TreeName].title, how: tree.how, stats: tree.stats, size, notes: [] };
      const img = path.join(DIR, `${treeName}.img`);
      try {
        const tar = path.join(DIR, `${treeName}.tar`);
        if (!fs.existsSync(tar)) runOrThrow('tar', ['-C', tree.dir, '--numeric-owner', '--sort=name', '-cf', tar, '.']);
        res.tarBytes = fs.statSync(tar).size;
        const ownBusybox = path.join(tree.dir, 'bin/busybox');
        const hasOwnBusybox = fs.existsSync(ownBusybox) && !fs.lstatSync(ownBusybox).isSymbolicLink();
        res.busyboxDeb = !hasOwnBusybox;
        const files: PageFiles = { rootfs: tar, kernel: debs.kernel.path, syslinux: [debs.extlinux.path, debs.common.path], ...(hasOwnBusybox ? {} : { busybox: debs.busybox.path }) };
        const cliArgs = [CAKE_MAIN, 'bake', '--firmware', 'bios', '--rootfs', tar, '--kernel', debs.kernel.path, '--syslinux', path.join(sys, 'usr/bin/extlinux'), '--modules', MODULES, '--options', CMDLINE, '--size', size, '-o', img];
        const walls = { cliCold: [] as number[], cliWarm: [] as number[], page: [] as number[], pageSha: [] as number[] };
        const pagePhases: [string, number][][] = [];
        const cliShas = new Set<string>();
        const pageShas = new Set<string | null>();
        for (let i = 0; i < o.runs; i++) {
          const cache = fs.mkdtempSync(path.join(DIR, 'cache-'));
          const env = { ...CHILD_ENV, XDG_CACHE_HOME: cache };
          try {
            log(`web ${treeName}: cake-img bake, fresh cache then kernel cached (run ${i + 1}/${o.runs})`);
            const c = timeCommand(process.execPath, cliArgs, { env });
            if (c.status !== 0) throw new Error(`cake-img bake failed: ${c.stderr.trim()}`);
            walls.cliCold.push(c.wall);
            const w = timeCommand(process.execPath, cliArgs, { env });
            if (w.status !== 0) throw new Error(`cake-img bake (kernel cached) failed: ${w.stderr.trim()}`);
            walls.cliWarm.push(w.wall);
            cliShas.add(sha256File(img).replace(/^sha256:/, ''));
          } finally {
            fs.rmSync(cache, { recursive: true, force: true });
          }
          log(`web ${treeName}: the page (run ${i + 1}/${o.runs})`);
          const p = await pageRun(page, files, size);
          walls.page.push(p.wall);
          walls.pageSha.push(p.withSha);
          pagePhases.push(p.phases);
          pageShas.add(p.sha256);
          log(`web ${treeName}: run ${i + 1}/${o.runs}: CLI ${fmtSec(walls.cliCold.at(-1))} fresh, ${fmtSec(walls.cliWarm.at(-1))} cached; page ${fmtSec(p.wall)}`);
        }
        res.walls = walls;
        res.cliCold = median(walls.cliCold)!;
        res.cliWarm = median(walls.cliWarm)!;
        res.page = median(walls.page)!;
        res.pageSha = median(walls.pageSha)!;
        res.pagePhases = pagePhases[walls.page.indexOf(res.page)] ?? pagePhases.at(-1);
        res.sha256 = [...pageShas][0] ?? undefined;
        res.same = cliShas.size === 1 && pageShas.size === 1 && cliShas.has([...pageShas][0]!);
        if (!res.same) res.notes!.push(`the images differ: the CLI's ${[...cliShas].join(', ')}, the page's ${[...pageShas].join(', ')}`);
        res.fsck = { checked: o.runs, failed: res.same ? 0 : o.runs }; // run.ts's exit code looks here
      } catch (e) {
        recordError(res, e);
      } finally {
        fs.rmSync(img, { force: true });
      }
      results.push(res);
    }
  } finally {
    await context.close().catch(() => {});
    await server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  return finishRun(results, { runs: o.runs }, built, started);
}

// ---------------------------------------------------------------------------------------
// Report

const ratio = (a: number | undefined, b: number | undefined): number | null => (typeof a === 'number' && typeof b === 'number' ? a / b : null);

export function targetChecks(rows: WebItem[]): TargetCheck[] {
  return rows.filter((r) => !r.skipped).map((r) => {
    const ok = measured(r);
    const warm = ratio(r.page, r.cliWarm);
    return {
      tree: r.name,
      what: `the page ≤ ${TARGETS.ratio.max}× cake-img bake (fresh cache)`,
      status: targetStatus(ok ? ratio(r.page, r.cliCold) : null, TARGETS.ratio.max, ok ? ` (against the cached-kernel CLI: ${fmtRatio(warm)})` : ''),
    };
  });
}

const COLUMNS: Column<WebItem>[] = [
  { head: 'tree', cell: (r) => r.name },
  { head: 'tarball', right: true, tree: true, cell: (r) => (typeof r.tarBytes === 'number' ? `${(r.tarBytes / 2 ** 20).toFixed(1)} MiB` : '–') },
  { head: 'disk', right: true, tree: true, cell: (r) => r.size ?? '–' },
  { head: 'cake-img bake, fresh cache', right: true, cell: (r) => fmtSec(r.cliCold) },
  { head: 'cake-img bake, kernel cached', right: true, cell: (r) => fmtSec(r.cliWarm) },
  { head: 'the page (Build → download)', right: true, cell: (r) => fmtSec(r.page) },
  { head: 'page / CLI fresh', right: true, cell: (r) => boldRatio(ratio(r.page, r.cliCold)) },
  { head: 'page / CLI cached', right: true, cell: (r) => fmtRatio(ratio(r.page, r.cliWarm)) },
  { head: 'the page, with its sha256', right: true, cell: (r) => fmtSec(r.pageSha) },
  { head: 'that / CLI fresh', right: true, cell: (r) => fmtRatio(ratio(r.pageSha, r.cliCold)) },
  { head: 'same sha256', cell: (r) => (r.same ? 'yes' : '**no**') },
  { head: 'measured', cell: (r) => `${r.date}, ${r.runs} run${r.runs === 1 ? '' : 's'}` },
];

export function render(data: SectionData<WebItem>): string {
  const rows = treeRows(data);
  const body = [
    '',
    'The page runs in headless Debian chromium (playwright-core, a persistent profile), on the same 2 cores as the CLI; the files are given with setInputFiles, timing runs from the Build click to the download link (the page offers the download as soon as the image is complete, then reads it back from OPFS for its sha256, which the CLI does not compute; *with its sha256* runs until that is shown too). Times are medians of wall times; the CLI\'s fresh-cache run and its cached run share a cache made for the round.',
    '',
    "The page's time includes what the CLI does not do: xz in WebAssembly instead of the native xz that dpkg-deb uses. Its kernel package is read in-process (once, or twice when a module the first pass dropped is needed); the CLI's fresh-cache run unpacks it with dpkg-deb and indexes it with the same TypeScript depmod, its cached run reuses the unpacked tree.",
    '',
    '```',
    `node dist/cli/main.js bake --firmware bios --rootfs TREE.tar --kernel linux-image-VERSION.deb --syslinux SYSLINUX/usr/bin/extlinux --modules ${MODULES} --options ${CMDLINE} --size SIZE -o IMG   # XDG_CACHE_HOME: fresh, then the same again`,
    '```',
  ];
  const notes = rows.flatMap((r) => {
    const extra: string[] = [];
    if (r.busyboxDeb) extra.push("the rootfs has no static busybox: the page is also given busybox-static's .deb, the CLI uses the host's busybox-static (the same file).");
    if (r.pagePhases) extra.push(`the page's phases (its median run; each phase's seconds): ${phaseSpans(r.pagePhases)}.`);
    if (r.walls) extra.push(`all wall times: CLI fresh [${r.walls.cliCold.map((x) => x.toFixed(2)).join(', ')}] s, CLI cached [${r.walls.cliWarm.map((x) => x.toFixed(2)).join(', ')}] s, page [${r.walls.page.map((x) => x.toFixed(2)).join(', ')}] s${r.walls.pageSha ? `, the page with its sha256 [${r.walls.pageSha.map((x) => x.toFixed(2)).join(', ')}] s` : ''}.`);
    return rowNotes(r, extra);
  });
  return renderSection({
    heading: "## web: the page's bake in chromium vs `cake-img bake`",
    targets: `Target (from the issue): the page ≤ ${TARGETS.ratio.max}× the CLI.`,
    columns: COLUMNS, rows, data, checks: targetChecks(rows), body, notes,
  }).join('\n');
}

export const benchmark: Benchmark<WebItem> = {
  name: 'web',
  description: "the page's bake in headless chromium vs cake-img bake of the same files (busybox and Debian minbase tarballs)",
  usage: 'web [--trees busybox,debian] [--runs N]',
  main,
  render,
};
