// Benchmark `bake`: `cake-img bake` (rootfs + kernel → bootable disk, no root) against the
// recipes it replaces, bench/bake-loop.sh: for a bios disk (a) a loop device, mkfs.ext4,
// mount, rsync, extlinux --install, and (b) the same disk with the filesystem written by
// mkfs.ext4 -d; for a hybrid disk (BIOS + UEFI), cake-img's --firmware hybrid against its
// own bios disk and against (c), the loop-device route to the same GPT disk (sgdisk,
// mkfs.vfat + mcopy, mkfs.ext4, rsync, extlinux, gptmbr.bin). The references need root;
// without it they are skipped and only cake-img is timed. Every image is checked
// (bench/disk-checks.ts) before its time counts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256File } from '../src/util/sha256-file.js';
import { bakeArgs, type BenchKernel, benchKernel, DEFAULT_TREES, MODULES, SIZES, sizeBytes } from './bake-inputs.js';
import { type BakeItem, PHASES, render, type Tool, TOOLS } from './bake-report.js';
import { checkBiosDisk, checkHybridDisk, type DiskCheck, type DiskExpect, GPTMBR_BIN, MBR_BIN, rootOffset, SYSTEMD_BOOT } from './disk-checks.js';
import {
  aptInstall, BENCH_DIR, CAKE_MAIN, cakeEnv, cakeOrThrow, debVersions, distBuilt, ensureTool, isRoot, log, OUT_DIR, REPO_DIR, requireBuilt, requireTools, run,
  runOrThrow,
} from './host.js';
import { fmtBytes, fmtPhases, fmtSec, type Checks } from './report.js';
import type { Benchmark } from './results.js';
import { TREES, TREE_NAMES, type TreeName, prepareTree } from './trees.js';
import {
  dropCaches, finishRun, getCachePolicy, pairedRatio, parseTreeArgs, recordError, rotate, summarizeRuns, timeCommand, timed, timeFsync,
  type TimedRun,
} from './timing.js';

const LOOP_SCRIPT = path.join(BENCH_DIR, 'bake-loop.sh');

/** What the untimed cake-img runs give the references: UUID, initrd, and for hybrid the ESP. */
interface Reference {
  uuid: string;
  initrd: string;
  esp?: Map<string, string>;
  espSectors?: number;
}

/** Why the loop-device references cannot run here, or null when they can. */
function referenceUnavailable(): string | null {
  if (!isRoot) return 'not root: the loop-device recipe needs losetup and mount (run the benchmark as root to time it)';
  const tools: [string, string][] = [['rsync', 'rsync'], ['extlinux', 'extlinux'], ['fdisk', 'fdisk'], ['losetup', 'mount'], ['fallocate', 'util-linux'], ['partx', 'util-linux'],
    ['debugfs', 'e2fsprogs'], ['sgdisk', 'gdisk'], ['mkfs.vfat', 'dosfstools'], ['mcopy', 'mtools']];
  for (const [cmd, pkg] of tools) if (!ensureTool(cmd, pkg)) return `${cmd} is missing and could not be installed (apt-get install ${pkg})`;
  for (const [file, pkg] of [[MBR_BIN, 'syslinux-common'], [GPTMBR_BIN, 'syslinux-common'], [SYSTEMD_BOOT, 'systemd-boot-efi']] as const) {
    if (!fs.existsSync(file) && !(aptInstall([pkg]) && fs.existsSync(file))) return `${file} is missing (apt-get install ${pkg})`;
  }
  const lo = run('losetup', ['--find']);
  if (lo.status !== 0) return `no free loop device (losetup --find: ${lo.stderr.trim()})`;
  return null;
}

