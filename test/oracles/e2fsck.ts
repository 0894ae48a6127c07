// e2fsck as the judge: -fn must find nothing, and -fy on a copy must change nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { TOOL_PATH } from './tools.js';

export interface FsckResult {
  status: number;
  output: string;
}

/**
 * e2fsck's clock (E2FSCK_TIME). While it is before 2242, e2fsck takes valid times in
 * 2310–2378 for pre-1970 times that old kernels mis-encoded, and "fixes" them: a heuristic
 * for images of those kernels, wrong for correct ones (the kernel and cake-img encode them
 * alike, per the ext4 spec). Trees with such times are judged with the clock at 2242.
 */
export const FSCK_AFTER_2242 = String(2 ** 33);

export function e2fsck(args: string[], img: string, now?: string): FsckResult {
  const env = { ...process.env, PATH: TOOL_PATH, ...(now ? { E2FSCK_TIME: now } : {}) };
  const r = spawnSync('e2fsck', [...args, img], { encoding: 'utf8', env });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** Throws with e2fsck's output unless the filesystem (at byte offset, if given) is clean both ways. */
export function expectFsckClean(img: string, offset = 0, now?: string): void {
  const extra = offset ? [`-o`, `offset=${offset}`] : [];
  void extra;
  let target = img;
  let tmp: string | null = null;
  if (offset) {
    // e2fsck has no offset option; check a sparse copy of the partition.
    tmp = `${img}.fsck-part`;
    execFileSync('dd', [`if=${img}`, `of=${tmp}`, 'bs=512', `skip=${offset / 512}`, 'conv=sparse', 'status=none']);
    target = tmp;
  }
  try {
    const n = e2fsck(['-fn'], target, now);
    if (n.status !== 0) throw new Error(`e2fsck -fn ${target} exited ${n.status}:\n${n.output}`);
    const copy = `${target}.fsck-copy`;
    execFileSync('cp', ['--sparse=always', target, copy]);
    try {
      const y = e2fsck(['-fy'], copy, now);
      if (y.status !== 0) throw new Error(`e2fsck -fy on a copy of ${target} exited ${y.status} (it repaired something):\n${y.output}`);
    } finally {
      fs.rmSync(copy, { force: true });
    }
  } finally {
    if (tmp) fs.rmSync(tmp, { force: true });
  }
}
