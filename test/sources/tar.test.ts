import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import tarStream from 'tar-stream';
import { pathsOf } from '../helpers/tree-paths.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedTree } from '../../src/sources/directory.js';
import { loadTar } from '../../src/sources/tar.js';
import { loadTarFile } from '../../src/host/archive-file.js';
import { type DirNode, type FileNode, type FsNode, dataLength } from '../../src/tree/node.js';
import { CakeError, CorruptInputError } from '../../src/util/errors.js';

// ---------------------------------------------------------------------------------------
// helpers

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const bs = (b: Buffer | Uint8Array): string => Buffer.from(b).toString('latin1');
const utf8bs = (s: string): string => bs(Buffer.from(s, 'utf8'));

function streamOf(buf: Uint8Array, chunk = 65536): () => AsyncIterable<Uint8Array> {
  return async function* () {
    for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
  };
}

const load = (buf: Uint8Array, chunk?: number): Promise<LoadedTree> => loadTar(streamOf(buf, chunk), { label: 'test.tar' });

/** Every path (byte string, '' = root) → node. */
const entries = (root: DirNode): Map<string, FsNode> => pathsOf(root, true);

/** Streams every file's data in ascending ref order; returns sha256 per node. */
async function contents(l: LoadedTree): Promise<Map<FileNode, string>> {
  const files = new Set<FileNode>();
  for (const n of entries(l.tree.root).values()) if (n.kind === 'file') files.add(n);
  const sorted = [...files].sort((a, b) => (a.content?.order ?? -1) - (b.content?.order ?? -1));
  const out = new Map<FileNode, string>();
  for (const f of sorted) {
    const h = createHash('sha256');
    let n = 0;
    if (f.content) {
      await l.content.read(f.content, (c) => {
        h.update(c);
        n += c.length;
      });
    }
    expect(n).toBe(dataLength(f));
    out.set(f, h.digest('hex'));
  }
  await l.content.close();
  return out;
}

async function expectCorrupt(p: Promise<unknown>, re?: RegExp): Promise<CorruptInputError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a CorruptInputError').toBeInstanceOf(CorruptInputError);
  const msg = (err as Error).message;
  expect(msg.includes('\n')).toBe(false);
  if (re) expect(msg).toMatch(re);
  return err as CorruptInputError;
}

// --- raw tar writer for hostile and odd archives ---

interface RawOpts {
  name: string; // byte string
  type?: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  prefix?: string;
  format?: 'ustar' | 'gnu' | 'v7';
  patch?: (b: Uint8Array) => void;
}

function putStr(b: Uint8Array, off: number, len: number, s: string): void {
  if (s.length > len) throw new Error(`field too long: ${s}`);
  for (let i = 0; i < s.length; i++) b[off + i] = s.charCodeAt(i);
}

function putNum(b: Uint8Array, off: number, len: number, v: number): void {
  if (v >= 0 && v < 8 ** (len - 1)) {
    putStr(b, off, len, v.toString(8).padStart(len - 1, '0'));
    return;
  }
  // base-256, two's complement
  let x = BigInt(v);
  if (x < 0n) x += 1n << BigInt(8 * len);
  for (let i = len - 1; i >= 0; i--) {
    b[off + i] = Number(x & 0xffn);
    x >>= 8n;
  }
  b[off] = (b[off]! & 0x7f) | 0x80;
  if (v < 0) b[off] = 0xff;
}

function setChecksum(b: Uint8Array): void {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  putStr(b, 148, 7, sum.toString(8).padStart(6, '0') + '\0');
}

function header(o: RawOpts): Uint8Array {
  const b = new Uint8Array(512);
  putStr(b, 0, 100, o.name);
  putNum(b, 100, 8, o.mode ?? 0o644);
  putNum(b, 108, 8, o.uid ?? 0);
  putNum(b, 116, 8, o.gid ?? 0);
  putNum(b, 124, 12, o.size ?? 0);
  putNum(b, 136, 12, o.mtime ?? 1_600_000_000);
  b[156] = (o.type ?? '0').charCodeAt(0);
  putStr(b, 157, 100, o.linkname ?? '');
  const format = o.format ?? 'ustar';
  if (format === 'ustar') putStr(b, 257, 8, 'ustar\x0000');
  if (format === 'gnu') putStr(b, 257, 8, 'ustar  \0');
  if (format !== 'v7') {
    putNum(b, 329, 8, o.devmajor ?? 0);
    putNum(b, 337, 8, o.devminor ?? 0);
  }
  if (o.prefix) putStr(b, 345, 155, o.prefix);
  o.patch?.(b);
  setChecksum(b);
  return b;
}

const padded = (d: Uint8Array): Uint8Array => {
  const out = new Uint8Array(Math.ceil(d.length / 512) * 512);
  out.set(d);
  return out;
};

function member(o: RawOpts, data: Uint8Array = new Uint8Array(0)): Uint8Array[] {
  return [header({ ...o, size: o.size ?? data.length }), padded(data)];
}

/** Pax records; values are byte strings or raw bytes. */
function paxData(recs: [string, string | Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of recs) {
    const body = Buffer.concat([Buffer.from(` ${k}=`, 'latin1'), typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from(v), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.concat([Buffer.from(String(len)), body]));
  }
  return Buffer.concat(parts);
}

const pax = (recs: [string, string | Uint8Array][], type = 'x'): Uint8Array[] => member({ name: 'PaxHeaders/x', type }, paxData(recs));

function archive(...parts: Uint8Array[][]): Uint8Array {
  return Buffer.concat([...parts.flat(), new Uint8Array(1024)]);
}

async function packWithTarStream(add: (p: tarStream.Pack) => void): Promise<Uint8Array> {
  const p = tarStream.pack();
  add(p);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c);
  return Buffer.concat(chunks);
}

