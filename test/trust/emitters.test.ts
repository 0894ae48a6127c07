// The same wild random trees (wild-tree.ts: odd and 255-byte names, random holes, every
// inode kind, xattrs up to what the kernel holds, owners up to 2^32 − 2, times 1901–2446
// with ns) through every emitter, by the CLI, each judged by an outside tool against the
// tree as the kernel holds it on disk:
//   mkfs of the directory                      → e2fsck, and the kernel's view of the image
//   mkfs of a GNU tar pax tarball, as uid 65534 → the same
//   initramfs of the directory                 → GNU cpio's extraction
//   cook -o tar of the tarball, as uid 65534   → GNU tar's extraction
// The trees are put on a fresh ext4 the kernel writes (256-byte inodes, no ea_inode).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import type { DirNode, FsNode } from '../../src/tree/node.js';
import { cakeImg, canRunAsNobody } from '../helpers/cli.js';
import { expectTreesEqual } from '../helpers/compare-trees.js';
import { tmpDir } from '../helpers/image.js';
import { materialiseAsRoot } from '../helpers/materialise-root.js';
import { wildTree } from '../helpers/wild-tree.js';
import { FSCK_AFTER_2242, expectFsckClean } from '../oracles/e2fsck.js';
import { canLoopMount, withLoopMount } from '../oracles/mount.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';

const work = tmpDir('cake-emitters-');
fs.chmodSync(work, 0o777);
const disk = path.join(work, 'host.ext4');
const mnt = path.join(work, 'host');
const sh = (cmd: string, args: string[], opts: { cwd?: string } = {}) => execFileSync(cmd, args, { env: { ...process.env, PATH: TOOL_PATH }, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
const RUNS = Number(process.env.CAKE_EMITTER_RUNS ?? 30);

const needs = () => canLoopMount && process.arch === 'x64' && hasTool('mke2fs') && hasTool('e2fsck') && hasTool('tar') && hasTool('cpio');

/** What a tar cannot carry: sockets (GNU tar skips them) and empty-valued xattrs (pax cannot say them). */
function withoutSockets(dir: DirNode): void {
  dir.xattrs = dir.xattrs.filter((x) => x.value.length);
  for (const [name, node] of dir.entries) {
    node.xattrs = node.xattrs.filter((x) => x.value.length);
    if (node.kind === 'socket') dir.entries.delete(name);
    else if (node.kind === 'dir') withoutSockets(node);
  }
}

/** cpio newc carries no xattrs, and times only as unsigned seconds (the emitter clamps, with a warning). */
function forCpio(node: FsNode, seen = new Set<FsNode>()): void {
  if (seen.has(node)) return;
  seen.add(node);
  node.xattrs = [];
  if (node.kind === 'dir') for (const c of node.entries.values()) forCpio(c, seen);
}

describe.skipIf(!needs())('wild random trees through every emitter, by the CLI', () => {
  beforeAll(() => {
    sh('mke2fs', ['-q', '-t', 'ext4', '-I', '256', '-O', '^ea_inode', disk, '2G']);
    fs.mkdirSync(mnt);
    sh('mount', ['-o', 'loop', disk, mnt]);
  });
  afterAll(() => {
    try {
      sh('umount', [mnt]);
    } catch {
      sh('umount', ['-l', mnt]);
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it(`${RUNS} trees: mkfs (dir and tarball), initramfs and cook -o tar give back what the kernel holds`, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(wildTree, async (entries) => {
        const id = ++n;
        const src = path.join(mnt, `t${id}`);
        const out = path.join(work, `o${id}`);
        fs.mkdirSync(out, { mode: 0o777 });
        fs.chmodSync(out, 0o777);
        materialiseAsRoot(entries, src);
        const truth = await loadDirectory(new NodeSourceFs(src), { label: src });
        try {
          // An independent writer for the tarball: GNU tar, pax format, holes and xattrs kept.
          const tar = path.join(out, 'tree.tar');
          sh('tar', ['--format=pax', '--sparse', '--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', src, '-cf', tar, '.']);
          fs.chmodSync(tar, 0o644);
          const cli = (args: string[], asNobody = false) => {
            const r = cakeImg(args, { asNobody: asNobody && canRunAsNobody, env: { XDG_CACHE_HOME: path.join(out, 'cache') } });
            expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(0);
          };

          for (const [img, args, nobody] of [
            [path.join(out, 'dir.img'), (img: string) => ['mkfs', src, img], false],
            [path.join(out, 'tar.img'), (img: string) => ['mkfs', tar, img], true],
          ] as const) {
            cli(args(img), nobody);
            expectFsckClean(img, 0, FSCK_AFTER_2242); // the trees have times up to 2446 (see e2fsck.ts)
            await withLoopMount(img, async (m) => {
              const got = await loadDirectory(new NodeSourceFs(m));
              try {
                if (nobody) withoutSockets(truth.tree.root);
                await expectTreesEqual(truth.tree, truth.content, got.tree, got.content);
              } finally {
                await got.content.close();
              }
            });
            fs.rmSync(img);
          }

          // initramfs of the directory, extracted by GNU cpio as root.
          const cpio = path.join(out, 'tree.cpio');
          cli(['initramfs', src, '-o', cpio]);
          const fresh = await loadDirectory(new NodeSourceFs(src), { label: src });
          forCpio(fresh.tree.root);
          // Extractions land on the same kernel ext4 as the tree, so what it held fits again.
          const x = path.join(mnt, `cpio-x${id}`);
          fs.mkdirSync(x);
          sh('sh', ['-c', `cpio -idm --quiet --no-absolute-filenames < ${JSON.stringify(cpio)}`], { cwd: x });
          const fromCpio = await loadDirectory(new NodeSourceFs(x));
          try {
            await expectTreesEqual(fresh.tree, fresh.content, fromCpio.tree, fromCpio.content, {
              ignoreRootEntries: [], ignoreXattrs: true, secondsOnly: true, ignoreRootMeta: true, ignoreSymlinkTimes: true, ignoreDirTimes: true,
            });
          } finally {
            await fromCpio.content.close();
            await fresh.content.close();
          }

          // cook -o tar of the tarball (as uid 65534), extracted by GNU tar as root.
          const cooked = path.join(out, 'cooked.tar');
          cli(['cook', '--src', tar, '--name', `wild${id}`, '-q', '-o', cooked], true);
          const y = path.join(mnt, `tar-x${id}`);
          fs.mkdirSync(y);
          sh('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', cooked, '-C', y]);
          const fromTar = await loadDirectory(new NodeSourceFs(y));
          try {
            withoutSockets(truth.tree.root);
            await expectTreesEqual(truth.tree, truth.content, fromTar.tree, fromTar.content, { ignoreRootEntries: [], ignoreRootMeta: true });
          } finally {
            await fromTar.content.close();
          }
        } finally {
          await truth.content.close();
          for (const d of [src, out, path.join(mnt, `cpio-x${id}`), path.join(mnt, `tar-x${id}`)]) fs.rmSync(d, { recursive: true, force: true });
        }
      }),
      // Each case takes seconds: report the first failure as found rather than shrink for minutes.
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 900_000);
});
