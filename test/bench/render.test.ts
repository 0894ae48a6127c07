// The benchmarks' renderers: each section of bench/RESULTS.md is what its benchmark renders
// from the data stored in it (so the file is current and the renderers read real results),
// every table row has as many cells as its header, and made-up items land in the cells and
// targets they should. Nothing here runs a benchmark.
import { describe, expect, it } from 'vitest';
import type { BakeItem } from '../../bench/bake-report.js';
import type { FormatsItem } from '../../bench/formats.js';
import type { MkfsItem } from '../../bench/mkfs.js';
import { markdownTable } from '../../bench/report.js';
import { type Benchmark, type ItemBase, type Machine, loadSectionData, machineKey, mergeItems, readResults, sectionBody, sectionText } from '../../bench/results.js';
import { BENCHMARKS } from '../../bench/run.js';
import { parsePhases, summarizeRuns, type TimedRun } from '../../bench/timing.js';

const results = readResults();
const load = async (name: string): Promise<Benchmark> => (await BENCHMARKS[name]!()).benchmark;

const machine: Machine = { date: 'Fri Dec  4 06:00:00 UTC 2026', nproc: '2', cpu: 'Test CPU', memory: '8.00 GiB', kernel: '6.1.0', node: 'v20.20.2', e2fsprogs: '1.47.0', commit: 'abc1234' };
const stats = { entries: 12, dirs: 2, files: 10, bytes: 1024, hardLinkNames: 0, symlinks: 0, other: 0 };
const run = (wall: number, phases?: Record<string, number>): TimedRun => ({ wall, fsync: 0.1, rssKiB: 2048, user: wall / 2, sys: 0.1, othersCpu: 0, ...(phases ? { phases } : {}) });

/** The cells of a markdown table row. */
const cells = (row: string) => row.split('|').slice(1, -1).map((c) => c.trim());

/** Every row of every table in `md` has as many cells as the table's header. */
function expectRectangular(md: string): void {
  let width = -1;
  for (const l of md.split('\n')) {
    if (!l.startsWith('|')) width = -1;
    else if (width < 0) width = cells(l).length;
    else expect(cells(l), l).toHaveLength(width);
  }
}

describe('bench/RESULTS.md', () => {
  for (const name of Object.keys(BENCHMARKS)) {
    it(`the ${name} section is what its renderer makes of the data stored in it`, async () => {
      const stored = sectionText(name, results);
      expect(stored, `bench/RESULTS.md has no ${name} section`).not.toBeNull();
      const data = loadSectionData(name, results);
      expect(Object.keys(data.items).length).toBeGreaterThan(0);
      const md = (await load(name)).render(data);
      expect(sectionBody(md, data)).toBe(stored);
      expectRectangular(md);
    });
  }
});