// --- GNU tar oracle ---

let tmp = '';
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-tar-'));
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function gnuTar(args: string[]): void {
  execFileSync('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

const p = (...parts: (string | Buffer)[]): Buffer => Buffer.concat(parts.flatMap((x, i) => [i ? Buffer.from('/') : Buffer.alloc(0), Buffer.from(x)]));

let canMknod = true;

/** Builds a source tree exercising every entry type; `long` adds names ustar cannot hold. */
function makeFixture(root: string, long: boolean): void {
  fs.mkdirSync(root);
  fs.mkdirSync(p(root, 'd'), { mode: 0o750 });
  fs.mkdirSync(p(root, 'd', 'sub'));
  fs.chmodSync(p(root, 'd', 'sub'), 0o700);
  fs.mkdirSync(p(root, 'sticky'));
  fs.chmodSync(p(root, 'sticky'), 0o1777);
  for (const n of [0, 1, 511, 512, 513, 100_000]) fs.writeFileSync(p(root, `f${n}`), randomBytes(n));
  fs.writeFileSync(p(root, 'd', 'sub', 'deep'), 'deep file\n');
  fs.writeFileSync(p(root, 'suid'), '#!/bin/sh\n');
  fs.chmodSync(p(root, 'suid'), 0o4755);
  fs.symlinkSync('../f513', p(root, 'd', 'link'));
  fs.linkSync(p(root, 'f100000'), p(root, 'd', 'hard1'));
  fs.linkSync(p(root, 'f100000'), p(root, 'hard2'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  try {
    execFileSync('mknod', [path.join(root, 'cdev'), 'c', '1', '3'], { stdio: 'ignore' });
    execFileSync('mknod', [path.join(root, 'bdev'), 'b', '7', '200'], { stdio: 'ignore' });
  } catch {
    canMknod = false;
  }
  fs.writeFileSync(p(root, 'ünïcødé-名前'), 'utf8 name');
  fs.writeFileSync(p(root, Buffer.from([0x6e, 0xff, 0xfe, 0x80])), 'latin1 name');
  // A 250-byte path that ustar can split into prefix/name.
  const pre = `${'p'.repeat(70)}/${'q'.repeat(79)}`;
  fs.mkdirSync(p(root, pre), { recursive: true });
  fs.writeFileSync(p(root, pre, 'n'.repeat(99)), 'split path');
  if (long) {
    const a = 'a'.repeat(100);
    const b = 'b'.repeat(120);
    fs.mkdirSync(p(root, a, b), { recursive: true });
    fs.writeFileSync(p(root, a, b, 'c'.repeat(255)), 'long name');
    fs.symlinkSync('t'.repeat(300), p(root, 'longlink'));
    fs.linkSync(p(root, a, b, 'c'.repeat(255)), p(root, a, 'h'.repeat(200)));
  }
  // Fixed, distinct mtimes (µs precision survives utimes).
  let t = 1_500_000_000.123456;
  const setTimes = (dir: Buffer): void => {
    for (const name of fs.readdirSync(dir, { encoding: 'buffer' })) {
      const full = p(dir, name);
      const st = fs.lstatSync(full);
      if (st.isDirectory()) setTimes(full);
      if (!st.isSymbolicLink()) fs.utimesSync(full, t, (t += 1001.000001));
    }
    fs.utimesSync(dir, t, (t += 7.5));
  };
  setTimes(Buffer.from(root));
}

interface FsEntry {
  kind: FsNode['kind'];
  perm: number;
  size: number;
  mtimeNs: bigint;
  ino: bigint;
  target?: string;
  sha?: string;
  rdev?: [number, number];
}

function snapshotFs(root: string): Map<string, FsEntry> {
  const out = new Map<string, FsEntry>();
  const visit = (rel: string, full: Buffer): void => {
    const st = fs.lstatSync(full, { bigint: true });
    const mode = Number(st.mode);
    const kinds: Record<number, FsNode['kind']> = {
      0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o020000: 'chardev', 0o060000: 'blockdev', 0o010000: 'fifo',
    };
    const e: FsEntry = { kind: kinds[mode & 0o170000]!, perm: mode & 0o7777, size: Number(st.size), mtimeNs: st.mtimeNs, ino: st.ino };
    if (e.kind === 'symlink') e.target = bs(fs.readlinkSync(full, { encoding: 'buffer' }));
    if (e.kind === 'file') e.sha = sha(fs.readFileSync(full));
    if (e.kind === 'chardev' || e.kind === 'blockdev') {
      const rdev = Number(st.rdev);
      e.rdev = [(rdev >> 8) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & 0xfff00)];
    }
    out.set(rel, e);
    if (e.kind === 'dir') {
      for (const name of fs.readdirSync(full, { encoding: 'buffer' })) visit(rel ? `${rel}/${bs(name)}` : bs(name), p(full, name));
    }
  };
  visit('', Buffer.from(root));
  return out;
}

async function compareWithFs(l: LoadedTree, root: string, o: { uid: number; gid: number; ns: boolean }): Promise<void> {
  const want = snapshotFs(root);
  const got = entries(l.tree.root);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  const shas = await contents(l);
  const byIno = new Map<bigint, FsNode>();
  for (const [rel, w] of want) {
    const n = got.get(rel)!;
    const what = `${rel}`;
    expect(n.kind, what).toBe(w.kind);
    expect(n.perm, what).toBe(w.perm);
    expect([n.uid, n.gid], what).toEqual([o.uid, o.gid]);
    if (n.kind !== 'symlink') {
      const ns = BigInt(n.mtime.sec) * 1_000_000_000n + BigInt(n.mtime.nsec);
      expect(ns, what).toBe(o.ns ? w.mtimeNs : (w.mtimeNs / 1_000_000_000n) * 1_000_000_000n);
    }
    if (n.kind === 'file') {
      expect(n.size, what).toBe(w.size);
      expect(n.dataRuns, what).toBeUndefined();
      expect(shas.get(n), what).toBe(w.sha);
    }
    if (n.kind === 'symlink') expect(n.target, what).toBe(w.target);
    if (n.kind === 'chardev' || n.kind === 'blockdev') expect([n.major, n.minor], what).toEqual(w.rdev);
    if (w.kind !== 'dir') {
      const seen = byIno.get(w.ino);
      if (seen) expect(n === seen, `${what} is the same node as its hard links`).toBe(true);
      else {
        for (const other of byIno.values()) expect(other === n).toBe(false);
        byIno.set(w.ino, n);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------

describe('tar source against GNU tar', () => {
  for (const format of ['ustar', 'gnu', 'posix'] as const) {
    it(`reads --format=${format} with every entry type`, async () => {
      const src = path.join(tmp, `fixture-${format}`);
      makeFixture(src, format !== 'ustar');
      const file = path.join(tmp, `${format}.tar`);
      gnuTar([`--format=${format}`, '--sort=name', '--owner=1234', '--group=5678', '--numeric-owner', '-cf', file, '-C', src, '.']);
      const l = await loadTarFile(file);
      expect(l.warnings).toEqual([]);
      await compareWithFs(l, src, { uid: 1234, gid: 5678, ns: format === 'posix' });
      if (format !== 'ustar') {
        const got = entries(l.tree.root);
        const longName = `${'a'.repeat(100)}/${'b'.repeat(120)}/${'c'.repeat(255)}`;
        expect(got.get(longName)?.kind).toBe('file');
        expect(got.get(`${'a'.repeat(100)}/${'h'.repeat(200)}`)).toBe(got.get(longName));
        expect((got.get('longlink') as { target: string }).target).toBe('t'.repeat(300));
      }
      const got = entries(l.tree.root);
      expect(got.has(utf8bs('ünïcødé-名前'))).toBe(true);
      expect(got.has('n\xff\xfe\x80')).toBe(true);
      expect(got.get('cdev')?.kind ?? 'skipped').toBe(canMknod ? 'chardev' : 'skipped');
    });
  }

  it('gives the same tree for a gzipped archive (also in tiny chunks and as several gzip members)', async () => {
    const src = path.join(tmp, 'fixture-gz');
    makeFixture(src, true);
    const plain = path.join(tmp, 'gz.tar');
    gnuTar(['--format=posix', '--sort=name', '-cf', plain, '-C', src, '.']);
    const gz = path.join(tmp, 'gz.tar.gz');
    gnuTar(['--format=posix', '--sort=name', '-czf', gz, '-C', src, '.']);
    const describe = async (l: LoadedTree): Promise<string[]> => {
      const shas = await contents(l);
      return [...entries(l.tree.root)].map(([k, n]) => `${k} ${n.kind} ${n.perm} ${n.mtime.sec}.${n.mtime.nsec} ${n.kind === 'file' ? shas.get(n) : ''}`);
    };
    const want = await describe(await loadTarFile(plain));
    expect(await describe(await loadTarFile(gz))).toEqual(want);
    expect(await describe(await load(fs.readFileSync(gz), 7))).toEqual(want);
    // Concatenated gzip members (pigz, `cat a.gz b.gz`), split at awkward places, plus trailing zero padding.
    const raw = fs.readFileSync(plain);
    const multi = Buffer.concat([gzipSync(raw.subarray(0, 1000)), gzipSync(raw.subarray(1000, 70_001)), gzipSync(raw.subarray(70_001)), Buffer.alloc(300)]);
    expect(await describe(await load(multi, 4096))).toEqual(want);
    expect(await describe(await load(multi, 65536))).toEqual(want);
  });

  it('keeps pax xattrs, including binary values, exactly', async () => {
    const src = path.join(tmp, 'xattr');
    fs.mkdirSync(src);
    const f = path.join(src, 'cap');
    fs.writeFileSync(f, 'x');
    const cap = Buffer.from('0100000200300000000000000000000000000000', 'hex');
    const user = Buffer.from([0, 0xff, 0x0a, 0x3d, 0x80, 0]);
    let xattrs: { setAttributeSync(p: string, n: string, v: Buffer): void } | null = null;
    try {
      xattrs = createRequire(import.meta.url)('@napi-rs/xattr');
      xattrs!.setAttributeSync(f, 'user.bin', user);
    } catch {
      xattrs = null;
    }
    let haveCap = false;
    try {
      xattrs?.setAttributeSync(f, 'security.capability', cap);
      haveCap = true;
    } catch {
      /* needs CAP_SETFCAP */
    }
    if (xattrs) {
      const file = path.join(tmp, 'xattr.tar');
      gnuTar(['--format=posix', '--xattrs', '--xattrs-include=*', '-cf', file, '-C', src, 'cap']);
      const node = entries((await loadTarFile(file)).tree.root).get('cap')!;
      const got = Object.fromEntries(node.xattrs.map((x) => [x.name, Buffer.from(x.value).toString('hex')]));
      expect(got['user.bin']).toBe(user.toString('hex'));
      if (haveCap) expect(got['security.capability']).toBe(cap.toString('hex'));
    }
    // The same through hand-made pax records (always runs), plus libarchive's encoding.
    const buf = archive(
      pax([
        ['SCHILY.xattr.security.capability', cap],
        ['SCHILY.xattr.user.bin', user],
        ['LIBARCHIVE.xattr.user.b64%3Dname', Buffer.from([1, 2, 0xfe]).toString('base64')],
        ['LIBARCHIVE.xattr.user.bin', 'AAAA'], // SCHILY wins for the same name
      ]),
      member({ name: 'f' }, Buffer.from('x')),
    );
    const n = entries((await load(buf)).tree.root).get('f')!;
    expect(n.xattrs.map((x) => [x.name, Buffer.from(x.value).toString('hex')])).toEqual([
      ['security.capability', cap.toString('hex')],
      ['user.b64=name', '0102fe'],
      ['user.bin', user.toString('hex')],
    ]);
  });

  it('reads nanosecond, negative and pre-epoch times and uid/gid over 2^21', async () => {
    const src = path.join(tmp, 'times');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'neg'), 'n');
    fs.writeFileSync(path.join(src, 'ns'), 'n');
    execFileSync('touch', ['-d', '@-1.5', path.join(src, 'neg')]);
    execFileSync('touch', ['-d', '@1600000000.123456789', path.join(src, 'ns')]);
    for (const format of ['posix', 'gnu']) {
      const file = path.join(tmp, `times-${format}.tar`);
      gnuTar([`--format=${format}`, '--owner=4000000000', '--group=4000000001', '--numeric-owner', '-cf', file, '-C', src, 'neg', 'ns']);
      const got = entries((await loadTarFile(file)).tree.root);
      const neg = got.get('neg')!;
      const ns = got.get('ns')!;
      expect([neg.uid, neg.gid]).toEqual([4000000000, 4000000001]);
      if (format === 'posix') {
        expect(neg.mtime).toEqual({ sec: -2, nsec: 500_000_000 });
        expect(neg.atime).toEqual({ sec: -2, nsec: 500_000_000 });
        expect(ns.mtime).toEqual({ sec: 1600000000, nsec: 123456789 });
      } else {
        expect(neg.mtime).toEqual({ sec: -2, nsec: 0 }); // base-256 negative
        expect(ns.mtime).toEqual({ sec: 1600000000, nsec: 0 });
        expect(ns.atime).toEqual(ns.mtime);
        expect(ns.ctime).toEqual(ns.mtime);
      }
    }
    // Exact decimal parsing, no float rounding; atime/ctime from pax.
    const buf = archive(
      pax([['mtime', '1234567890.987654321999'], ['atime', '-0.000000001'], ['ctime', '-7'], ['uid', '9007199254740991']]),
      member({ name: 'a' }),
      pax([['mtime', '42.1']]),
      member({ name: 'b', mtime: -5 }),
      member({ name: 'c', mtime: -5, uid: 2 ** 40, gid: 3 }),
    );
    const got = entries((await load(buf)).tree.root);
    expect(got.get('a')!.mtime).toEqual({ sec: 1234567890, nsec: 987654321 });
    expect(got.get('a')!.atime).toEqual({ sec: -1, nsec: 999_999_999 });
    expect(got.get('a')!.ctime).toEqual({ sec: -7, nsec: 0 });
    expect(got.get('a')!.uid).toBe(9007199254740991);
    expect(got.get('b')!.mtime).toEqual({ sec: 42, nsec: 100_000_000 });
    expect(got.get('b')!.ctime).toEqual({ sec: 42, nsec: 100_000_000 });
    expect(got.get('c')!.mtime).toEqual({ sec: -5, nsec: 0 });
    expect([got.get('c')!.uid, got.get('c')!.gid]).toEqual([2 ** 40, 3]);
  });

  it('reads sparse files in every GNU sparse format', async () => {
    const src = path.join(tmp, 'sparse');
    fs.mkdirSync(src);
    const f = path.join(src, 'sp');
    const one = randomBytes(8192);
    const two = randomBytes(12288);
    const fd = fs.openSync(f, 'w');
    fs.ftruncateSync(fd, 64 << 20);
    fs.writeSync(fd, one, 0, one.length, 1 << 20);
    fs.writeSync(fd, two, 0, two.length, 40 << 20);
    fs.closeSync(fd);
    // Many runs, so the old GNU format needs extension blocks.
    const g = path.join(src, 'many');
    const fd2 = fs.openSync(g, 'w');
    fs.ftruncateSync(fd2, 4 << 20);
    const pieces: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      const piece = randomBytes(4096);
      pieces.push(piece);
      fs.writeSync(fd2, piece, 0, 4096, i * 65536 + 65536);
    }
    fs.closeSync(fd2);
    const variants: [string, string[]][] = [
      ['pax 1.0', ['--format=posix']],
      ['pax 0.1', ['--format=posix', '--sparse-version=0.1']],
      ['pax 0.0', ['--format=posix', '--sparse-version=0.0']],
      ['old GNU', ['--format=gnu']],
    ];
    for (const [what, args] of variants) {
      const file = path.join(tmp, `sparse-${what.replace(/\W/g, '')}.tar`);
      gnuTar([...args, '--sparse', '-cf', file, '-C', src, 'sp', 'many']);
      for (const gz of [false, true]) {
        const bytes = fs.readFileSync(file);
        const l = await load(gz ? gzipSync(bytes) : bytes, 5000);
        const got = entries(l.tree.root);
        expect([...got.keys()].sort(), what).toEqual(['', 'many', 'sp']);
        const sp = got.get('sp') as FileNode;
        expect(sp.size, what).toBe(64 << 20);
        expect(sp.dataRuns, what).toEqual([{ offset: 1 << 20, length: 8192 }, { offset: 40 << 20, length: 12288 }]);
        const many = got.get('many') as FileNode;
        expect(many.size, what).toBe(4 << 20);
        expect(many.dataRuns, what).toEqual(pieces.map((_, i) => ({ offset: i * 65536 + 65536, length: 4096 })));
        const shas = await contents(l);
        expect(shas.get(sp), what).toBe(sha(Buffer.concat([one, two])));
        expect(shas.get(many), what).toBe(sha(Buffer.concat(pieces)));
      }
    }
  });
});

describe('tar source: odd and hostile archives', () => {
  it('handles every entry type from hand-made headers', async () => {
    const buf = archive(
      member({ name: './', type: '5', mode: 0o40711, uid: 7 }),
      member({ name: 'f', mode: 0o100640, uid: 1, gid: 2 }, Buffer.from('hello')),
      member({ name: 'old', type: '\0' }, Buffer.from('old style')),
      member({ name: 'contig', type: '7' }, Buffer.from('contiguous')),
      member({ name: 'v7dir/', type: '\0', format: 'v7' }),
      member({ name: 'v7file', format: 'v7', mode: 0o600 }, Buffer.from('v7')),
      member({ name: 'hl', type: '1', linkname: './f' }),
      member({ name: 'sl', type: '2', linkname: 'f' }),
      member({ name: 'c', type: '3', devmajor: 4, devminor: 64 }),
      member({ name: 'b', type: '4', devmajor: 259, devminor: 1 << 20 }),
      pax([['SCHILY.devmajor', '4095'], ['SCHILY.devminor', '1048575']]),
      member({ name: 'big', type: '4' }),
      member({ name: 'p', type: '6', mode: 0o10600 }),
      member({ name: 'x', prefix: 'pre/fix' }, Buffer.from('prefixed')),
      member({ name: 'V', type: 'V' }), // a volume label is not a file
    );
    const l = await load(buf, 100);
    const got = entries(l.tree.root);
    expect([...got.keys()].sort()).toEqual(['', 'b', 'big', 'c', 'contig', 'f', 'hl', 'old', 'p', 'pre', 'pre/fix', 'pre/fix/x', 'sl', 'v7dir', 'v7file']);
    expect([l.tree.root.perm, l.tree.root.uid]).toEqual([0o711, 7]);
    expect(got.get('hl')).toBe(got.get('f'));
    expect(got.get('f')).toMatchObject({ kind: 'file', perm: 0o640, uid: 1, gid: 2, size: 5 });
    expect(got.get('v7dir')?.kind).toBe('dir');
    expect(got.get('sl')).toMatchObject({ kind: 'symlink', target: 'f' });
    expect(got.get('c')).toMatchObject({ kind: 'chardev', major: 4, minor: 64 });
    expect(got.get('b')).toMatchObject({ kind: 'blockdev', major: 259, minor: 1 << 20 });
    expect(got.get('big')).toMatchObject({ kind: 'blockdev', major: 4095, minor: 1048575 });
    expect(got.get('p')).toMatchObject({ kind: 'fifo', perm: 0o600 });
    const shas = await contents(l);
    expect(shas.get(got.get('contig') as FileNode)).toBe(sha(Buffer.from('contiguous')));
    expect(shas.get(got.get('pre/fix/x') as FileNode)).toBe(sha(Buffer.from('prefixed')));
    expect(shas.get(got.get('v7file') as FileNode)).toBe(sha(Buffer.from('v7')));
  });

  it('applies pax global headers, GNU long names and later-entry-wins', async () => {
    const longName = `${'dir/'.repeat(60)}${'n'.repeat(255)}`;
    const buf = archive(
      pax([['uid', '4000000000'], ['mtime', '5.5'], ['path', 'ignored-global-path']], 'g'),
      member({ name: 'a' }, Buffer.from('first')),
      pax([['uid', '']]), // cancels the global for this entry
      member({ name: 'b', uid: 3 }),
      member({ name: '././@LongLink', type: 'L', format: 'gnu' }, Buffer.from(`${longName}\0`)),
      member({ name: 'short', format: 'gnu' }, Buffer.from('long')),
      member({ name: '././@LongLink', type: 'K', format: 'gnu' }, Buffer.from('k'.repeat(400))),
      member({ name: 'ln', type: '2', format: 'gnu', linkname: 'short-target' }),
      pax([['path', `\xff/${'q'.repeat(300)}`], ['linkpath', 'a']]),
      member({ name: 'ignored', type: '1' }),
      member({ name: 'a' }, Buffer.from('second')),
    );
    const l = await load(buf);
    const got = entries(l.tree.root);
    expect(got.get('b')!.uid).toBe(3);
    expect(got.get('b')!.mtime).toEqual({ sec: 5, nsec: 500_000_000 });
    expect(got.get(longName)?.kind).toBe('file');
    expect(got.has('short')).toBe(false);
    expect(got.has('ignored-global-path')).toBe(false);
    expect((got.get('ln') as { target: string }).target).toBe('k'.repeat(400));
    const first = got.get(`\xff/${'q'.repeat(300)}`) as FileNode;
    const second = got.get('a') as FileNode;
    expect(first).not.toBe(second); // the hard link kept the node that was there
    expect(first.uid).toBe(4000000000);
    const shas = await contents(l);
    expect(shas.get(first)).toBe(sha(Buffer.from('first')));
    expect(shas.get(second)).toBe(sha(Buffer.from('second')));
  });

  it('rejects unsafe names and impossible links with one-line errors naming archive and entry', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [archive(member({ name: '../evil' })), /^test\.tar: \.\.\/evil: .*"\.\."/],
      [archive(member({ name: 'a/../../evil' })), /contains "\.\."/],
      [archive(member({ name: '/etc/passwd' })), /^test\.tar: \/etc\/passwd: absolute name/],
      [archive(pax([['path', 'a\0b']]), member({ name: 'x' })), /NUL/],
      [archive(member({ name: 'h', type: '1', linkname: 'missing' })), /^test\.tar: h: hard link to "missing", which is not in the archive/],
      [archive(member({ name: 'd', type: '5' }), member({ name: 'h', type: '1', linkname: 'd' })), /which is a directory/],
      [archive(member({ name: 'h', type: '1', linkname: '../x' })), /"\.\."/],
      [archive(member({ name: 'a' }), member({ name: 'a/b' })), /^test\.tar: a\/b: parent "a" is not a directory/],
      [archive(member({ name: 'weird', type: 'Z' })), /^test\.tar: weird: unknown entry type 'Z'/],
      [archive(member({ name: 'weird', type: '\x01' })), /unknown entry type 0x01/],
      [archive(member({ name: 'a', type: '2' }), member({ name: '.', type: '0' })), /root entry is not a directory/],
      [archive(pax([['size', '12x']]), member({ name: 'a' })), /pax size="12x" is not a valid number/],
      [archive(pax([['mtime', '1e5']]), member({ name: 'a' })), /not a valid time/],
      [archive([header({ name: 'PaxHeaders/x', type: 'x', size: 10 }), padded(Buffer.from('99 a=b\n'))]), /malformed pax record/],
      [archive(pax([['GNU.sparse.major', '2'], ['GNU.sparse.minor', '0'], ['GNU.sparse.realsize', '10']]), member({ name: 's' })), /unsupported GNU sparse format 2\.0/],
      [archive(member({ name: 'vol', type: 'M' })), /multi-volume/],
      [Buffer.concat([...pax([['path', 'x']]), new Uint8Array(1024)]), /extended header with no entry/],
    ];
    for (const [buf, re] of cases) await expectCorrupt(load(buf), re);
  });

  it('reports truncated and corrupt archives as CorruptInputError', async () => {
    const good = archive(member({ name: 'f' }, randomBytes(3000)), member({ name: 'g' }, randomBytes(100)));
    await expectCorrupt(load(good.subarray(0, 700)), /^test\.tar: f: archive is truncated/);
    await expectCorrupt(load(good.subarray(0, 300)), /^test\.tar: header at byte 0: archive is truncated/);
    await expectCorrupt(load(good.subarray(0, 3584 + 100)), /header at byte 3584: archive is truncated/);
    const bad = Buffer.from(good);
    bad[3584 + 3] ^= 1;
    await expectCorrupt(load(bad), /^test\.tar: header at byte 3584: bad header checksum/);
    await expectCorrupt(load(Buffer.from('this is not a tar archive at all, just some text\n'.repeat(20))), /bad header checksum|truncated/);
    const badMode = header({ name: 'm', patch: (b) => putStr(b, 100, 8, '0009999\0') });
    await expectCorrupt(load(archive([badMode])), /mode field is not a number/);
    // gzip: truncated, corrupted, trailing garbage, other compressors
    const gz = gzipSync(good);
    await expectCorrupt(load(gz.subarray(0, gz.length - 20)), /truncated gzip|archive is truncated/);
    await expectCorrupt(load(gz.subarray(0, 5)), /truncated gzip/);
    const crc = Buffer.from(gz);
    crc[crc.length - 6] ^= 0xff; // CRC32 of the data
    await expectCorrupt(load(crc), /^test\.tar: corrupt gzip data/);
    const flipped = Buffer.from(gz);
    flipped[40] ^= 0x55;
    await expectCorrupt(load(flipped));
    await expectCorrupt(load(Buffer.concat([gz, Buffer.from('garbage')])), /^test\.tar: corrupt gzip data/);
    await expectCorrupt(load(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3])), /xz-compressed archives are not supported/);
    // An empty file and a bare end marker are empty archives.
    expect((await load(new Uint8Array(0))).tree.root.entries.size).toBe(0);
    expect((await load(new Uint8Array(1024))).tree.root.entries.size).toBe(0);
    // A missing file is reported, not thrown raw.
    await expect(loadTarFile(path.join(tmp, 'no-such.tar'))).rejects.toBeInstanceOf(CakeError);
  });

  it('passes a sink error through unchanged', async () => {
    const l = await load(archive(member({ name: 'f' }, Buffer.from('data'))));
    const boom = new Error('disk full');
    await expect(l.content.read((entries(l.tree.root).get('f') as FileNode).content!, () => {
      throw boom;
    })).rejects.toBe(boom);
    await l.content.close();
  });

  it('notices an archive that changed between the passes', async () => {
    let gen = 0;
    const a = archive(member({ name: 'f' }, Buffer.from('one')), member({ name: 'g' }, Buffer.from('two')));
    const b = archive(member({ name: 'f' }, Buffer.from('ONE!')), member({ name: 'g' }, Buffer.from('two')));
    const l = await loadTar(() => streamOf(gen++ === 0 ? a : b)(), { label: 'moving.tar' });
    const f = entries(l.tree.root).get('f') as FileNode;
    await expectCorrupt(l.content.read(f.content!, () => {}), /^moving\.tar: f: archive ended early or changed/);
  });

  it('streams refs in order, and starts over when asked to go back', async () => {
    const datas = Array.from({ length: 20 }, (_, i) => randomBytes(i * 997));
    const buf = archive(...datas.map((d, i) => member({ name: `f${i}` }, d)));
    let opens = 0;
    const l = await loadTar(() => {
      opens++;
      return streamOf(buf, 333)();
    }, { label: 't' });
    const got = entries(l.tree.root);
    const read = async (i: number): Promise<string> => {
      const f = got.get(`f${i}`) as FileNode;
      if (!f.content) return sha(new Uint8Array(0));
      const h = createHash('sha256');
      await l.content.read(f.content, (c) => void h.update(c));
      return h.digest('hex');
    };
    for (let i = 0; i < 20; i++) expect(await read(i)).toBe(sha(datas[i]!));
    expect(opens).toBe(2);
    expect(await read(3)).toBe(sha(datas[3]!));
    expect(await read(19)).toBe(sha(datas[19]!));
    expect(opens).toBe(3);
    await l.content.close();
  });

  it('never throws anything but a CakeError on damaged input', async () => {
    const base = archive(
      pax([['mtime', '1.5'], ['SCHILY.xattr.user.a', 'b'], ['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.realsize', '9000'], ['GNU.sparse.name', 'sp']]),
      member({ name: 'GNUSparseFile/sp' }, Buffer.concat([padded(Buffer.from('2\n0\n10\n8000\n5\n')), Buffer.from('0123456789abcde')])),
      member({ name: 'd', type: '5' }),
      member({ name: 'd/f' }, randomBytes(700)),
      member({ name: 'L', type: 'L', format: 'gnu' }, Buffer.from('long/name')),
      member({ name: 'x', type: '2', format: 'gnu', linkname: 'y' }),
    );
    const l0 = await load(base);
    expect((entries(l0.tree.root).get('sp') as FileNode).dataRuns).toEqual([{ offset: 0, length: 10 }, { offset: 8000, length: 5 }]);
    await contents(l0);
    const gz = gzipSync(base);
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat()),
        fc.boolean(),
        async (useGz, flips, cut, fixSums) => {
          const buf = Buffer.from(useGz ? gz : base);
          for (const [at, v] of flips) buf[at % buf.length] = v;
          // Re-checksum damaged headers so the damage reaches the field and pax parsers.
          if (fixSums && !useGz) {
            for (let o = 0; o + 512 <= buf.length; o += 512) if (buf.subarray(o + 257, o + 262).toString() === 'ustar') setChecksum(buf.subarray(o, o + 512));
          }
          const input = cut === null ? buf : buf.subarray(0, cut % buf.length);
          try {
            await contents(await load(input, 256));
          } catch (e) {
            if (!(e instanceof CakeError)) throw e;
            expect(e.message.includes('\n')).toBe(false);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('tar source: scale', () => {
  it('handles a member over 8 GiB (base-256 and pax sizes) with flat memory', async () => {
    const big = 9 * 2 ** 30 + 123;
    const zero = new Uint8Array(1 << 20);
    const make = (usePax: boolean) =>
      async function* (): AsyncGenerator<Uint8Array> {
        if (usePax) yield* pax([['size', String(big)]]);
        yield header({ name: 'huge', size: usePax ? 0 : big });
        for (let left = big + ((512 - (big % 512)) % 512); left > 0; left -= zero.length) yield zero.subarray(0, Math.min(left, zero.length));
        yield* member({ name: 'after' }, Buffer.from('tail'));
        yield new Uint8Array(1024);
      };
    for (const usePax of [false, true]) {
      const before = process.memoryUsage().rss;
      const l = await loadTar(make(usePax), { label: 'big.tar' });
      const got = entries(l.tree.root);
      const huge = got.get('huge') as FileNode;
      expect(huge.size).toBe(big);
      let n = 0;
      await l.content.read(huge.content!, (c) => void (n += c.length));
      expect(n).toBe(big);
      let tail = '';
      await l.content.read((got.get('after') as FileNode).content!, (c) => void (tail += Buffer.from(c).toString()));
      expect(tail).toBe('tail');
      await l.content.close();
      expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
    }
  });

  it('inflates a highly compressible gzip member in bounded pieces', async () => {
    const size = 96 << 20;
    const zero = new Uint8Array(1 << 20);
    const tarBytes = async function* (): AsyncGenerator<Uint8Array> {
      yield header({ name: 'zeros', size });
      for (let left = size; left > 0; left -= zero.length) yield zero;
      yield new Uint8Array(1024);
    };
    const gz: Buffer[] = [];
    for await (const c of Readable.from(tarBytes()).pipe(createGzip({ level: 1 }))) gz.push(c as Buffer);
    const compressed = Buffer.concat(gz);
    expect(compressed.length).toBeLessThan(2 << 20);
    const before = process.memoryUsage().rss;
    const l = await load(compressed, 1 << 20);
    let n = 0;
    let biggest = 0;
    await l.content.read((entries(l.tree.root).get('zeros') as FileNode).content!, (c) => {
      n += c.length;
      biggest = Math.max(biggest, c.length);
    });
    await l.content.close();
    expect(n).toBe(size);
    expect(biggest).toBeLessThanOrEqual(1 << 20);
    expect(process.memoryUsage().rss - before).toBeLessThan(128 << 20);
  });

  it('handles 100,000 entries', async () => {
    const count = 100_000;
    const template = header({ name: '', size: 1 });
    const gen = async function* (): AsyncGenerator<Uint8Array> {
      const batch = new Uint8Array(1024 * 128);
      let used = 0;
      for (let i = 0; i < count; i++) {
        const h = batch.subarray(used, used + 512);
        h.set(template);
        putStr(h, 0, 100, `d${i % 97}/f${i}`);
        setChecksum(h);
        batch.fill(0, used + 512, used + 1024);
        batch[used + 512] = i & 0xff;
        used += 1024;
        if (used === batch.length) {
          yield batch;
          used = 0;
        }
      }
      yield Buffer.concat([batch.subarray(0, used), new Uint8Array(1024)]);
    };
    const l = await loadTar(gen, { label: 'many.tar' });
    const files = [...entries(l.tree.root).values()].filter((n): n is FileNode => n.kind === 'file');
    expect(files.length).toBe(count);
    files.sort((a, b) => a.content!.order - b.content!.order);
    let sum = 0;
    let bad = 0;
    let i = 0;
    for (const f of files) {
      await l.content.read(f.content!, (c) => {
        if (c[0] !== (i & 0xff)) bad++;
        sum += c.length;
      });
      i++;
    }
    expect([sum, bad]).toEqual([count, 0]);
    await l.content.close();
  });
});

describe('tar source: property against tar-stream pack', () => {
  it('random trees round-trip paths, kinds, modes, owners and content', async () => {
    const comp = fc.constantFrom('a', 'b', 'c', 'dd', 'é', '名');
    const leaf = fc.record({
      kind: fc.constantFrom('file', 'file', 'symlink', 'fifo', 'dir'),
      mode: fc.integer({ min: 1, max: 0o7777 }), // tar-stream turns 0 into a default
      uid: fc.integer({ min: 0, max: 2 ** 18 - 1 }), // tar-stream pack writes 6 octal digits
      gid: fc.integer({ min: 0, max: 2 ** 18 - 1 }),
      mtime: fc.integer({ min: 0, max: 2 ** 31 - 1 }), // tar-stream pack truncates with |0
      data: fc.uint8Array({ maxLength: 1500 }),
      target: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !s.includes('\0')),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.array(comp, { minLength: 1, maxLength: 3 }).map((c) => c.join('/'))),
        fc.array(leaf, { minLength: 12, maxLength: 12 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 3 }),
        async (paths, attrs, reverse, links) => {
          // Every proper prefix of a path is a directory; the rest get random kinds.
          const all = new Set<string>();
          for (const pth of paths) {
            const parts = pth.split('/');
            for (let i = 1; i <= parts.length; i++) all.add(parts.slice(0, i).join('/'));
          }
          const isPrefix = (x: string): boolean => [...all].some((y) => y.startsWith(`${x}/`));
          const list = [...all].sort();
          if (reverse) list.reverse();
          const spec = list.map((pth, i) => {
            const a = attrs[i % attrs.length]!;
            return { path: pth, ...a, kind: isPrefix(pth) ? 'dir' : a.kind };
          });
          const files = spec.filter((s) => s.kind === 'file');
          const hard = files.length ? links.map((n, i) => ({ path: `link${i}`, to: files[n % files.length]!.path })) : [];
          const buf = await packWithTarStream((pk) => {
            for (const s of spec) {
              const h = { name: s.path, mode: s.mode, uid: s.uid, gid: s.gid, mtime: new Date(s.mtime * 1000) };
              if (s.kind === 'file') pk.entry({ ...h, type: 'file', size: s.data.length }, Buffer.from(s.data));
              else if (s.kind === 'dir') pk.entry({ ...h, type: 'directory' });
              else if (s.kind === 'symlink') pk.entry({ ...h, type: 'symlink', linkname: s.target });
              else pk.entry({ ...h, type: 'fifo' });
            }
            for (const hl of hard) pk.entry({ name: hl.path, type: 'link', linkname: hl.to });
          });
          const l = await load(buf, 1000);
          const got = entries(l.tree.root);
          expect(got.size).toBe(spec.length + hard.length + 1);
          const shas = await contents(l);
          for (const s of spec) {
            const n = got.get(utf8bs(s.path))!;
            expect(n.kind).toBe(s.kind);
            expect([n.perm, n.uid, n.gid, n.mtime.sec, n.mtime.nsec]).toEqual([s.mode, s.uid, s.gid, s.mtime, 0]);
            if (n.kind === 'file') expect(shas.get(n)).toBe(sha(s.data));
            if (n.kind === 'symlink') expect(n.target).toBe(utf8bs(s.target));
          }
          for (const hl of hard) expect(got.get(hl.path)).toBe(got.get(utf8bs(hl.to)));
        },
      ),
      { numRuns: 60 },
    );
  });
});