/** One untimed cake-img bake of `firmware`, checked; the UUID, initrd (dumped) and ESP the references reuse. */
function untimedBake(res: BakeItem, tree: string, kernel: BenchKernel, firmware: 'bios' | 'hybrid', img: string, initrd: string): Reference & { says: string } {
  log(`${res.name}: untimed cake-img bake --firmware ${firmware} (${res.size}) for the initrd and UUID the references reuse`);
  fs.rmSync(img, { force: true });
  const r = cakeOrThrow('bake', bakeArgs(tree, kernel, res.size!, img, ['--firmware', firmware]), { env: cakeEnv() });
  const expect = { bytes: res.sizeBytes!, kernelBytes: fs.statSync(kernel.vmlinuz).size };
  const ck: ReturnType<typeof checkHybridDisk> = firmware === 'bios' ? checkBiosDisk(img, expect) : checkHybridDisk(img, expect);
  if (!ck.ok) throw new Error(`the untimed cake-img ${firmware} image fails its check: ${ck.problems.join('; ')}`);
  runOrThrow('debugfs', ['-R', `dump /boot/initrd ${initrd}`, `${img}?offset=${rootOffset(img)}`]);
  if (!fs.existsSync(initrd) || fs.statSync(initrd).size === 0) throw new Error(`could not dump /boot/initrd out of the cake-img ${firmware} image`);
  // Paths relative to the checkout: RESULTS.md must not name this machine's directories.
  const says = r.stdout.trim().split('\n').at(-1)!.replaceAll(`${REPO_DIR}/`, '');
  return { uuid: ck.uuid!, initrd, says, esp: ck.esp, espSectors: ck.espSectors };
}

/** `cake-img initrd` alone must give the very initrd that bake put into its image. */
function checkInitrd(file: string, fromImage: string): DiskCheck {
  const problems: string[] = [];
  const t = run('gzip', ['-t', file]);
  if (t.status !== 0) problems.push(`gzip -t: exit ${t.status}: ${t.stderr.trim()}`);
  else if (!fs.readFileSync(file).equals(fs.readFileSync(fromImage))) problems.push('not the same bytes as /boot/initrd in the cake-img image');
  return { ok: problems.length === 0, problems, uuid: null };
}

