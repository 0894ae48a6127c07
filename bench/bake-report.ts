// The bake benchmark's section of RESULTS.md: the bios table (cake-img bake --firmware bios
// against the loop-device recipe (a) and mkfs.ext4 -d (b)) and, when measured, the hybrid
// table (--firmware hybrid against bios, and against the loop-device route (c)).
import { CMDLINE, MODULES } from './bake-inputs.js';
import {
  boldRatio, type Checks, ckCell, type Column, fmtBytes, fmtInt, fmtPhases, fmtRatio, fmtRss, fmtSec, markdownTable, measured, measuredColumn,
  renderNotes, renderSection, rowNotes, stagesParagraph, type TargetCheck, targetStatus, treeRows, walls,
} from './report.js';
import type { ItemBase, SectionData } from './results.js';
import { othersCpuNotes, type RunSummary } from './timing.js';

/** Targets from the issues: bake ≤ 0.5 × the loop-device path; a hybrid disk ≤ 1.1 × a bios one (Debian tree). */
export const TARGETS = { ratioLoop: { trees: ['debian'], max: 0.5 }, ratioHybridBios: { trees: ['debian'], max: 1.1 } };

export const TOOLS = {
  cake: 'cake-img bake',
  loop: '(a) loop + rsync',
  mkfsd: '(b) mkfs.ext4 -d',
  initrd: 'cake-img initrd alone',
  hybrid: 'cake-img bake --firmware hybrid',
  loopHybrid: '(c) loop hybrid',
} as const;
export type Tool = keyof typeof TOOLS;
export const PHASES = ['read', 'initrd', 'plan', 'write'];

export interface BakeItem extends ItemBase {
  size?: string;
  sizeBytes?: number;
  cakeSays?: string;
  uuid?: string;
  initrdBytes?: number;
  cake?: RunSummary;
  loop?: RunSummary;
  mkfsd?: RunSummary;
  initrd?: RunSummary;
  ratioLoop?: number;
  ratioLoopDurable?: number;
  ratioLoopPlusInitrd?: number;
  ratioMkfsd?: number;
  ratioMkfsdDurable?: number;
  checks?: Partial<Record<Tool, Checks>>;
  cakeDeterministic?: boolean;
  kernel?: { pkg: string; deb: string; how: string; dir?: string };
  /** --firmware hybrid, and the loop-device route (c) to the same disk. */
  hybrid?: RunSummary;
  loopHybrid?: RunSummary;
  hybridUuid?: string;
  espBytes?: number;
  hybridDeterministic?: boolean;
  ratioHybridBios?: number;
  /** The median of the per-round ratios (each hybrid run over the bios run of its round). */
  ratioHybridBiosPaired?: number;
  ratioHybridLoop?: number;
  ratioHybridLoopDurable?: number;
  ratioHybridLoopPaired?: number;
}

export function targetChecks(byTree: Record<string, BakeItem>): TargetCheck[] {
  return TARGETS.ratioLoop.trees.map((t) => {
    const r = byTree[t];
    const ok = measured(r) && typeof r!.ratioLoop === 'number';
    const durable = ok ? ` (with fsync of cake-img's image: ${r!.ratioLoopDurable!.toFixed(2)}, ${r!.ratioLoopDurable! <= TARGETS.ratioLoop.max ? 'met' : 'not met'})` : '';
    return { tree: t, what: `cake-img bake ≤ ${TARGETS.ratioLoop.max} × the loop-device path`, status: targetStatus(ok ? r!.ratioLoop : null, TARGETS.ratioLoop.max, durable) };
  });
}

/** hybrid / bios in CPU (user + system) time. */
const cpuRatio = (r: BakeItem) => (r.hybrid?.medianCpu && r.cake?.medianCpu ? r.hybrid.medianCpu / r.cake.medianCpu : null);

