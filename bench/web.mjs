// Benchmark `web`: the page's bake (dist/web in headless Debian chromium, driven by
// playwright-core) against the CLI's `cake-img bake` of the same files: a rootfs tarball of
// the busybox and Debian minbase trees, Debian's kernel .deb, the extlinux and
// syslinux-common .debs (and busybox-static's .deb where the rootfs has no static busybox).
// The CLI is timed cold (a fresh cache: the kernel package unpacked and indexed) and warm
// (the unpacked kernel reused); the page from Build to the download link, which includes
// reading the kernel package twice at most, writing the image into OPFS and reading it back
// for its sha256 (the CLI does not hash). The two images must have the same sha256.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderFooter, renderNotes } from './results.mjs';
import { TREES, prepareTree } from './trees.mjs';
import { CHILD_ENV, REPO_DIR, WORK_DIR, debFile, distBuilt, finishRun, fmtSec, log, median, parseTreeArgs, runOrThrow, timeCommand } from './timing.mjs';

export const name = 'web';
export const description = "the page's bake in headless chromium vs cake-img bake of the same files (busybox and Debian minbase tarballs)";
export const usage = 'web [--trees busybox,debian] [--runs N]';

const CAKE_MAIN = path.join(REPO_DIR, 'dist', 'cli', 'main.js');
const DIR = path.join(WORK_DIR, 'web');
const SIZES = { busybox: '64M', debian: '1G', synthetic: '2G' };
const MODULES = 'virtio_pci,virtio_blk,ext4';
const OPTIONS = 'console=ttyS0';
export const TARGETS = { ratio: { max: 2 } };

const sha = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function kernelPackage() {
  const r = runOrThrow('apt-cache', ['depends', '--no-recommends', '--no-suggests', 'linux-image-amd64']);
  const pkg = /Depends: (linux-image-\S+)/.exec(r.stdout)?.[1];
  if (!pkg) throw new Error('apt-cache: no linux-image package behind linux-image-amd64');
  return debFile(pkg);
}

async function pageRun(session, files, size) {
  const { page } = session;
  await page.reload();
  await page.setInputFiles('input[name=rootfs]', files.rootfs);
  await page.setInputFiles('input[name=kernel]', files.kernel);
  await page.setInputFiles('input[name=syslinux]', files.syslinux);
  if (files.busybox) await page.setInputFiles('input[name=busybox]', files.busybox);
  await page.fill('input[name=size]', size);
  await page.fill('input[name=options]', OPTIONS);
  await page.fill('input[name=modules]', MODULES);
  const t0 = Date.now();
  await page.click('#build');
  await page.waitForSelector('#result:not([hidden]), #error:not([hidden])', { timeout: 1_800_000 });
  const wall = (Date.now() - t0) / 1000;
  if (await page.locator('#error').isVisible()) throw new Error(`page: ${await page.locator('#error').textContent()}`);
  return { wall, sha256: await page.locator('#sha256').getAttribute('data-sha256') };
}