async function benchTree(treeName: string, runs: number, policy: string, kernel: BenchKernel, refSkip: string | null): Promise<BakeItem> {
  const t = await prepareTree(treeName);
  if ('skipped' in t) return { name: treeName, skipped: t.skipped };
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const size = SIZES[treeName]!;
  const out = (k: string) => path.join(OUT_DIR, `${treeName}.bake-${k}`);
  const imgs = Object.fromEntries(Object.keys(TOOLS).map((k) => [k, out(k === 'initrd' ? 'initrd.gz' : `${k}.img`)])) as Record<Tool, string>;
  const initrds = { bios: out('bios.initrd'), hybrid: out('hybrid.initrd') };
  const res: BakeItem = { name: treeName, title: TREES[treeName as TreeName].title, how: t.how, stats: t.stats, size, sizeBytes: sizeBytes(size), notes: [] };
  const env = cakeEnv();
  const kernelBytes = fs.statSync(kernel.vmlinuz).size;
  try {
    // Untimed cake-img runs first: they must work, and their images give the initrds, UUIDs
    // and ESP that the references reuse (made outside the references' timing).
    const bios = untimedBake(res, t.dir, kernel, 'bios', imgs.cake, initrds.bios);
    const hybrid = untimedBake(res, t.dir, kernel, 'hybrid', imgs.hybrid, initrds.hybrid);
    Object.assign(res, { cakeSays: bios.says, uuid: bios.uuid, initrdBytes: fs.statSync(bios.initrd).size, hybridUuid: hybrid.uuid, espBytes: hybrid.espSectors! * 512 });
    const espSize = `${hybrid.espSectors! / 2048}M`;
    const cake = (args: string[]) => [process.execPath, CAKE_MAIN, ...args];
    const commands: Record<Tool, string[]> = {
      cake: cake(bakeArgs(t.dir, kernel, size, imgs.cake, ['--firmware', 'bios', '-v'])),
      hybrid: cake(bakeArgs(t.dir, kernel, size, imgs.hybrid, ['--firmware', 'hybrid', '-v'])),
      initrd: cake(['initrd', '--kernel-modules', kernel.modules, '--modules', MODULES, '--root-uuid', bios.uuid, '-o', imgs.initrd]),
      loop: ['sh', LOOP_SCRIPT, t.dir, kernel.vmlinuz, bios.initrd, size, bios.uuid, imgs.loop],
      mkfsd: ['sh', LOOP_SCRIPT, '--mkfs-d', t.dir, kernel.vmlinuz, bios.initrd, size, bios.uuid, imgs.mkfsd],
      loopHybrid: ['sh', LOOP_SCRIPT, '--hybrid', '--esp-size', espSize, t.dir, kernel.vmlinuz, hybrid.initrd, size, hybrid.uuid, imgs.loopHybrid],
    };
    const opts = (k: Tool) => (k === 'cake' || k === 'hybrid' || k === 'initrd' ? { env } : {});
    const judge: Record<Tool, (img: string) => DiskCheck> = {
      cake: (img) => checkBiosDisk(img, { bytes: res.sizeBytes!, kernelBytes, uuid: bios.uuid }),
      loop: (img) => checkBiosDisk(img, { bytes: res.sizeBytes!, kernelBytes, uuid: bios.uuid }),
      mkfsd: (img) => checkBiosDisk(img, { bytes: res.sizeBytes!, kernelBytes, uuid: bios.uuid }),
      initrd: (file) => checkInitrd(file, bios.initrd),
      hybrid: (img) => checkHybridDisk(img, { bytes: res.sizeBytes!, kernelBytes, uuid: hybrid.uuid, esp: hybrid.esp, espSectors: hybrid.espSectors } satisfies DiskExpect),
      loopHybrid: (img) => checkHybridDisk(img, { bytes: res.sizeBytes!, kernelBytes, uuid: hybrid.uuid, esp: hybrid.esp, espSectors: hybrid.espSectors }),
    };
    // The order rotates, so in most rounds each command follows the one before it here. Both
    // cake-img bakes follow a script, which leaves a fully allocated image to delete (on a
    // filesystem mounted with `discard`, freeing it may slow whoever writes next): in two
    // runs with bios always after a script and hybrid never, hybrid / bios came out 0.87.
    const tools: Tool[] = refSkip ? ['cake', 'hybrid', 'initrd'] : ['loop', 'cake', 'loopHybrid', 'hybrid', 'mkfsd', 'initrd'];
    if (refSkip) res.notes!.push(`the references were not run: ${refSkip}`);
    if (policy === 'warm' && !refSkip) {
      for (const k of ['loop', 'mkfsd', 'loopHybrid'] as const) {
        log(`${treeName}: untimed ${TOOLS[k]} (warm cache)`);
        runOrThrow(commands[k][0]!, commands[k].slice(1));
      }
    }
    const times = Object.fromEntries(tools.map((k) => [k, [] as TimedRun[]])) as Partial<Record<Tool, TimedRun[]>>;
    const checks = Object.fromEntries(tools.map((k) => [k, { checked: 0, failed: 0, failures: [] as string[] }])) as Partial<Record<Tool, Checks & { failures: string[] }>>;
    const hashes = { cake: new Set<string>(), hybrid: new Set<string>() };
    for (let i = 0; i < runs; i++) {
      for (const k of rotate(tools, i)) {
        fs.rmSync(imgs[k], { force: true });
        if (policy === 'cold') dropCaches();
        const r = timeCommand(commands[k][0]!, commands[k].slice(1), opts(k));
        if (r.status !== 0) throw new Error(`${TOOLS[k]} failed in run ${i + 1} (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-8).join('\n')}`);
        // cake-img does not fsync its image; the recipes end with `sync`.
        const fsync = k === 'cake' || k === 'hybrid' ? timeFsync(imgs[k]) : 0;
        const ck = judge[k](imgs[k]);
        const c = checks[k]!;
        c.checked++;
        if (!ck.ok) {
          c.failed++;
          c.failures.push(`run ${i + 1}: ${ck.problems.join('; ')}`);
        }
        if (k === 'cake' || k === 'hybrid') hashes[k].add(sha256File(imgs[k]));
        times[k]!.push(timed(r, { fsync }));
        log(`${treeName}: run ${i + 1}/${runs} ${TOOLS[k]} ${fmtSec(r.wall)}${fsync ? ` (+fsync ${fmtSec(fsync)})` : ''}${r.phases ? ` (${fmtPhases(summarizeRuns([r]), PHASES)})` : ''}, CPU ${fmtSec((r.user ?? 0) + (r.sys ?? 0))}, peak RSS ${fmtBytes((r.rssKiB ?? 0) * 1024)}; check ${ck.ok ? 'ok' : `FAILED: ${ck.problems.join('; ')}`}`);
        fs.rmSync(imgs[k], { force: true });
      }
    }
    summarize(res, times, checks as Record<Tool, Checks & { failures: string[] }>, tools);
    res.cakeDeterministic = hashes.cake.size === 1;
    res.hybridDeterministic = hashes.hybrid.size === 1;
    for (const k of ['cake', 'hybrid'] as const) if (hashes[k].size > 1) res.notes!.push(`${TOOLS[k]} wrote ${hashes[k].size} different images in ${runs} runs of the same inputs`);
  } catch (e) {
    recordError(res, e);
  } finally {
    for (const f of [...Object.values(imgs), ...Object.values(initrds)]) fs.rmSync(f, { force: true });
  }
  return res;
}

