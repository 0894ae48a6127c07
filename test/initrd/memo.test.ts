// The initrd memo (host/initrd-memo.ts): a rebake with nothing changed takes the cached
// initrd without building its archive, and any change to a host file the build read (a
// module, modules.dep, busybox), a corrupt cache entry or a rootfs with its own busybox
// means building again. Each case checks the bytes against a build without any cache.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { initrdBytes } from '../../src/api/initrd.js';
import { DepRecorder, readMemo, writeMemo } from '../../src/host/initrd-memo.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-memo-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const UUID = '12345678-1234-1234-1234-123456789abc';
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));

let n = 0;
/** A fresh lib/modules/<version> with two modules and a cache directory. */
function setup(): { modules: string; cache: string } {
  const root = path.join(work, `case-${n++}`);
  const modules = path.join(root, 'lib/modules/9.9.9-memo');
  fs.mkdirSync(path.join(modules, 'kernel/fs'), { recursive: true });
  fs.writeFileSync(path.join(modules, 'kernel/fs/a.ko'), 'module a\n'.repeat(40));
  fs.writeFileSync(path.join(modules, 'kernel/fs/b.ko'), 'module b\n'.repeat(40));
  fs.writeFileSync(path.join(modules, 'modules.dep'), 'kernel/fs/a.ko: kernel/fs/b.ko\nkernel/fs/b.ko:\n');
  const cache = path.join(root, 'cache');
  fs.mkdirSync(cache);
  return { modules, cache };
}

const request = (modules: string) => ({ busybox: BUSYBOX, kernelModules: modules, modules: ['a'], rootUuid: UUID, sourceDateEpoch: 1700000000 });

/** The initrd archive, as text (to look for a module's or /init's bytes). */
function archiveText(gz: Uint8Array): string {
  return gunzipSync(gz).toString('latin1');
}

