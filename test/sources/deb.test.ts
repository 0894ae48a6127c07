// .deb packages (ar + data.tar.*) read in-process, judged by dpkg-deb's own listing; the
// deb:NAME source fetched rootless by apt-get download; xz and bzip2 tarballs streamed
// through the host's decompressors.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { downloadDeb } from '../../src/host/debian.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { loadSource } from '../../src/host/load-source.js';
import { loadDirectory } from '../../src/sources/directory.js';
import type { FsNode } from '../../src/tree/node.js';
import { walkTree } from '../../src/tree/walk.js';
import { expectTreesEqual } from '../helpers/compare-trees.js';
import { kitchenSink } from '../helpers/kitchen-sink.js';
import { hasTool, isRoot } from '../oracles/tools.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-deb-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const TYPE: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', chardev: 'c', blockdev: 'b', fifo: 'p' };
const modeString = (n: FsNode): string => {
  const p = n.perm;
  const bit = (b: number, c: string) => (p & b ? c : '-');
  const x = (b: number, s: number, c: string, C: string) => (p & s ? (p & b ? c : C) : bit(b, 'x'));
  return TYPE[n.kind]! + bit(0o400, 'r') + bit(0o200, 'w') + x(0o100, 0o4000, 's', 'S') + bit(0o40, 'r') + bit(0o20, 'w') + x(0o10, 0o2000, 's', 'S') + bit(0o4, 'r') + bit(0o2, 'w') + x(0o1, 0o1000, 't', 'T');
};

describe.skipIf(!hasTool('apt-get') || !hasTool('dpkg-deb'))('Debian packages', () => {
  it('a .deb reads as dpkg-deb lists it (names, types, modes, owners, sizes, link targets)', async () => {
    for (const pkg of ['busybox-static', 'passwd']) { // passwd has setuid and setgid files
      const { path: deb } = await downloadDeb(pkg, path.join(work, 'debs'));
      const listing = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' }).trim().split('\n');
      const loaded = await loadSource(deb);
      const ours = new Map<string, string>();
      for (const e of walkTree(loaded.tree.root)) {
        const n = e.node;
        const name = `./${e.path.join('/')}${n.kind === 'dir' && e.path.length ? '/' : ''}`;
        ours.set(name, `${modeString(n)} ${n.uid}/${n.gid} ${n.kind === 'file' ? n.size : 0}${n.kind === 'symlink' ? ` -> ${n.target}` : ''}`);
      }
      expect(listing.length).toBeGreaterThan(3);
      let hardLinks = 0;
      for (const line of listing) {
        const m = /^(\S+) (\S+)\/(\S+)\s+(\d+) \S+ \S+ (.*)$/.exec(line)!;
        const [, mode, user, group, size, rest] = m;
        if (rest!.includes(' link to ')) {
          hardLinks++;
          continue;
        }
        const [name, target] = rest!.split(' -> ');
        const uid = user === 'root' ? 0 : Number.NaN;
        const gid = group === 'root' ? 0 : group === 'shadow' ? 42 : Number.NaN;
        expect(ours.get(name!), `${pkg}: ${name}`).toBe(`${mode} ${uid}/${gid} ${mode!.startsWith('-') ? size : 0}${target ? ` -> ${target}` : ''}`);
      }
      expect(ours.size).toBe(listing.length - hardLinks);
      await loaded.content.close();
    }
  });

  it('deb:NAME downloads once into the cache (checked against the apt lists) and reads the package', async () => {
    const cache = path.join(work, 'xdg');
    const before = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = cache;
    try {
      const loaded = await loadSource('deb:busybox-static');
      const busybox = loaded.tree.root.entries.get('bin');
      expect(busybox?.kind).toBe('dir');
      await loaded.content.close();
      const debs = fs.readdirSync(path.join(cache, 'cake-img/debs')).filter((f) => f.endsWith('.deb'));
      expect(debs).toHaveLength(1);
      const stamp = fs.statSync(path.join(cache, 'cake-img/debs', debs[0]!)).mtimeMs;
      await (await loadSource('deb:busybox-static')).content.close();
      expect(fs.statSync(path.join(cache, 'cake-img/debs', debs[0]!)).mtimeMs).toBe(stamp);
      await expect(loadSource('deb:no-such-package-cake-img')).rejects.toThrow(/no-such-package-cake-img/);
    } finally {
      if (before === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = before;
    }
  });
});

describe.skipIf(!hasTool('xz') || !hasTool('bzip2') || !hasTool('tar'))('xz and bzip2 tarballs', () => {
  it.skipIf(!isRoot)('read back exactly what GNU tar packed', async () => {
    const sink = kitchenSink();
    const src = await loadDirectory(sink);
    const dir = path.join(work, 'tree');
    fs.mkdirSync(dir);
    // Materialise the kitchen sink with GNU tar's help: pack ours, unpack as root.
    const { writeTar } = await import('../../src/cook/tar-writer.js');
    const plain = path.join(work, 'ks.tar');
    const fd = fs.openSync(plain, 'w');
    await writeTar(src.tree, src.content, (c) => void fs.writeSync(fd, c));
    fs.closeSync(fd);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', plain, '-C', dir]);
    const want = await loadDirectory(new NodeSourceFs(dir));
    for (const [flag, ext] of [['-J', 'xz'], ['-j', 'bz2']]) {
      const file = path.join(work, `ks.tar.${ext}`);
      execFileSync('tar', ['--xattrs', '--numeric-owner', flag!, '-cf', file, '-C', dir, '.']);
      const got = await loadSource(file);
      await expectTreesEqual(want.tree, want.content, got.tree, got.content, { ignoreRootEntries: [], ignoreRootMeta: true });
      await got.content.close();
    }
    await want.content.close();
  });

  it('a corrupt xz stream is one clear error naming the file', async () => {
    const file = path.join(work, 'bad.tar.xz');
    const good = execFileSync('xz', ['-c'], { input: Buffer.alloc(20480) });
    good[good.length >> 1] ^= 0xff;
    fs.writeFileSync(file, good);
    await expect(loadSource(file)).rejects.toThrow(new RegExp(`${file.replace(/[.]/g, '\\.')}: corrupt xz data`));
  });
});
