// What the formats benchmarks share: qemu-img as the judge of every output, file sizes,
// and the per-round CPU ratio.
import * as fs from 'node:fs';
import { fmtBytes } from './report.js';
import { run } from './host.js';
import { median, type TimedRun } from './timing.js';

export interface FileSize {
  size: number;
  allocated: number;
}

/** An image's apparent size and allocated bytes, as a cell. */
export const fileCell = (x: FileSize | undefined) => (x ? `${fmtBytes(x.size)} / ${fmtBytes(x.allocated)}` : '–');

export const sh = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** qemu-img check (of a qcow2) and compare against `ref` (the raw bake); returns the problems. */
export function judge(img: string, ref: string, format: 'qcow2' | 'raw' = 'qcow2', refFormat: 'qcow2' | 'raw' = 'raw', what = 'the raw bake'): string[] {
  const problems: string[] = [];
  if (format === 'qcow2') {
    const c = run('qemu-img', ['check', '-f', 'qcow2', img]);
    if (c.status !== 0) problems.push(`qemu-img check: exit ${c.status}: ${`${c.stdout}${c.stderr}`.trim().split('\n').slice(0, 4).join(' | ')}`);
  }
  const k = run('qemu-img', ['compare', '-f', refFormat, '-F', format, ref, img]);
  if (k.status !== 0) problems.push(`qemu-img compare with ${what}: exit ${k.status}: ${`${k.stdout}${k.stderr}`.trim()}`);
  return problems;
}

/** The median of the per-round ratios a[i] / b[i] of CPU (user + sys) time. */
export function pairedCpuRatio(a: TimedRun[], b: TimedRun[]): number | null {
  const cpu = (x: TimedRun) => (x.user ?? NaN) + (x.sys ?? NaN);
  return median(a.slice(0, b.length).map((x, i) => cpu(x) / cpu(b[i]!)));
}

export const allocated = (f: string) => fs.statSync(f).blocks * 512;