/** Judged by the per-round ratio: the two run seconds apart, so it moves least with the machine's load. */
export function hybridTargetChecks(byTree: Record<string, BakeItem>): TargetCheck[] {
  return TARGETS.ratioHybridBios.trees.map((t) => {
    const r = byTree[t];
    const ok = measured(r) && typeof r!.ratioHybridBiosPaired === 'number';
    const more = ok ? ` (the median of the per-round ratios; ratio of the medians ${fmtRatio(r!.ratioHybridBios)}, of CPU time ${fmtRatio(cpuRatio(r!))})` : '';
    return { tree: t, what: `cake-img bake --firmware hybrid ≤ ${TARGETS.ratioHybridBios.max} × --firmware bios`, status: targetStatus(ok ? r!.ratioHybridBiosPaired : null, TARGETS.ratioHybridBios.max, more) };
  });
}

const skippedOr = (s: RunSummary | undefined, f: (s: RunSummary) => string) => (s ? f(s) : 'skipped');

const COLUMNS: Column<BakeItem>[] = [
  { head: 'tree', cell: (r) => r.name },
  { head: 'entries', right: true, tree: true, cell: (r) => fmtInt(r.stats?.entries) },
  { head: 'bytes', right: true, tree: true, cell: (r) => fmtBytes(r.stats?.bytes) },
  { head: 'disk', right: true, tree: true, cell: (r) => r.size ?? '–' },
  { head: 'cake-img median', right: true, cell: (r) => fmtSec(r.cake!.median) },
  { head: 'cake-img + fsync', right: true, cell: (r) => fmtSec(r.cake!.medianDurable) },
  { head: '(a) loop + rsync', right: true, cell: (r) => skippedOr(r.loop, (s) => fmtSec(s.median)) },
  { head: '(b) mkfs.ext4 -d', right: true, cell: (r) => skippedOr(r.mkfsd, (s) => fmtSec(s.median)) },
  { head: 'ratio vs (a)', right: true, cell: (r) => boldRatio(r.ratioLoop) },
  { head: 'ratio vs (a), with fsync', right: true, cell: (r) => fmtRatio(r.ratioLoopDurable) },
  { head: 'ratio vs (b)', right: true, cell: (r) => fmtRatio(r.ratioMkfsd) },
  { head: 'ratio vs (b), with fsync', right: true, cell: (r) => fmtRatio(r.ratioMkfsdDurable) },
  { head: 'cake-img read / initrd / plan / write', right: true, cell: (r) => fmtPhases(r.cake, PHASES) },
  { head: 'cake-img peak RSS', right: true, cell: (r) => fmtRss(r.cake) },
  { head: '(a) peak RSS', right: true, cell: (r) => fmtRss(r.loop) },
  { head: '(b) peak RSS', right: true, cell: (r) => fmtRss(r.mkfsd) },
  { head: 'cake-img initrd alone', right: true, cell: (r) => (r.initrd ? fmtSec(r.initrd.median) : '–') },
  { head: 'checks cake-img / (a) / (b) / initrd', cell: (r) => (['cake', 'loop', 'mkfsd', 'initrd'] as const).map((k) => ckCell(r.checks?.[k])).join(' / ') },
  measuredColumn(),
];

const HYBRID_COLUMNS: Column<BakeItem>[] = [
  { head: 'tree', cell: (r) => r.name },
  { head: 'entries', right: true, tree: true, cell: (r) => fmtInt(r.stats?.entries) },
  { head: 'disk', right: true, tree: true, cell: (r) => r.size ?? '–' },
  { head: 'ESP', right: true, cell: (r) => fmtBytes(r.espBytes) },
  { head: 'cake-img bios', right: true, cell: (r) => fmtSec(r.cake!.median) },
  { head: 'cake-img hybrid', right: true, cell: (r) => fmtSec(r.hybrid!.median) },
  { head: 'hybrid / bios, per round', right: true, cell: (r) => boldRatio(r.ratioHybridBiosPaired) },
  { head: 'hybrid / bios, of the medians', right: true, cell: (r) => fmtRatio(r.ratioHybridBios) },
  { head: 'hybrid / bios, CPU', right: true, cell: (r) => fmtRatio(cpuRatio(r)) },
  { head: '(c) loop hybrid', right: true, cell: (r) => skippedOr(r.loopHybrid, (s) => fmtSec(s.median)) },
  { head: 'cake-img hybrid / (c)', right: true, cell: (r) => boldRatio(r.ratioHybridLoop) },
  { head: 'cake-img hybrid / (c), per round', right: true, cell: (r) => fmtRatio(r.ratioHybridLoopPaired) },
  { head: 'cake-img hybrid / (c), with fsync', right: true, cell: (r) => fmtRatio(r.ratioHybridLoopDurable) },
  { head: 'cake-img hybrid read / initrd / plan / write', right: true, cell: (r) => fmtPhases(r.hybrid, PHASES) },
  { head: 'cake-img hybrid peak RSS', right: true, cell: (r) => fmtRss(r.hybrid) },
  { head: '(c) peak RSS', right: true, cell: (r) => fmtRss(r.loopHybrid) },
  { head: 'checks cake-img hybrid / (c)', cell: (r) => `${ckCell(r.checks?.hybrid)} / ${ckCell(r.checks?.loopHybrid)}` },
  measuredColumn(),
];

