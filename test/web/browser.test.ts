// End to end in a real browser: Debian's chromium driven by playwright-core (never a
// downloaded browser) loads the served page, checks its own backends (OPFS block device,
// lightning-fs SourceFs against the in-memory one), is given the fixture files (a busybox
// rootfs tarball, Debian's kernel, extlinux and syslinux-common packages), presses Build
// and downloads the disk. Its sha256 equals the CLI's for the same files and options; the
// page made no request to another origin; the disk boots in QEMU (TCG) to the marker.
// After a reload the inputs are still there (the lightning-fs workspace), and an overlay
// file typed into the page lands in the image through the lightning-fs SourceFs adapter.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cakeImg } from '../helpers/cli.js';
import { sha256File, tmpDir } from '../helpers/image.js';
import { BOOT_MARKER, type WebDebs, busyboxRootfsTarball, cliSyslinux, webDebs } from '../helpers/web-fixtures.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';
import { CHROMIUM, type WebSession, openPage } from './browser-session.js';

const work = tmpDir('cake-web-e2e-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const OPTIONS = 'console=ttyS0 panic=-1';
const MODULES = 'virtio_pci,virtio_blk,ext4';
const SCREENSHOT = path.resolve(import.meta.dirname, '../../docs/browser-page.png');

describe.skipIf(!(fs.existsSync(CHROMIUM) || process.env.CI) || !hasTool('apt-get') || !fs.existsSync('/bin/busybox'))('the page in chromium', () => {
  let debs: WebDebs;
  let tar = '';
  let s: WebSession;
  let pageImage = '';
  let pageSha = '';
  beforeAll(async () => {
    debs = await webDebs();
    tar = busyboxRootfsTarball(work);
    s = await openPage(path.join(work, 'profile'));
  }, 600_000);
  afterAll(async () => s?.close());

  it("the worker's own backends: OPFS block device round trip, lightning-fs SourceFs equals the in-memory one", async () => {
    const r = await s.page.evaluate(() => (window as unknown as { cakeSelfTest: () => Promise<Record<string, string>> }).cakeSelfTest());
    expect(r).toEqual({ opfs: 'ok', lightningfs: 'ok' });
  }, 120_000);

  it('bakes a disk from the picked files, offers it as a download, shows its sha256 and the CLI line', async () => {
    const { page } = s;
    await page.setInputFiles('input[name=rootfs]', tar);
    await page.setInputFiles('input[name=kernel]', debs.kernel);
    await page.setInputFiles('input[name=syslinux]', [debs.extlinux, debs.syslinuxCommon]);
    await page.fill('input[name=options]', OPTIONS);
    await page.fill('input[name=size]', '64M');
    await page.fill('input[name=modules]', MODULES);
    await page.click('#build');
    await page.waitForSelector('#result:not([hidden]), #error:not([hidden])', { timeout: 600_000 });
    expect(await page.locator('#error').isHidden(), await page.locator('#error').textContent() ?? '').toBe(true);
    // The download is offered first; the sha256 follows once the image is read back.
    await page.waitForSelector('#sha256[data-sha256]', { timeout: 600_000 });
    pageSha = (await page.locator('#sha256').getAttribute('data-sha256'))!;
    expect(pageSha).toMatch(/^[0-9a-f]{64}$/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    pageImage = path.join(work, 'page.img');
    await download.saveAs(pageImage);
    expect(sha256File(pageImage)).toBe(pageSha);
    expect(await page.locator('#command').textContent()).toContain(`--modules ${MODULES} --options '${OPTIONS}' --size 64M`);
    expect(await page.locator('#tree tbody tr').count()).toBeGreaterThan(5);
    await page.screenshot({ path: process.env.CAKE_WEB_SCREENSHOT === '1' ? SCREENSHOT : path.join(work, 'page.png'), fullPage: true });
  }, 900_000);

  it('"ext4 filesystem only" offers the partition of that disk: same bytes, e2fsck clean', async () => {
    const { page } = s;
    await page.selectOption('select[name=output]', 'ext4');
    await page.click('#build');
    await page.waitForSelector('#result:not([hidden]), #error:not([hidden])', { timeout: 600_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    await page.waitForSelector('#sha256[data-sha256]', { timeout: 600_000 });
    expect(download.suggestedFilename()).toBe('root.ext4');
    const fsImage = path.join(work, 'root.ext4');
    await download.saveAs(fsImage);
    const disk = fs.readFileSync(pageImage);
    expect(fs.readFileSync(fsImage).equals(disk.subarray(1 << 20))).toBe(true);
    expect(sha256File(fsImage)).toBe(await page.locator('#sha256').getAttribute('data-sha256'));
    execFileSync('e2fsck', ['-fn', fsImage], { stdio: 'ignore', env: { ...process.env, PATH: TOOL_PATH } });
    await page.selectOption('select[name=output]', 'disk');
  }, 900_000);

  it('a bad input shows the one error line', async () => {
    await s.page.fill('input[name=modules]', 'virtio_blk,ext5');
    await s.page.click('#build');
    await s.page.waitForSelector('#error:not([hidden])', { timeout: 300_000 });
    expect(await s.page.locator('#error').textContent()).toMatch(/^cake-img: error: --modules: no module "ext5" in .* \(close: ext4/);
    await s.page.fill('input[name=modules]', MODULES);
  }, 400_000);

  it('Cancel stops a build and leaves the page ready for the next', async () => {
    const { page } = s;
    await page.click('#build');
    await page.waitForSelector('#progress:not([hidden])');
    await page.click('#cancel');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.locator('#error').textContent()).toBe('cancelled');
    expect(await page.locator('#build').isEnabled()).toBe(true);
  }, 120_000);

  it('after a reload the picked files are still there (lightning-fs); an overlay file lands in the image with the owner asked for', async () => {
    const { page } = s;
    // The picks are kept once the page is idle (never during a build).
    await page.waitForFunction(() => document.body.dataset.kept === 'true', null, { timeout: 120_000 });
    await page.reload();
    await page.waitForFunction(() => /rootfs\.tar\.gz/.test(document.querySelector('#kept')?.textContent ?? ''), null, { timeout: 120_000 });
    const kept = await page.locator('#kept').textContent();
    for (const f of [debs.kernel, debs.extlinux, debs.syslinuxCommon]) expect(kept).toContain(path.basename(f));
    await page.fill('input[name=overlay-path]', '/etc/hostname');
    await page.fill('textarea[name=overlay-content]', 'baked-in-a-browser\n');
    await page.fill('input[name=overlay-mode]', '640');
    await page.fill('input[name=overlay-owner]', '1000:1001');
    await page.click('#overlay-add');
    await page.waitForSelector('#overlay-list li');
    await page.fill('input[name=options]', OPTIONS);
    await page.fill('input[name=size]', '64M');
    await page.click('#build');
    await page.waitForSelector('#result:not([hidden]), #error:not([hidden])', { timeout: 600_000 });
    expect(await page.locator('#error').isHidden(), await page.locator('#error').textContent() ?? '').toBe(true);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const img = path.join(work, 'overlay.img');
    await download.saveAs(img);
    const at = `${img}?offset=${1 << 20}`;
    expect(execFileSync('debugfs', ['-R', 'cat /etc/hostname', at], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, PATH: TOOL_PATH } })).toBe('baked-in-a-browser\n');
    const st = execFileSync('debugfs', ['-R', 'stat /etc/hostname', at], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, PATH: TOOL_PATH } });
    expect(st).toMatch(/User: +1000 +Group: +1001/);
    expect(st).toMatch(/Mode: +0640/);
    await page.click('#overlay-list button');
    await page.waitForFunction(() => !document.querySelector('#overlay-list li'));
  }, 900_000);

  it('made no request to another origin', () => {
    expect(s.requests.length).toBeGreaterThan(3);
    expect(s.requests.filter((u) => !u.startsWith(s.url) && !u.startsWith('blob:') && !u.startsWith('data:'))).toEqual([]);
  });

  it("equals the CLI's disk for the same files, and boots in QEMU to the marker", async () => {
    expect(pageImage).not.toBe('');
    await s.close(); // one heavy process at a time: the browser goes before QEMU starts
    const img = path.join(work, 'cli.img');
    const extlinux = cliSyslinux(debs, path.join(work, 'syslinux'), cakeImg(['bake', '--help']).stdout);
    const r = cakeImg(['bake', '--firmware', 'bios', '--rootfs', tar, '--kernel', debs.kernel, '--syslinux', extlinux, '--modules', MODULES, '--options', OPTIONS, '--size', '64M', '-o', img], { env: { XDG_CACHE_HOME: path.join(work, 'cache') } });
    expect(r.status, r.stderr).toBe(0);
    expect(sha256File(img)).toBe(pageSha);
    const b = cakeImg(['boot', pageImage, '--expect', BOOT_MARKER, '--timeout', '300', '--accel', 'tcg', '--memory', '256M']);
    expect(b.status, b.stdout.slice(-3000) + b.stderr).toBe(0);
    expect(b.stdout).toMatch(/CAKE-BAKED-42 uid=0 BOOT_IMAGE=\/boot\/vmlinux console=ttyS0 panic=-1 initrd=\/boot\/initrd/);
  }, 900_000);
});