describe('rendering made-up items', () => {
  const mkfsItem = (over: Partial<MkfsItem> = {}): MkfsItem => ({
    name: 'debian', title: 'Debian bookworm minbase', how: 'mmdebstrap', stats, sizeBytes: 4 << 20, runs: 3, policy: 'cold', notes: [],
    cake: summarizeRuns([run(1.5, { read: 800, plan: 40, write: 600 }), run(1.4, { read: 790, plan: 42, write: 580 }), run(1.6, { read: 810, plan: 38, write: 640 })]),
    mke2fs: summarizeRuns([run(2), run(2), run(2)]), ratio: 0.75, ratioDurable: 0.76, fsck: { checked: 3, failed: 0, failures: [] },
    floor: summarizeRuns([run(1.1), run(1.1), run(1.1)]), floorRatio: 0.55, floorRatioDurable: 0.56,
    mke2fsNoSync: summarizeRuns([run(1.9), run(1.9), run(1.9)]), ratioNoSync: 0.79, floorRatioNoSync: 0.58,
    geometry: undefined, ...over,
  });

  it('mkfs: a measured row has its medians, ratio, stages and check; the target says met', async () => {
    const b = await load('mkfs');
    const data = mergeItems({ items: {}, machines: {} }, { debian: mkfsItem({ load: { start: '3.10, 2.00, 1.50', end: '4.00, 2.50, 1.60' } }) }, machine);
    const md = b.render(data);
    expectRectangular(md);
    const row = md.split('\n').find((l) => l.startsWith('| debian |'))!;
    expect(cells(row)).toEqual([
      'debian', '10', '1.00 KiB', '12', '4.00 MiB', '1.50 s', '2.00 s', '**0.75**', '1.60 s', '0.76', '0.55 (0.56 with fsync)', '0.79 / 0.58', '800 / 40 / 600 ms', '2.00 MiB', '2.00 MiB', 'clean 3/3',
      `${machine.date}, 3 runs, cold cache`,
    ]);
    expect(md).toContain('- debian: ratio ≤ 1.0: met: 0.75 (with fsync of the image: 0.76, met)');
    expect(md).toContain('- synthetic: ratio ≤ 1.0: not measured');
    // The speed issue's target, judged with the floor beside it: here the floor is above it.
    expect(md).toContain('- debian: ratio ≤ 0.5 (the speed issue, warm cache; like for like): NOT met: durable 0.76 (the data floor, GNU tar of the tree into one file: 0.56); not durable 0.79 (the data floor, GNU tar of the tree into one file: 0.58); the target is below the floor itself');
    expect(md).toContain(`- Machine (debian): 2 cores, Test CPU, 8.00 GiB memory, kernel 6.1.0, Node v20.20.2; e2fsprogs 1.47.0.`);
    expect(md).toContain('- debian: load average (1, 5, 15 minutes) when the benchmark started: 3.10, 2.00, 1.50; when it ended: 4.00, 2.50, 1.60');
    expect(data.items.debian!.machineKey).toBe(machineKey(machine));
  });

  it('mkfs: a floor under the target but not once Node has started says so', async () => {
    const b = await load('mkfs');
    const item = mkfsItem({ floorRatioDurable: 0.45, floorRatioNoSync: 0.42, nodeStart: summarizeRuns([run(0.2), run(0.2), run(0.2)]), nodeFloorRatioDurable: 0.55, nodeFloorRatioNoSync: 0.53 });
    const md = b.render(mergeItems({ items: {}, machines: {} }, { debian: item }, machine));
    expect(md).toContain('- debian: ratio ≤ 0.5 (the speed issue, warm cache; like for like): NOT met: durable 0.76 (the data floor, GNU tar of the tree into one file: 0.45; with `node -e 0` added, the least a Node program can score: 0.55); not durable 0.79 (the data floor, GNU tar of the tree into one file: 0.42; with `node -e 0` added, the least a Node program can score: 0.53); the target is below the floor of any Node program');
    expect(md).toContain(', node -e 0 [0.20, 0.20, 0.20] s.');
  });

  it('skipped and failed rows keep the table rectangular; a later skip keeps the earlier row', async () => {
    const b = await load('mkfs');
    const first = mergeItems({ items: {}, machines: {} }, { debian: mkfsItem() }, machine);
    const fresh: Record<string, MkfsItem> = { debian: { name: 'debian', skipped: 'no mmdebstrap' }, busybox: { name: 'busybox', error: 'boom', stats } };
    const later = mergeItems(first, fresh, { ...machine, date: 'later' });
    expect(later.items.debian!.ratio).toBe(0.75);
    expect(later.items.debian!.skippedLater).toEqual({ date: 'later', reason: 'no mmdebstrap' });
    const md = b.render(later);
    expectRectangular(md);
    expect(md).toContain('| busybox | 10 | 1.00 KiB | 12 | – | FAILED | | | | | | | | | | | later |');
    expect(md).toContain('- busybox: ERROR: boom');
    expect(md).toContain('- debian: the latest attempt (later) was skipped: no mmdebstrap; the row is from the earlier run.');
    const skipped = b.render(mergeItems({ items: {}, machines: {} }, { synthetic: { name: 'synthetic', skipped: 'no disk' } }, machine));
    expect(skipped).toContain(`| synthetic | – | – | – | – | – | – | – | – | – | – | – | – | – | – | – | skipped ${machine.date} |`);
    expect(skipped).toContain('- synthetic: **skipped**: no disk');
  });

  it('bake: the hybrid table appears with hybrid / bios, the per-round ratio and the loop route; its target judges the per-round ratio', async () => {
    const b = await load('bake');
    const bios = [run(2.0), run(2.2), run(2.1)];
    const hybrid = [run(2.5), run(2.6), run(2.4)];
    const item: BakeItem = {
      name: 'debian', stats, size: '1G', sizeBytes: 1 << 30, runs: 3, policy: 'cold', notes: [], uuid: 'u', initrdBytes: 1, cakeDeterministic: true,
      cake: summarizeRuns(bios), hybrid: summarizeRuns(hybrid), loopHybrid: summarizeRuns([run(3), run(3), run(3)]), espBytes: 12 << 20,
      ratioHybridBios: 2.5 / 2.1, ratioHybridBiosPaired: 1.05, ratioHybridLoop: 2.5 / 3, ratioHybridLoopDurable: 2.6 / 3, ratioHybridLoopPaired: 0.8, hybridUuid: 'h', hybridDeterministic: true,
      checks: { cake: { checked: 3, failed: 0 }, hybrid: { checked: 3, failed: 0 }, loopHybrid: { checked: 3, failed: 1 } },
    };
    const md = b.render(mergeItems({ items: {}, machines: {} }, { debian: item }, machine));
    expectRectangular(md);
    expect(md).toContain('### Hybrid disks');
    const row = md.split('\n').filter((l) => l.startsWith('| debian |')).at(-1)!;
    // CPU medians: hybrid 2.5 / 2 + 0.1, bios 2.1 / 2 + 0.1.
    expect(cells(row).slice(3, 13)).toEqual(['12.0 MiB', '2.10 s', '2.50 s', '**1.05**', '1.19', '1.17', '3.00 s', '**0.83**', '0.80', '0.87']);
    expect(cells(md.split('\n').find((l) => l.startsWith('| tree | entries | disk | ESP'))!).slice(6, 9)).toEqual(['hybrid / bios, per round', 'hybrid / bios, of the medians', 'hybrid / bios, CPU']);
    expect(cells(row).at(-2)).toBe('ok 3/3 / **FAILED 1/3**');
    expect(md).toContain('- debian: cake-img bake --firmware hybrid ≤ 1.1 × --firmware bios: met: 1.05 (the median of the per-round ratios; ratio of the medians 1.19, of CPU time 1.17)');
    // Without hybrid results there is no hybrid table.
    expect(b.render(mergeItems({ items: {}, machines: {} }, { debian: { ...item, hybrid: undefined } }, machine))).not.toContain('### Hybrid disks');
  });

  it('memory: peak RSS in MB per tree, and its growth per inode from the 300k row to the 1m row, judged against the targets', async () => {
    const b = await load('memory');
    const tree = (files: number, dirs: number) => ({ ...stats, files, dirs, entries: files + dirs });
    const rss = (kib: number) => summarizeRuns([{ ...run(10), rssKiB: kib }]);
    const items = {
      '300k': { name: '300k', stats: tree(300_000, 300), runs: 1, policy: 'warm', cake: rss(200_000), mke2fs: rss(2_600) },
      '1m': { name: '1m', stats: tree(1_000_000, 1_000), runs: 1, policy: 'warm', cake: rss(200_000 + (700_700 * 250) / 1024), mke2fs: rss(2_600) },
    };
    const md = b.render(mergeItems({ items: {}, machines: {} }, items, machine));
    expectRectangular(md);
    expect(cells(md.split('\n').find((l) => l.startsWith('| 300k |'))!).slice(5, 7)).toEqual(['**205 MB**', '2.7 MB']);
    expect(md).toContain('- 300k: cake-img mkfs peak RSS ≤ 250 MB: met: 205 MB');
    expect(md).toContain('- 1m: cake-img mkfs peak RSS grows ≤ ~300 bytes per inode beyond the 300k row: met: 250 bytes per inode');
    expect(b.render(mergeItems({ items: {}, machines: {} }, { '300k': items['300k'] }, machine))).toContain('beyond the 300k row: not measured');
  });

  it('formats: bake .qcow2 / bake .img per round and its one-pass target; the large convert table, both ways, with node -e 0 in the notes', async () => {
    const b = await load('formats');
    const ok = { checked: 3, failed: 0 };
    const debian: FormatsItem = {
      name: 'debian', stats, size: '1G', rawAllocated: 200 << 20, runs: 3, policy: 'cold', notes: [],
      cakeBake: summarizeRuns([run(3.0), run(3.2), run(3.1)]), cakeBakeRaw: summarizeRuns([run(3.0), run(3.1), run(3.2)]), twoPass: summarizeRuns([run(3.3), run(3.4), run(3.5)]),
      cakeConvert: summarizeRuns([run(0.5), run(0.5), run(0.5)]), qemuConvert: summarizeRuns([run(0.25), run(0.25), run(0.25)]),
      ratioBake: 0.91, ratioBakeDurable: 0.92, ratioConvert: 2, ratioConvertDurable: 1.8, ratioOnePass: 1.0, ratioOnePassCpu: 0.98,
      checks: { cakeBake: ok, cakeBakeRaw: ok, twoPass: ok, cakeConvert: ok, qemuConvert: ok },
    };
    const pair = (cake: number, qemu: number) => ({ cake: summarizeRuns([run(cake), run(cake), run(cake)]), qemu: summarizeRuns([run(qemu), run(qemu), run(qemu)]), checks: ok });
    const large: FormatsItem = { name: 'large', runs: 3, policy: 'warm', notes: [], bigSize: 4 << 30, bigAllocated: 1600 << 20, bigReplace: pair(3, 1.5), bigFresh: pair(2, 1), nodeE0: summarizeRuns([run(0.1), run(0.1), run(0.1)]) };
    const md = b.render(mergeItems({ items: {}, machines: {} }, { debian, large }, machine));
    expectRectangular(md);
    const head = cells(md.split('\n').find((l) => l.startsWith('| tree |'))!);
    const row = cells(md.split('\n').find((l) => l.startsWith('| debian |'))!);
    expect(row[head.indexOf('bake .img')]).toBe('3.10 s');
    expect(row[head.indexOf('bake .qcow2 / bake .img')]).toBe('**1.00**');
    expect(md).toContain('cake-img bake -o disk.qcow2 ≤ 1.05 × cake-img bake -o disk.img: met: 1.00 (the median of the per-round ratios; of CPU time 0.98)');
    expect(md).toContain('- debian: cake-img bake -o disk.qcow2 / (cake-img bake -o disk.img + qemu-img convert -O qcow2) ≤ 0.6: NOT met: 0.91');
    expect(md).toContain('### Large image');
    // user = wall / 2, sys = 0.1 (run()).
    expect(cells(md.split('\n').find((l) => l.startsWith('| (i) replaced |'))!).slice(1, 9)).toEqual(['3.00 s', '1.50 s', '**2.00**', '2.00', '1.94', '1.50 s / 0.10 s', '0.75 s / 0.10 s', '1.88']);
    expect(cells(md.split('\n').find((l) => l.startsWith('| (ii) removed first |'))!)[3]).toBe('**2.00**');
    expect(md).toContain('`node -e 0`, the fixed cost of any Node CLI');
    // The large item is not a row of the trees' table, and without it there is no large table.
    expect(md.split('\n').some((l) => l.startsWith('| large |'))).toBe(false);
    expect(b.render(mergeItems({ items: {}, machines: {} }, { debian }, machine))).not.toContain('### Large image');
  });

  it('markdownTable: one header, one alignment row, a row per item', () => {
    const t = markdownTable([{ head: 'tree', cell: (r: ItemBase) => r.name }, { head: 'n', right: true, cell: () => '1' }], [{ name: 'a' }, { name: 'b' }]);
    expect(t).toEqual(['| tree | n |', '| --- | ---: |', '| a | 1 |', '| b | 1 |']);
  });
});

describe('cake-img -v stages', () => {
  it('are read from stderr, and their medians summarised', () => {
    expect(parsePhases('cake-img: note: x\ncake-img: read 812 ms, initrd 5 ms, plan 40 ms, write 620 ms\n')).toEqual({ read: 812, initrd: 5, plan: 40, write: 620 });
    expect(parsePhases('cake-img: read 3 ms, plan 1 ms, write 2 ms')).toEqual({ read: 3, plan: 1, write: 2 });
    expect(parsePhases('cake-img: error: no\n')).toBeNull();
    expect(summarizeRuns([run(1, { read: 1, plan: 2 }), run(1, { read: 3, plan: 4 }), run(1, { read: 2, plan: 9 })]).medianPhases).toEqual({ read: 2, plan: 4 });
    expect(summarizeRuns([run(1, { read: 1 }), run(1)]).medianPhases).toBeUndefined();
  });
});