const LOOP_SCRIPT = 'sh bench/bake-loop.sh';
const CAKE_BAKE = `node dist/cli/main.js bake --rootfs TREE --kernel KERNELDIR --modules ${MODULES} --options '${CMDLINE}' --size SIZE`;

export function render(data: SectionData<BakeItem>): string {
  const rows = treeRows(data);
  const kernels = [...new Set(rows.map((r) => r.kernel && `${r.kernel.how}; unpacked into ${r.kernel.dir ?? 'bench/scratch/kernel'}`).filter(Boolean))];
  const body = [
    ...(kernels.length ? [`- Kernel: ${kernels.join('; ')}.`] : []),
    '',
    'Columns: *disk* is the image size every tool gets. Times are medians of whole-command wall times. The recipe ends with `sync` and cake-img does not fsync its image, so *cake-img + fsync* adds `sync IMG` after it and the *with fsync* ratios compare durable images. Peak RSS is GNU time\'s maximum resident set size (for the scripts: their largest process; the kernel\'s loop and writeback work is in no process). *checks*: every image of every tool, after its timed run: `sfdisk --json` (a dos label, one partition: start 2048, to the end, type 83, active), the first 440 bytes are syslinux\'s `mbr.bin`, `e2fsck -fn` of the partition (copied out with `dd conv=sparse`: e2fsck takes no offset), /boot holds vmlinux (the kernel\'s size), initrd, syslinux.cfg, ldlinux.sys and ldlinux.c32, and the filesystem UUID is cake-img\'s. *cake-img initrd alone*: `cake-img initrd` with the same kernel, modules and UUID, timed like the others: the part of cake-img\'s work that (a) and (b) are given ready-made (its output must be byte for byte the /boot/initrd of cake-img\'s image). *cold cache*: `sync; echo 3 > /proc/sys/vm/drop_caches` before every timed run; *warm cache*: one untimed run first. The tools take turns going first.',
    ...stagesParagraph(rows, PHASES, 'bake', 'reading the rootfs, making the initrd, planning the disk (pure, in memory) and writing it', 'starting Node and the CLI and finding the kernel and boot loaders'),
    '',
    'Commands (the initrd for (a) and (b) is the one in cake-img\'s image, dumped once with `debugfs -R \'dump /boot/initrd F\'` and not timed; UUID: the one cake-img derived):',
    '',
    '```',
    `${CAKE_BAKE} --firmware bios -v -o cake.img`,
    `${LOOP_SCRIPT} TREE KERNELDIR/boot/vmlinuz-VERSION INITRD SIZE UUID loop.img            # (a)`,
    `${LOOP_SCRIPT} --mkfs-d TREE KERNELDIR/boot/vmlinuz-VERSION INITRD SIZE UUID mkfsd.img  # (b)`,
    `node dist/cli/main.js initrd --kernel-modules KERNELDIR/lib/modules/VERSION --modules ${MODULES} --root-uuid UUID -o initrd.gz`,
    '```',
    '',
    '(a) is the original recipe: `fallocate -l SIZE`; `printf \'o\\nn\\np\\n1\\n2048\\n\\na\\nw\\n\' | fdisk IMG`; `dd bs=440 count=1 conv=notrunc if=/usr/lib/syslinux/mbr/mbr.bin`; `losetup --find --show --offset $((2048*512))`; `mkfs.ext4 -q -U UUID LOOP` (mke2fs.conf defaults); mount; `rsync --archive --chown=0:0 TREE/ MNT/`; /boot/vmlinux, /boot/initrd, /boot/syslinux.cfg; `extlinux --install MNT/boot --heads 64 --sectors 32`; umount; `losetup -d`; `sync`. (b) is the same disk with the filesystem written offline: `mkfs.ext4 -q -F -U UUID -E offset=1048576 -d TREE IMG (SIZE-1MiB)` (owners as in the tree: no `--chown`), /boot added with `debugfs -w` (`mkdir`, `write`: as if the tree had had /boot already, so no copy of the tree is made or timed), then the loop device and mount only for `extlinux --install`, umount, `losetup -d`, `sync`. cake-img keeps the tree\'s owners too. mke2fs picks its own geometry in (a) and (b) (1 KiB blocks below 512 MiB), cake-img its own (4 KiB blocks).',
  ];
  const notes = rows.flatMap((r) => {
    const extra: string[] = [];
    if (r.cake) {
      extra.push(`all wall times cake-img ${walls(r.cake.runs)} (fsync after it [${r.cake.runs.map((y) => y.fsync!.toFixed(2)).join(', ')}] s)${r.loop ? `, (a) ${walls(r.loop.runs)}` : ''}${r.mkfsd ? `, (b) ${walls(r.mkfsd.runs)}` : ''}; CPU (user+sys) medians cake-img ${fmtSec(r.cake.medianCpu)}${r.loop ? `, (a) ${fmtSec(r.loop.medianCpu)}` : ''}${r.mkfsd ? `, (b) ${fmtSec(r.mkfsd.medianCpu)}` : ''}.`);
      if (r.initrd) extra.push(`\`cake-img initrd\` alone: [${r.initrd.runs.map((y) => y.wall.toFixed(2)).join(', ')}] s, CPU median ${fmtSec(r.initrd.medianCpu)}${typeof r.ratioLoopPlusInitrd === 'number' ? `; cake-img bake / ((a) + cake-img initrd), i.e. if the recipe had to make its initrd the same way: ${r.ratioLoopPlusInitrd.toFixed(2)}` : ''}.`);
      extra.push(`cake-img's image: UUID ${r.uuid}, initrd ${fmtInt(r.initrdBytes)} bytes, ${r.cakeDeterministic ? 'the same bytes in every run' : 'NOT the same bytes in every run'}.`);
      extra.push(...othersCpuNotes([...r.cake.runs, ...(r.loop?.runs ?? []), ...(r.mkfsd?.runs ?? [])], "for (a) and (b) this includes the kernel's loop-device and writeback work they cause"));
    }
    return rowNotes(r, extra);
  });
  const L = renderSection({
    heading: '## bake: `cake-img bake` vs the loop-device recipe and vs `mkfs.ext4 -d` + extlinux',
    targets: `Target (from the issue): cake-img bake ≤ ${TARGETS.ratioLoop.max} × the loop-device path (a) on the Debian minbase.`,
    columns: COLUMNS, rows, data, checks: targetChecks(data.items), body, notes,
  });
  const hybridRows = rows.filter((r) => r.hybrid);
  if (hybridRows.length) renderHybrid(L, hybridRows);
  return L.join('\n');
}

