// perl's scan of a host tree (host/tree-scan.ts) must give the walk exactly what Node's own
// syscalls give, entry by entry, and a scan that breaks anywhere (cut short, garbage, no
// perl) must leave the walk to Node from there, with the same tree and no hang. (The pipe
// is our own: a byte changed inside a record is not a fault this guards against.)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { TreeScan, scanArgs } from '../../src/host/tree-scan.js';
import type { SourceStat } from '../../src/io/source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { expectTreesEqual } from '../helpers/compare-trees.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir();
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const xattr = createRequire(import.meta.url)('@napi-rs/xattr') as { setAttributeSync(p: string, n: string, v: Uint8Array): void };
const host = path.join(work, 'tree');

/** Every kind of entry, a directory big enough to span many pipe reads, depth, holes. */
function makeTree(): void {
  const at = (p: string) => path.join(host, p);
  fs.mkdirSync(at('a/b/c/d/e/f'), { recursive: true });
  fs.mkdirSync(at('big'));
  for (let i = 0; i < 3000; i++) fs.writeFileSync(at(`big/f${String(i).padStart(5, '0')}`), i % 7 ? `${i}\n` : '');
  fs.writeFileSync(at('a/b/c/d/e/f/deep'), 'deep');
  fs.writeFileSync(at('a/file'), 'x'.repeat(10_000));
  fs.chmodSync(at('a/file'), 0o4755);
  fs.linkSync(at('a/file'), at('a/b/hard'));
  fs.linkSync(at('a/file'), at('big/hard'));
  fs.symlinkSync('../a/file', at('big/link'));
  fs.symlinkSync('t'.repeat(3000), at('a/long-link'));
  fs.writeFileSync(at('a/xattrs'), 'x');
  xattr.setAttributeSync(at('a/xattrs'), 'user.one', new TextEncoder().encode('1'));
  execFileSync('mkfifo', [at('a/fifo')]);
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(at('a/sock'))}, () => process.kill(process.pid, 'SIGKILL'))`]);
  // Holes: 8 MiB with data only in its middle.
  const fd = fs.openSync(at('a/sparse'), 'w');
  fs.writeSync(fd, Buffer.alloc(65536, 7), 0, 65536, 4 << 20);
  fs.ftruncateSync(fd, 8 << 20);
  fs.closeSync(fd);
  fs.writeFileSync(Buffer.concat([Buffer.from(`${host}/a/`), Buffer.from([0x66, 0xff, 0x6e])]), 'odd');
  fs.writeFileSync(at('empty'), '');
  execFileSync('sh', ['-c', 'find . -exec touch -h -d @1600000000.123456789 {} +'], { cwd: host });
}

beforeAll(makeTree);

/** A walk's stats by path (atime aside: listing a directory may set it). */
async function walkWith(scan?: ((root: string) => TreeScan | null) | null) {
  const stats = new Map<string, Omit<SourceStat, 'atime'>>();
  const source = new NodeSourceFs(host, { scan });
  const loaded = await loadDirectory(source, {
    label: host,
    onEntry: (p, st) => {
      const { atime: _atime, ...rest } = st;
      stats.set(p, rest);
    },
  });
  return { loaded, stats, answered: source.scanAnswered };
}

/** A scan whose bytes pass through `filter` (a shell pipeline stage) on their way. */
function filteredScan(filter: string): (root: string) => TreeScan {
  return (root) => {
    const child = spawn('sh', ['-c', `perl "$@" | ${filter}`, 'sh', ...scanArgs(root, 0)], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    return new TreeScan(child);
  };
}

describe('the tree scan', () => {
  it('gives the walk what lstat, readlink, llistxattr and SEEK_DATA give', async () => {
    const node = await walkWith(null);
    const scanned = await walkWith(undefined);
    expect(scanned.stats.size).toBe(node.stats.size);
    // Every stat came from the scan (the root's included), none from Node.
    expect(scanned.answered).toBe(scanned.stats.size);
    expect(node.answered).toBe(0);
    for (const [p, st] of node.stats) expect(scanned.stats.get(p), p).toEqual(st);
    await expectTreesEqual(node.loaded.tree, node.loaded.content, scanned.loaded.tree, scanned.loaded.content, []);
    const sparse = scanned.loaded.tree.root.entries.get('a');
    expect(sparse?.kind === 'dir' && sparse.entries.get('sparse')).toMatchObject({ dataRuns: [{ offset: 4 << 20, length: 65536 }] });
    await node.loaded.content.close();
    await scanned.loaded.content.close();
  });

  it('cut short anywhere, leaves the rest of the walk to Node: the same tree', async () => {
    const node = await walkWith(null);
    const full = execFileSync('perl', scanArgs(host, 0), { maxBuffer: 1 << 26 }).length;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: full }), async (cut) => {
        const got = await walkWith(filteredScan(`head -c ${cut}`));
        for (const [p, st] of node.stats) expect(got.stats.get(p), `${p} (cut at ${cut} of ${full})`).toEqual(st);
        expect(got.stats.size).toBe(node.stats.size);
        await got.loaded.content.close();
      }),
      { numRuns: 25 },
    );
    await node.loaded.content.close();
  });

  it('garbage, a record that is not one, or no scan at all: the same tree', async () => {
    const node = await walkWith(null);
    const broken = [
      filteredScan('head -c 0; echo garbage'),
      // A record that is not one: its tag unknown after the first directories.
      filteredScan(`{ head -c 20000; echo garbage; }`),
      () => new TreeScan(spawn('cake-img-no-such-program', [], { stdio: ['ignore', 'pipe', 'ignore'], detached: true })),
      () => null,
    ];
    for (const scan of broken) {
      const got = await walkWith(scan);
      expect(got.stats.size).toBe(node.stats.size);
      for (const [p, st] of node.stats) expect(got.stats.get(p), p).toEqual(st);
      await got.loaded.content.close();
    }
    await node.loaded.content.close();
  });

  // Names and link targets of any bytes (but '/' and NUL), up to the kernel's limits, in
  // random nestings: the scan's records carry them exactly, or the walk would differ.
  it('random trees with names of any bytes: what Node sees', async () => {
    let n = 0;
    const name = fc.uint8Array({ minLength: 1, maxLength: 255 }).map((b) => Buffer.from(b.map((x) => (x === 0x2f || x === 0 ? 0x5f : x)))).filter((b) => b.toString('latin1') !== '.' && b.toString('latin1') !== '..');
    const entry = fc.record({ name, kind: fc.constantFrom('file', 'dir', 'link'), size: fc.nat(5000), target: fc.uint8Array({ minLength: 1, maxLength: 600 }), depth: fc.nat(3) });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 40 }), async (entries) => {
        const root = Buffer.from(path.join(work, `random-${n++}`));
        fs.mkdirSync(root);
        const dirs: Buffer[] = [root];
        for (const e of entries) {
          const parent = dirs[Math.min(e.depth, dirs.length - 1)]!;
          const at = Buffer.concat([parent, Buffer.from('/'), e.name]);
          if (fs.existsSync(at)) continue;
          if (e.kind === 'dir') {
            fs.mkdirSync(at);
            dirs.push(at);
          } else if (e.kind === 'file') fs.writeFileSync(at, Buffer.alloc(e.size, 7));
          else fs.symlinkSync(Buffer.from(e.target.map((x) => x || 1)), at);
        }
        const walk = async (scan: ((r: string) => TreeScan | null) | null | undefined) => {
          const stats = new Map<string, unknown>();
          const src = new NodeSourceFs(root.toString(), { scan });
          const loaded = await loadDirectory(src, { onEntry: (p, st) => stats.set(p, { ...st, atime: undefined }) });
          await loaded.content.close();
          return { stats, answered: src.scanAnswered, loaded };
        };
        const node = await walk(null);
        const scanned = await walk(undefined);
        expect(scanned.answered).toBe(scanned.stats.size);
        expect(scanned.stats).toEqual(node.stats);
        await expectTreesEqual(node.loaded.tree, node.loaded.content, scanned.loaded.tree, scanned.loaded.content, []);
      }),
      { numRuns: 20 },
    );
  });

  // perl reads switches after -e's script as well: a root named "-e..." must reach the
  // script as its argument, never as perl code.
  it('passes the root to perl as an argument, whatever it is named', () => {
    const dir = path.join(work, '-eexit(7)');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'f'), 'x');
    const args = scanArgs(path.relative(process.cwd(), dir), 0);
    expect(args[2]).toBe('--');
    expect(args[3]).toBe(dir);
    const out = spawnSync('perl', ['-e', 'print $ARGV[0]', ...args.slice(2)], { encoding: 'utf8' });
    expect(out.stdout).toBe(dir);
    const scan = execFileSync('perl', args);
    expect(String.fromCharCode(scan[0]!)).toBe('R');
    expect(scan.includes(Buffer.from('f'))).toBe(true);
  });
});
