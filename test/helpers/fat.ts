// FAT images for tests through the same plan + write path the CLI uses, and the check that
// what a judge read back (mtools' extraction, the kernel's mount) is the source tree as
// FAT holds it: every name, kind, size, content and modification time (UTC, 2-second
// steps, 1980-2107).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { FAT_MAX_TIME, FAT_MIN_TIME } from '../../src/bake/fat/dirent.js';
import type { FatOptions } from '../../src/bake/fat/options.js';
import { type FatPlan, planFat } from '../../src/bake/fat/planner.js';
import { writeFat } from '../../src/bake/fat/writer.js';
import { NodeFileBlockDevice } from '../../src/host/node-block-device.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import type { ContentSource } from '../../src/io/content-source.js';
import { loadDirectory } from '../../src/sources/directory.js';
import type { FsNode, FsTree } from '../../src/tree/node.js';
import { walkTree } from '../../src/tree/walk.js';
import { canMountVfat, mtoolsExtract, withVfatMount } from '../oracles/fat.js';
import { guestVfatTar } from '../oracles/guest-vfat.js';
import { loadSource } from '../../src/host/load-source.js';
import { expectedDigests } from './compare.js';

export async function buildFat(tree: FsTree, content: ContentSource, img: string, over: Partial<FatOptions> = {}): Promise<FatPlan> {
  const plan = planFat(tree, { size: 'auto', volumeId: 0x12345678, ...over });
  const dev = NodeFileBlockDevice.create(img, plan.sizeBytes);
  try {
    await writeFat(plan, dev, content, { assumeZeroed: true });
  } finally {
    dev.close();
  }
  return plan;
}

/** Bytes of an image (the first sector by default) without reading a sparse gigabyte. */
export function readImage(img: string, at = 0, length = 512): Uint8Array {
  const fd = fs.openSync(img, 'r');
  try {
    const b = new Uint8Array(length);
    fs.readSync(fd, b, 0, length, at);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

/** The modification time FAT keeps of `sec`: clamped to the epoch and to 1980-2107, even seconds. */
export function fatSeconds(sec: number, epoch?: number): number {
  const t = Math.min(FAT_MAX_TIME, Math.max(FAT_MIN_TIME, epoch !== undefined ? Math.min(sec, epoch) : sec));
  return t - (t % 2);
}

export interface FatViewOptions {
  epoch?: number;
  /** Paths (from the root, '/'-joined byte strings) FAT could not hold and the writer skipped. */
  skipped?: Set<string>;
  /** The judge shows the read-only attribute as a missing write bit (the kernel). */
  readOnly?: boolean;
  /** mtools 4.0 takes 2100 for a leap year: from 2100-03-01 on, it reads every date a day late. */
  leap2100?: boolean;
}

/** 2100-03-01T00:00:00Z. */
const MARCH_2100 = 4_107_542_400;

const key = (p: string[]) => p.join('/');

/** What a judge read back equals the source tree as FAT holds it (hard links are separate copies). */
export async function expectFatView(got: FsTree, gotContent: ContentSource, want: FsTree, wantContent: ContentSource, o: FatViewOptions = {}): Promise<void> {
  const skipped = o.skipped ?? new Set<string>();
  const under = (p: string[]) => p.some((_, i) => skipped.has(key(p.slice(0, i + 1))));
  const w = [...walkTree(want.root)].filter((e) => e.path.length > 0 && !under(e.path));
  const g = [...walkTree(got.root)].filter((e) => e.path.length > 0);
  expect(g.map((e) => key(e.path))).toEqual(w.map((e) => key(e.path)));
  const wd = await expectedDigests(want, wantContent);
  const gd = await expectedDigests(got, gotContent);
  const seen = new Set<FsNode>();
  w.forEach((we, i) => {
    const a = we.node;
    const b = g[i]!.node;
    const p = `/${key(we.path)}`;
    expect(b.kind, p).toBe(a.kind);
    const t = fatSeconds(a.mtime.sec, o.epoch);
    expect(b.mtime.sec, `${p} mtime`).toBe(o.leap2100 && t >= MARCH_2100 ? t + 86400 : t);
    if (o.readOnly && a.kind === 'file') expect((b.perm & 0o200) !== 0, `${p} read-only`).toBe((a.perm & 0o200) !== 0);
    if (a.kind === 'file' && b.kind === 'file') {
      expect(b.size, `${p} size`).toBe(a.size);
      expect(gd.get(b), `${p} content`).toBe(wd.get(a));
      // Each name is its own copy: no two names share a node in what the judge read.
      expect(seen.has(b), `${p} is a copy`).toBe(false);
      seen.add(b);
    }
  });
}

/** mtools' view: `mcopy -s -m` into `dest`, read back. */
export async function expectMtoolsView(img: string, dest: string, want: FsTree, wantContent: ContentSource, o: FatViewOptions = {}): Promise<void> {
  mtoolsExtract(img, dest);
  const got = await loadDirectory(new NodeSourceFs(dest, { xattrs: false }));
  try {
    await expectFatView(got.tree, got.content, want, wantContent, { ...o, leap2100: true });
  } finally {
    await got.content.close();
  }
}

/** The kernel's view: a read-only vfat loop mount on the host (root, a kernel with vfat), else a guest kernel's under QEMU. */
export async function expectKernelFatView(img: string, want: FsTree, wantContent: ContentSource, o: FatViewOptions = {}): Promise<void> {
  if (!canMountVfat) {
    const out = `${img}.guest.tar`;
    await guestVfatTar(img, out);
    const got = await loadSource(out);
    try {
      await expectFatView(got.tree, got.content, want, wantContent, { ...o, readOnly: true });
    } finally {
      await got.content.close();
      fs.rmSync(out, { force: true });
    }
    return;
  }
  await withVfatMount(img, async (dir) => {
    const got = await loadDirectory(new NodeSourceFs(dir, { xattrs: false }));
    try {
      await expectFatView(got.tree, got.content, want, wantContent, { ...o, readOnly: true });
    } finally {
      await got.content.close();
    }
  });
}

export const extractDir = (work: string, name: string): string => path.join(work, `${name}.d`);