/** The hybrid table: the same rounds as the bios table, so hybrid / bios compares runs made side by side. */
function renderHybrid(L: string[], rows: BakeItem[]): void {
  L.push(
    '',
    '### Hybrid disks (BIOS + UEFI): `--firmware hybrid` vs `--firmware bios`, and vs the loop-device route',
    '',
    `Targets (from the UEFI issue): the hybrid bake of the Debian tree costs at most ${Math.round((TARGETS.ratioHybridBios.max - 1) * 100)}% more than the bios bake; it is compared with the loop-device route a user would script for the same hybrid disk, (c).`,
    '',
    ...markdownTable(HYBRID_COLUMNS, rows),
    '',
    'Targets:',
    '',
    ...hybridTargetChecks(Object.fromEntries(rows.map((r) => [r.name, r]))).map((c) => `- ${c.tree}: ${c.what}: ${c.status}`),
    '',
    'Measured in the same rounds as the table above (the six commands take turns going first), on the same machine, kernel and trees. *hybrid / bios, per round*: the median of each round\'s hybrid time over that round\'s bios time (the same for hybrid / (c)), which cancels load that shifts between rounds: the two run a few seconds apart, each right after a loop-device script (the order is (a), bios, (c), hybrid, (b), initrd, rotating). *CPU*: the ratio of their median user + system times, which waits on neither the disk nor other processes\' CPU, so it moves least when the machine is busy. *ESP*: the EFI system partition cake-img sized (`--esp-size auto`); (c) gets the same. *checks*: every image of both, after its timed run: `sgdisk -v` finds no problems; `sfdisk --json`: a GPT, the ESP from sector 2048 with cake-img\'s size, the root-x86-64 partition right after it to the last usable sector with `LegacyBIOSBootable`; the first 440 bytes are syslinux\'s `gptmbr.bin`; `fsck.fat -n` of the ESP is clean and `mcopy -s` reads out the very files of cake-img\'s ESP (systemd-boot as EFI/BOOT/BOOTX64.EFI, loader.conf, the entry, kernel, initrd; compared by sha256); `e2fsck -fn` of the root, its /boot files and UUID as for bios.',
    '',
    'Commands (the initrd and UUID (c) gets are those of cake-img\'s hybrid image, taken once, untimed; its ESP size too):',
    '',
    '```',
    `${CAKE_BAKE} --firmware hybrid -v -o hybrid.img`,
    `${LOOP_SCRIPT} --hybrid --esp-size ESP TREE KERNELDIR/boot/vmlinuz-VERSION INITRD SIZE UUID loop-hybrid.img  # (c)`,
    '```',
    '',
    '(c): `fallocate -l SIZE`; `sgdisk -o -n 1:2048:+ESP -t 1:EF00 -c 1:esp -n 2:0:0 -t 2:8304 -c 2:root-x86-64 -A 2:set:2`; `dd bs=440 count=1 conv=notrunc if=/usr/lib/syslinux/mbr/gptmbr.bin`; the ESP\'s files staged in a temporary directory (`systemd-bootx64.efi` as EFI/BOOT/BOOTX64.EFI, loader/loader.conf, loader/entries/linux.conf, linux/vmlinuz, linux/initrd); `losetup --offset --sizelimit` on the ESP (offsets from `partx`: a container has no partition devices for `losetup -P`); `mkfs.vfat -F 16 -n ESP`; `mcopy -s`; then the root as in (a) on a second loop device: `mkfs.ext4 -q -U UUID`, mount, `rsync --archive --chown=0:0`, /boot\'s files, `extlinux --install MNT/boot --heads 64 --sectors 32`; umount; `losetup -d` both; `sync`.',
  );
  const notes = rows.flatMap((r) => {
    const extra: string[] = [];
    extra.push(`all wall times cake-img hybrid ${walls(r.hybrid!.runs)} (fsync after it [${r.hybrid!.runs.map((y) => y.fsync!.toFixed(2)).join(', ')}] s)${r.loopHybrid ? `, (c) ${walls(r.loopHybrid.runs)}` : ''}; CPU (user+sys) medians cake-img hybrid ${fmtSec(r.hybrid!.medianCpu)}${r.loopHybrid ? `, (c) ${fmtSec(r.loopHybrid.medianCpu)}` : ''}.`);
    extra.push(`cake-img's hybrid image: UUID ${r.hybridUuid}, ${r.hybridDeterministic ? 'the same bytes in every run' : 'NOT the same bytes in every run'}.`);
    extra.push(...othersCpuNotes([...r.hybrid!.runs, ...(r.loopHybrid?.runs ?? [])], "for (c) this includes the kernel's loop-device and writeback work it causes"));
    return extra.map((n) => `${r.name}: ${n}`);
  });
  renderNotes(L, notes);
}
