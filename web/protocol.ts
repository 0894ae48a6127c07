// Messages between the page (main.ts) and its worker (worker.ts).
import type { LayoutSummary } from './layout.js';

export type Output = 'disk' | 'ext4' | 'initrd';

export interface BuildRequest {
  type: 'build';
  rootfs: File;
  kernel: File[];
  syslinux: File[];
  busybox?: File;
  size: string;
  options: string;
  modules: string[];
  uuid?: string;
  sourceDateEpoch?: number;
  lenient: boolean;
  output: Output;
  /** Owner UID:GID of the overlay's files (the workspace's lightning-fs /overlay), when it has any. */
  overlayOwner?: string;
  /** OPFS file to write (fresh per build: a cancelled build's worker is terminated with its handle). */
  target: string;
}

export interface TreeRow {
  path: string;
  mode: string;
  owner: string;
  size: number;
  target?: string;
  warn?: string;
}

export type WorkerMessage =
  | { type: 'progress'; phase: string; done?: number; total?: number }
  | { type: 'tree'; rows: TreeRow[]; total: number; warnings: string[] }
  | { type: 'layout'; layout: LayoutSummary }
  /** The output is in OPFS, ready to download; its sha256 comes with it when it was cheap, else in a 'sha256' message after. */
  | { type: 'done'; file: string; name: string; offset: number; bytes: number; sha256?: string; command: string; uuid: string; notes: string[] }
  | { type: 'sha256'; sha256: string }
  | { type: 'error'; line: string }
  | { type: 'selftest'; results: Record<string, string> };