export async function main(argv) {
  const started = Date.now();
  const o = parseTreeArgs(argv, Object.keys(TREES), ['busybox', 'debian']);
  const runs = o.runs ?? 1;
  const built = distBuilt();
  if (!built) throw new Error('dist/ is not built (npm run build)');
  const { buildWeb } = await import('../web/build.mjs');
  const { serveWeb } = await import('../web/serve.mjs');
  const { chromium } = await import('playwright-core');
  await buildWeb({ quiet: true });
  fs.mkdirSync(DIR, { recursive: true });
  const debs = { kernel: kernelPackage(), extlinux: debFile('extlinux'), common: debFile('syslinux-common'), busybox: debFile('busybox-static') };
  const sys = path.join(DIR, 'syslinux');
  if (!fs.existsSync(path.join(sys, 'usr/bin/extlinux'))) for (const d of [debs.extlinux, debs.common]) runOrThrow('dpkg-deb', ['-x', d.path, sys]);
  const results = [];
  const server = await serveWeb();
  const profile = fs.mkdtempSync(path.join(DIR, 'profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const session = { page: context.pages()[0] ?? (await context.newPage()) };
  await session.page.goto(server.url);
  try {
    for (const treeName of o.trees) {
      const tree = await prepareTree(treeName);
      if (tree.skipped) {
        results.push({ name: treeName, skipped: tree.skipped });
        continue;
      }
      const tar = path.join(DIR, `${treeName}.tar`);
      if (!fs.existsSync(tar)) runOrThrow('tar', ['-C', tree.dir, '--numeric-owner', '--sort=name', '-cf', tar, '.']);
      const size = SIZES[treeName];
      const hasOwnBusybox = fs.existsSync(path.join(tree.dir, 'bin/busybox')) && !fs.lstatSync(path.join(tree.dir, 'bin/busybox')).isSymbolicLink();
      const files = { rootfs: tar, kernel: debs.kernel.path, syslinux: [debs.extlinux.path, debs.common.path], busybox: hasOwnBusybox ? undefined : debs.busybox.path };
      const img = path.join(DIR, `${treeName}.img`);
      const cliArgs = [CAKE_MAIN, 'bake', '--rootfs', tar, '--kernel', debs.kernel.path, '--syslinux', path.join(sys, 'usr/bin/extlinux'), '--modules', MODULES, '--options', OPTIONS, '--size', size, '-o', img];
      const cold = [], warm = [], page = [];
      let cliSha = '', pageSha = '';
      for (let i = 0; i < runs; i++) {
        const cache = fs.mkdtempSync(path.join(DIR, 'cache-'));
        const env = { ...CHILD_ENV, XDG_CACHE_HOME: cache };
        log(`web ${treeName}: cake-img bake, fresh cache (run ${i + 1}/${runs})`);
        const c = timeCommand(process.execPath, cliArgs, { env });
        if (c.status !== 0) throw new Error(`cake-img bake failed: ${c.stderr}`);
        cold.push(c.wall);
        const w = timeCommand(process.execPath, cliArgs, { env });
        warm.push(w.wall);
        cliSha = sha(img);
        fs.rmSync(cache, { recursive: true, force: true });
        log(`web ${treeName}: the page (run ${i + 1}/${runs})`);
        const p = await pageRun(session, files, size);
        page.push(p.wall);
        pageSha = p.sha256;
      }
      fs.rmSync(img, { force: true });
      results.push({
        name: treeName, title: TREES[treeName].title, size, tarBytes: fs.statSync(tar).size, runs,
        cliCold: median(cold), cliWarm: median(warm), page: median(page), same: cliSha === pageSha, sha256: pageSha, busyboxDeb: !hasOwnBusybox,
      });
    }
  } finally {
    await context.close().catch(() => {});
    await server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  return finishRun(results, { stamp: new Date().toUTCString() }, built, started);
}

export function render(data) {
  const L = [];
  L.push("## web: the page's bake in chromium vs `cake-img bake`", '');
  L.push(`Target (from the issue): the page ≤ ${TARGETS.ratio.max}× the CLI.`, '');
  L.push('| tree | tarball | disk | cake-img bake, fresh cache | cake-img bake, kernel cached | the page (Build → download) | page / CLI fresh | page / CLI cached | same sha256 | measured |');
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  const rows = Object.values(data.items);
  for (const r of rows) {
    if (r.skipped) {
      L.push(`| ${r.name} | skipped: ${r.skipped} | | | | | | | | |`);
      continue;
    }
    L.push(`| ${r.name} | ${(r.tarBytes / 2 ** 20).toFixed(1)} MiB | ${r.size} | ${fmtSec(r.cliCold)} | ${fmtSec(r.cliWarm)} | ${fmtSec(r.page)} | **${(r.page / r.cliCold).toFixed(2)}** | ${(r.page / r.cliWarm).toFixed(2)} | ${r.same ? 'yes' : '**no**'} | ${r.stamp ?? r.date ?? ''}, ${r.runs} run${r.runs === 1 ? '' : 's'} |`);
  }
  L.push('');
  renderNotes(L, [
    'The page runs in headless Debian chromium (playwright-core, a persistent profile), on the same 2 cores as the CLI; the files are given with setInputFiles, timing runs from the Build click to the download link.',
    "The page's time includes what the CLI does not do: reading the image back from OPFS for its sha256, and xz in WebAssembly instead of the native xz that dpkg-deb uses. Its kernel package is read in-process (once, or twice when a module the first pass dropped is needed); the CLI's fresh-cache run unpacks it with dpkg-deb and indexes it with the same TypeScript depmod, its cached run reuses the unpacked tree.",
    'Debian minbase has no static busybox: the page is also given busybox-static\'s .deb, the CLI uses the host\'s busybox-static (the same file).',
  ]);
  const checks = rows.filter((r) => !r.skipped).map((r) => {
    const x = r.page / r.cliCold;
    return { tree: r.name, what: `the page ≤ ${TARGETS.ratio.max}× cake-img bake (fresh cache)`, status: `${x <= TARGETS.ratio.max ? 'met' : 'NOT met'}: ${x.toFixed(2)} (against the cached-kernel CLI: ${(r.page / r.cliWarm).toFixed(2)})` };
  });
  renderFooter(L, rows, data, checks);
  return L.join('\n');
}