/** Medians, ratios and check counts into the item. */
function summarize(res: BakeItem, times: Partial<Record<Tool, TimedRun[]>>, checks: Record<Tool, Checks & { failures: string[] }>, tools: Tool[]): void {
  for (const k of tools) res[k] = summarizeRuns(times[k]!);
  const cake = res.cake!;
  if (res.loop) {
    res.ratioLoop = cake.median! / res.loop.median!;
    res.ratioLoopDurable = cake.medianDurable! / res.loop.median!;
  }
  if (res.loop && res.initrd) res.ratioLoopPlusInitrd = cake.median! / (res.loop.median! + res.initrd.median!);
  if (res.mkfsd) {
    res.ratioMkfsd = cake.median! / res.mkfsd.median!;
    res.ratioMkfsdDurable = cake.medianDurable! / res.mkfsd.median!;
  }
  if (res.hybrid) {
    res.ratioHybridBios = res.hybrid.median! / cake.median!;
    res.ratioHybridBiosPaired = pairedRatio(times.hybrid!, times.cake!) ?? undefined;
  }
  if (res.hybrid && res.loopHybrid) {
    res.ratioHybridLoop = res.hybrid.median! / res.loopHybrid.median!;
    res.ratioHybridLoopDurable = res.hybrid.medianDurable! / res.loopHybrid.median!;
    res.ratioHybridLoopPaired = pairedRatio(times.hybrid!, times.loopHybrid!) ?? undefined;
  }
  res.checks = checks;
  // run.ts's exit code looks here: cake-img's own images.
  res.fsck = { checked: checks.cake.checked + (checks.hybrid?.checked ?? 0), failed: checks.cake.failed + (checks.hybrid?.failed ?? 0) };
  for (const k of tools) if (checks[k].failed) res.notes!.push(`${k === 'cake' ? "cake-img's" : `the ${TOOLS[k]}`} image FAILED its check in ${checks[k].failed} of ${checks[k].checked} runs: ${checks[k].failures[0]}`);
}

async function main(argv: string[]) {
  const o = parseTreeArgs(argv, Object.keys(SIZES).filter((t) => TREE_NAMES.includes(t as TreeName)), DEFAULT_TREES);
  requireBuilt();
  requireTools([['sfdisk', 'fdisk'], ['sgdisk', 'gdisk'], ['e2fsck', 'e2fsprogs'], ['debugfs', 'e2fsprogs'], ['dumpe2fs', 'e2fsprogs'], ['fsck.fat', 'dosfstools'], ['mcopy', 'mtools']]);
  // cake-img bake takes extlinux's pieces and systemd-boot from the host when it has them (and
  // fetches Debian's packages itself otherwise); as root, install them as the recipes need them.
  if (isRoot && (!fs.existsSync(MBR_BIN) || !fs.existsSync(GPTMBR_BIN) || !fs.existsSync(SYSTEMD_BOOT))) aptInstall(['extlinux', 'syslinux-common', 'systemd-boot-efi']);
  const policy = getCachePolicy();
  const refSkip = referenceUnavailable();
  if (refSkip) log(`references skipped: ${refSkip}`);
  const kernel = await benchKernel();
  const tools = debVersions(['e2fsprogs', 'util-linux', 'fdisk', 'gdisk', 'dosfstools', 'mtools', 'rsync', 'extlinux', 'syslinux-common', 'systemd-boot-efi']);
  const built = distBuilt();
  const started = Date.now();
  const results: BakeItem[] = [];
  for (const t of o.trees) results.push(await benchTree(t, o.runs, policy, kernel, refSkip));
  return finishRun(results, { runs: o.runs, policy, tools, kernel: { pkg: kernel.pkg, deb: kernel.deb, how: kernel.how, dir: kernel.dir } }, built, started);
}

export const benchmark: Benchmark<BakeItem> = {
  name: 'bake',
  description: 'cake-img bake vs the loop-device recipe (losetup, mkfs.ext4, mount, rsync, extlinux) and vs mkfs.ext4 -d + extlinux; --firmware hybrid vs bios and vs the loop-device route to the same GPT disk (sgdisk, mkfs.vfat + mcopy, ...); busybox rootfs and Debian minbase',
  usage: 'bake [--trees busybox,debian] [--runs N]',
  main,
  render,
};