describe.skipIf(!BUSYBOX)('initrd memo', () => {
  let c: { modules: string; cache: string };
  beforeEach(() => {
    c = setup();
  });

  it('a second build with nothing changed takes the memo, and gives the bytes of a build without cache', async () => {
    const first = await initrdBytes(request(c.modules), c.cache);
    expect(first.cached).toBe(false);
    const memos = fs.readdirSync(c.cache).filter((f) => f.endsWith('.memo.json'));
    expect(memos).toHaveLength(1);
    // Every file the build looked at is in the memo: busybox, the directory, modules.dep, both modules.
    const stored = fs.readFileSync(path.join(c.cache, memos[0]!), 'utf8');
    for (const f of [BUSYBOX!, c.modules, 'modules.dep', 'kernel/fs/a.ko', 'kernel/fs/b.ko']) expect(stored).toContain(f);
    const second = await initrdBytes(request(c.modules), c.cache);
    expect(second.cached).toBe(true);
    expect(second.built.loadOrder).toEqual(['kernel/fs/b.ko', 'kernel/fs/a.ko']);
    const fresh = await initrdBytes(request(c.modules));
    expect(Buffer.from(second.bytes).equals(Buffer.from(fresh.bytes))).toBe(true);
  });

  it('a module rewritten with the same size and mtime is seen (ctime), and the new bytes go in', async () => {
    // Whole seconds, so the mtime put back is exactly the one the memo saw.
    const ko = path.join(c.modules, 'kernel/fs/b.ko');
    fs.utimesSync(ko, 1600000000, 1600000000);
    await initrdBytes(request(c.modules), c.cache);
    fs.writeFileSync(ko, 'MODULE B\n'.repeat(40));
    fs.utimesSync(ko, 1600000000, 1600000000);
    const again = await initrdBytes(request(c.modules), c.cache);
    expect(again.cached).toBe(false);
    expect(archiveText(again.bytes)).toContain('MODULE B');
    expect(Buffer.from(again.bytes).equals(Buffer.from((await initrdBytes(request(c.modules))).bytes))).toBe(true);
  });

  it('a changed modules.dep means building again (a new dependency goes in)', async () => {
    await initrdBytes(request(c.modules), c.cache);
    fs.writeFileSync(path.join(c.modules, 'kernel/fs/c.ko'), 'module c\n'.repeat(40));
    fs.writeFileSync(path.join(c.modules, 'modules.dep'), 'kernel/fs/a.ko: kernel/fs/b.ko kernel/fs/c.ko\nkernel/fs/b.ko:\nkernel/fs/c.ko:\n');
    const again = await initrdBytes(request(c.modules), c.cache);
    expect(again.cached).toBe(false);
    expect(again.built.loadOrder).toContain('kernel/fs/c.ko');
  });

  it('a busybox given through a symlink: a new file behind the same link misses the memo', async () => {
    const copy = path.join(c.cache, '..', 'busybox-copy');
    const link = path.join(c.cache, '..', 'busybox-link');
    fs.copyFileSync(BUSYBOX!, copy);
    fs.symlinkSync(copy, link);
    const viaLink = { ...request(c.modules), busybox: link };
    const first = await initrdBytes(viaLink, c.cache);
    expect((await initrdBytes(viaLink, c.cache)).cached).toBe(true);
    const bb = fs.readFileSync(copy);
    bb[bb.length - 1]! ^= 0x01;
    fs.rmSync(copy);
    fs.writeFileSync(copy, bb);
    const again = await initrdBytes(viaLink, c.cache);
    expect(again.cached).toBe(false);
    expect(Buffer.from(again.bytes).equals(Buffer.from(first.bytes))).toBe(false);
  });

  it('a path that is not ASCII makes the record incomplete, and no memo is written from it', () => {
    // (A byte string the reader would pass as bytes: looked up by name as text, its
    // identity would be that of another path, or none, both times.)
    const rec = new DepRecorder();
    rec.touch(path.join(c.modules, 'modules.dep'));
    expect(rec.complete).toBe(true);
    rec.touch(path.join(c.modules, 'kernel/fs/b\xc3\xa9.ko'));
    expect(rec.complete).toBe(false);
    const memo = { archive: '0'.repeat(64), gz: '0'.repeat(64), loadOrder: [], builtin: [], notes: [] };
    expect(writeMemo(c.cache, 'k', memo, rec)).toBeNull();
    expect(fs.readdirSync(c.cache)).toEqual([]);
  });

  it('a corrupt cache entry is not used, even with a valid memo', async () => {
    const first = await initrdBytes(request(c.modules), c.cache);
    const gz = fs.readdirSync(c.cache).find((f) => f.endsWith('.gz'))!;
    const bad = Buffer.from(first.bytes);
    bad[bad.length - 20]! ^= 0xff;
    fs.writeFileSync(path.join(c.cache, gz), bad);
    const again = await initrdBytes(request(c.modules), c.cache);
    expect(again.cached).toBe(false);
    expect(Buffer.from(again.bytes).equals(Buffer.from(first.bytes))).toBe(true);
  });

  it("a rootfs's own busybox is part of the request: the memo serves it, and other bytes there miss it", async () => {
    const rootfs = path.join(work, `rootfs-${n++}`);
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.copyFileSync(BUSYBOX!, path.join(rootfs, 'bin/busybox'));
    const withRootfs = async () => {
      const loaded = await loadDirectory(new NodeSourceFs(rootfs, { xattrs: false }));
      try {
        return await initrdBytes({ ...request(c.modules), busybox: undefined, rootfs: loaded }, c.cache);
      } finally {
        await loaded.content.close();
      }
    };
    expect((await withRootfs()).cached).toBe(false);
    const second = await withRootfs();
    expect(second.cached).toBe(true);
    // A busybox of the same size with one byte changed (in the ELF padding a busybox
    // never reads back: the last byte) must not be served the old archive.
    const bb = fs.readFileSync(path.join(rootfs, 'bin/busybox'));
    bb[bb.length - 1]! ^= 0x01;
    fs.writeFileSync(path.join(rootfs, 'bin/busybox'), bb);
    const third = await withRootfs();
    expect(third.cached).toBe(false);
    expect(Buffer.from(third.bytes).equals(Buffer.from(second.bytes))).toBe(false);
  });

  it('another UUID is another request (no memo), and a memo naming a vanished file is refused', async () => {
    await initrdBytes(request(c.modules), c.cache);
    const other = await initrdBytes({ ...request(c.modules), rootUuid: '87654321-4321-4321-4321-cba987654321' }, c.cache);
    expect(other.cached).toBe(false);
    expect(archiveText(other.bytes)).toContain('87654321-4321-4321-4321-cba987654321');
    const memo = fs.readdirSync(c.cache).find((f) => f.endsWith('.memo.json'))!;
    const key = memo.replace('.memo.json', '');
    expect(readMemo(c.cache, key)).not.toBeNull();
    fs.rmSync(path.join(c.modules, 'kernel/fs/b.ko'));
    expect(readMemo(c.cache, key)).toBeNull();
  });

  // The memo is read back from the cache directory: whatever bytes are there, reading it
  // gives null or a memo whose every field is of its kind, and never throws.
  it('reading a memo of any bytes never throws, and gives null or a well-formed memo', () => {
    const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
    const strings = fc.array(fc.string(), { maxLength: 3 });
    const nearlyRight = fc.record({
      archive: fc.oneof(hex, fc.string(), fc.integer()), gz: fc.oneof(hex, fc.constant(null)),
      loadOrder: fc.oneof(strings, fc.jsonValue()), builtin: strings, notes: fc.oneof(strings, fc.array(fc.integer())),
      deps: fc.oneof(fc.array(fc.oneof(fc.string(), fc.constant(`${c.modules}\0-`), fc.integer())), fc.jsonValue()),
    });
    const contents = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v))),
      nearlyRight.map((v) => new TextEncoder().encode(JSON.stringify(v))));
    fc.assert(fc.property(contents, (bytes) => {
      fs.writeFileSync(path.join(c.cache, 'fuzz.memo.json'), bytes);
      const m = readMemo(c.cache, 'fuzz');
      if (m === null) return;
      expect(m.archive).toMatch(/^[0-9a-f]{64}$/);
      expect(m.gz).toMatch(/^[0-9a-f]{64}$/);
      for (const a of [m.loadOrder, m.builtin, m.notes]) expect(a.every((x) => typeof x === 'string')).toBe(true);
    }), { numRuns: 300 });
  });
});
