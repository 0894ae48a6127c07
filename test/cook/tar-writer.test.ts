// The cooked-tree tar writer, judged by GNU tar: random trees written by us and extracted
// by `tar --xattrs -xp` as root come back exactly (content, modes, owners, ns mtimes,
// xattrs, links, devices); and our own reader reads the same tree back.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTar } from '../../src/cook/tar-writer.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { loadTarFile } from '../../src/host/archive-file.js';
import { hashTree } from '../../src/tree/hash.js';
import type { DirNode, FsNode } from '../../src/tree/node.js';
import { expectTreesEqual } from '../helpers/compare-trees.js';
import { randomTree } from '../helpers/random-tree.js';
import { hasTool, isRoot } from '../oracles/tools.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-tarw-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const runs = Number(process.env.CAKE_PROPERTY_RUNS ?? 100);
let n = 0;

/**
 * Sockets and empty-valued xattrs are not archived (pax cannot say them): drop them from
 * the expectation. And the host filesystem GNU tar extracts to keeps no nanoseconds at
 * ext4's lowest time (-2^31 s): give those none.
 */
function withoutSockets(dir: DirNode): void {
  dir.xattrs = dir.xattrs.filter((x) => x.value.length);
  const lowest = (n: FsNode): void => {
    if (n.mtime.sec === -(2 ** 31)) n.mtime = { sec: n.mtime.sec, nsec: 0 };
  };
  lowest(dir);
  for (const [name, node] of dir.entries) {
    lowest(node);
    node.xattrs = node.xattrs.filter((x) => x.value.length);
    if (node.kind === 'socket') dir.entries.delete(name);
    else if (node.kind === 'dir') withoutSockets(node);
  }
}

describe.skipIf(!hasTool('tar'))('tar writer', () => {
  it.skipIf(!isRoot)('GNU tar extracts random trees back exactly', async () => {
    await fc.assert(fc.asyncProperty(randomTree, async (m) => {
      const src = await loadDirectory(m);
      withoutSockets(src.tree.root);
      const file = path.join(work, `r${n++}.tar`);
      const fd = fs.openSync(file, 'w');
      await writeTar(src.tree, src.content, (c) => void fs.writeSync(fd, c));
      fs.closeSync(fd);
      const dir = fs.mkdtempSync(path.join(work, 'x-'));
      try {
        execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', file, '-C', dir], { stdio: 'pipe' });
        const got = await loadDirectory(new NodeSourceFs(dir));
        try {
          await expectTreesEqual(src.tree, src.content, got.tree, got.content, { ignoreRootEntries: [], ignoreRootMeta: true });
        } finally {
          await got.content.close();
        }
        // Our reader sees the same tree, root included, and the same canonical hash.
        const back = await loadTarFile(file);
        await expectTreesEqual(src.tree, src.content, back.tree, back.content, { ignoreRootEntries: [] });
        const h = () => createHash('sha256');
        expect(await hashTree(back.tree, back.content, h)).toBe(await hashTree(src.tree, src.content, h));
        await back.content.close();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(file);
      }
    }), { numRuns: runs });
  }, 600_000);

  it('is reproducible and ends with two zero blocks', async () => {
    const m = fc.sample(randomTree, { numRuns: 1, seed: 42 })[0]!;
    const bytes = async (): Promise<Buffer> => {
      const src = await loadDirectory(m);
      const parts: Buffer[] = [];
      await writeTar(src.tree, src.content, (c) => void parts.push(Buffer.from(c)));
      return Buffer.concat(parts);
    };
    const a = await bytes();
    expect((await bytes()).equals(a)).toBe(true);
    expect(a.length % 512).toBe(0);
    expect(a.subarray(-1024).every((b) => b === 0)).toBe(true);
  });
});
