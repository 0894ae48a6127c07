// Fixed FAT cases judged by fsck.fat and mtools: the boot sector, FSInfo and FATs as
// fatgen103 describes them, names and aliases as mdir lists them, what FAT cannot hold
// (refused, or skipped under lenient), hard links as copies from a streamed tarball,
// sizes at cluster edges, a file of 4 GiB − 1, memory flat in file size, a device that
// is not zeroed, and the boot stub under SeaBIOS.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAT16_BOOT_SECTOR, FAT32_BOOT_SECTOR } from '../../src/bake/fat/boot-sector.js';
import { FSINFO } from '../../src/bake/fat/fsinfo.js';
import { planFat } from '../../src/bake/fat/planner.js';
import { writeFat } from '../../src/bake/fat/writer.js';
import { loadTarFile } from '../../src/host/archive-file.js';
import { NodeFileBlockDevice } from '../../src/host/node-block-device.js';
import type { ContentSource } from '../../src/io/content-source.js';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { textToByteString } from '../../src/tree/names.js';
import { type FileNode, type FsTree, newDir } from '../../src/tree/node.js';
import { DoesNotFitError, UnsupportedError } from '../../src/util/errors.js';
import { expectFsckFatClean, fsckFat, hasFatTools, mdir } from '../oracles/fat.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';
import { buildFat, expectMtoolsView, readImage } from '../helpers/fat.js';
import { sha256File, tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-fat-img-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const T = { sec: 1_700_000_000, nsec: 0 };
const MTOOLS_ENV = { ...process.env, PATH: TOOL_PATH, TZ: 'UTC', LC_ALL: 'C.UTF-8', MTOOLSRC: '/dev/null' };
let n = 0;
const img = () => path.join(work, `i${n++}.img`);
const dest = () => path.join(work, `d${n++}`);

function esp(): MemorySourceFs {
  const m = new MemorySourceFs();
  m.addDir('EFI', { mtime: T });
  m.addDir('EFI/BOOT', { mtime: T });
  m.addFile('EFI/BOOT/BOOTX64.EFI', new Uint8Array(150_000).map((_, i) => i & 0xff), { mtime: T });
  m.addDir('loader', { mtime: T });
  m.addDir('loader/entries', { mtime: T });
  m.addFile('loader/loader.conf', new TextEncoder().encode('timeout 0\n'), { mtime: T });
  m.addFile('loader/entries/debian.conf', new TextEncoder().encode('title Debian\nlinux /debian/linux\n'), { mtime: T });
  m.addDir('debian', { mtime: T });
  m.addFile('debian/linux', new Uint8Array(70_000).fill(0x4d), { mtime: T });
  return m;
}

/** 16- or 32-bit FAT entries [0, count) of FAT number `which`. */
function fatEntries(file: string, p: ReturnType<typeof planFat>, which: number, count: number): number[] {
  const g = p.geo;
  const w = g.fatType === 32 ? 4 : 2;
  const b = readImage(file, (g.reservedSectors + which * g.fatSectors) * 512, count * w);
  const v = new DataView(b.buffer);
  return Array.from({ length: count }, (_, i) => (w === 4 ? v.getUint32(i * 4, true) : v.getUint16(i * 2, true)));
}

describe.skipIf(!hasFatTools())('FAT images', () => {
  for (const fatType of [16, 32] as const) {
    it(`an ESP as FAT${fatType}: boot sector, FSInfo and FATs as fatgen103 says`, async () => {
      const src = await loadDirectory(esp());
      const file = img();
      const plan = await buildFat(src.tree, src.content, file, { fatType, label: 'esp', volumeId: 0xcafe1234, hiddenSectors: 2048 });
      expectFsckFatClean(file);
      await expectMtoolsView(file, dest(), src.tree, src.content);
      const head = readImage(file, 0, 512 * 8);
      const common = { BPB_BytsPerSec: 512, BPB_NumFATs: 2, BPB_Media: 0xf8, BPB_SecPerTrk: 32, BPB_NumHeads: 64, BPB_HiddSec: 2048, BS_DrvNum: 0x80, BS_BootSig: 0x29, BS_VolID: 0xcafe1234, Signature_word: 0xaa55 };
      const text = (b: Uint8Array) => new TextDecoder().decode(b);
      if (fatType === 16) {
        const bs = FAT16_BOOT_SECTOR.decode(head);
        expect(bs).toMatchObject({ ...common, BPB_RootEntCnt: 512, BPB_FATSz16: plan.geo.fatSectors, BPB_TotSec16: plan.geo.totalSectors });
        expect([...bs.BS_jmpBoot]).toEqual([0xeb, 0x3c, 0x90]);
        expect([text(bs.BS_VolLab), text(bs.BS_FilSysType), text(bs.BS_OEMName)]).toEqual(['ESP        ', 'FAT16   ', 'MSWIN4.1']);
      } else {
        const bs = FAT32_BOOT_SECTOR.decode(head);
        expect(bs).toMatchObject({ ...common, BPB_RootEntCnt: 0, BPB_FATSz16: 0, BPB_TotSec16: 0, BPB_TotSec32: plan.geo.totalSectors, BPB_FATSz32: plan.geo.fatSectors, BPB_ExtFlags: 0, BPB_FSVer: 0, BPB_RootClus: 2, BPB_FSInfo: 1, BPB_BkBootSec: 6 });
        expect([...bs.BS_jmpBoot]).toEqual([0xeb, 0x58, 0x90]);
        expect([text(bs.BS_VolLab), text(bs.BS_FilSysType)]).toEqual(['ESP        ', 'FAT32   ']);
        // Backups in 6 and 7; FSInfo exact: free clusters and the first free one.
        expect(head.subarray(6 * 512, 8 * 512)).toEqual(head.subarray(0, 2 * 512));
        expect(FSINFO.decode(head, 512)).toMatchObject({ FSI_LeadSig: 0x41615252, FSI_StrucSig: 0x61417272, FSI_TrailSig: 0xaa550000, FSI_Free_Count: plan.geo.clusterCount - plan.usedClusters, FSI_Nxt_Free: 2 + plan.usedClusters });
      }
      // The data region starts on a cluster boundary (of the partition, at 1 MiB itself).
      expect(plan.geo.dataStart % plan.geo.sectorsPerCluster).toBe(0);
      // FAT[0] = media byte and ones, FAT[1] = end of chain with the clean bits; both FATs equal.
      const count = plan.usedClusters + 4;
      const fat0 = fatEntries(file, plan, 0, count);
      expect(fat0.slice(0, 2)).toEqual(fatType === 16 ? [0xfff8, 0xffff] : [0x0ffffff8, 0x0fffffff]);
      expect(fatEntries(file, plan, 1, count)).toEqual(fat0);
      expect(readImage(file, plan.geo.reservedSectors * 512, plan.geo.fatSectors * 512)).toEqual(readImage(file, (plan.geo.reservedSectors + plan.geo.fatSectors) * 512, plan.geo.fatSectors * 512));
      const root = mdir(file);
      expect([root.label, root.serial]).toEqual(['ESP', 'CAFE-1234']);
      expect(root.entries.map((e) => [e.short, e.long, e.dir])).toEqual([['EFI', null, true], ['debian', null, true], ['loader', null, true]]);
    });
  }

  it('names: 8.3 names with case bits and no long name, aliases in sorted order, Unicode long names', async () => {
    const m = new MemorySourceFs();
    for (const name of ['Program Files', 'Program Filez', 'PROGRA~1', 'readme.txt', 'BOOTX64.EFI', 'Makefile', 'ünïcödé.txt', 'a.b.c', 'x'.repeat(255)]) {
      m.addFile(textToByteString(name), new TextEncoder().encode(name), { mtime: T });
    }
    const src = await loadDirectory(m);
    const file = img();
    await buildFat(src.tree, src.content, file);
    expectFsckFatClean(file);
    await expectMtoolsView(file, dest(), src.tree, src.content);
    const got = Object.fromEntries(mdir(file).entries.map((e) => [e.long ?? e.short, e.short]));
    expect(got).toEqual({
      'BOOTX64.EFI': 'BOOTX64.EFI', 'Makefile': 'MAKEFILE', 'PROGRA~1': 'PROGRA~1', 'Program Files': 'PROGRA~2', 'Program Filez': 'PROGRA~3',
      'a.b.c': 'AB~1.C', 'readme.txt': 'readme.txt', 'ünïcödé.txt': '_N_C_D~1.TXT', ['x'.repeat(255)]: 'XXXXXX~1',
    });
  });

  const special = (): MemorySourceFs => {
    const m = new MemorySourceFs();
    m.addFile('ok.txt', new TextEncoder().encode('kept'), { mtime: T });
    m.addSymlink('link', 'ok.txt', { mtime: T });
    m.addNode('null', 0o020666, { rdevMajor: 1, rdevMinor: 3, mtime: T });
    m.addNode('fifo', 0o010644, { mtime: T });
    m.addNode('sock', 0o140755, { mtime: T });
    m.addDir('d', { mtime: T });
    m.addFile('d/README', new TextEncoder().encode('one'), { mtime: T });
    m.addFile('d/readme', new TextEncoder().encode('two'), { mtime: T });
    m.addFile(textToByteString('star*'), new Uint8Array(1), { mtime: T });
    m.addFile('bad\xff', new Uint8Array(1), { mtime: T });
    m.addFile('dot.', new Uint8Array(1), { mtime: T });
    m.addFile('attrs', new TextEncoder().encode('x'), { mtime: T });
    m.setXattrs('attrs', [{ name: 'user.k', value: new Uint8Array([1]) }]);
    return m;
  };

  it('what FAT cannot hold is an error naming the entry', async () => {
    const src = await loadDirectory(special());
    const refusal = (drop: string[]) => {
      const t = src.tree;
      const saved = new Map(drop.map((d) => [d, t.root.entries.get(d)!]));
      for (const d of drop) t.root.entries.delete(d);
      try {
        planFat(t, { size: 'auto', volumeId: 1 });
        return null;
      } catch (e) {
        expect(e).toBeInstanceOf(UnsupportedError);
        return (e as Error).message;
      } finally {
        for (const [d, node] of saved) t.root.entries.set(d, node);
      }
    };
    const all = ['attrs', 'bad\xff', 'd', 'dot.', 'fifo', 'link', 'null', 'sock', 'star*'];
    const without = (k: string) => all.filter((x) => x !== k);
    expect(refusal(without('link'))).toMatch(/^\/link: is a symbolic link, which FAT cannot hold \(--lenient skips it with a warning\)$/);
    expect(refusal(without('null'))).toMatch(/^\/null: is a device node/);
    expect(refusal(without('fifo'))).toMatch(/^\/fifo: is a fifo/);
    expect(refusal(without('sock'))).toMatch(/^\/sock: is a socket/);
    expect(refusal(without('d'))).toMatch(/^\/d\/readme: differs only in case from "README"/);
    expect(refusal(without('star*'))).toMatch(/^\/star\*: the name holds "\*"/);
    expect(refusal(without('bad\xff'))).toMatch(/^\/bad\\xff: the name is not valid UTF-8/);
    expect(refusal(without('dot.'))).toMatch(/^\/dot\.: the name ends in a dot/);
    expect(refusal(without('attrs'))).toMatch(/^\/attrs: has extended attributes \(user\.k\).*--no-xattrs.*\(--lenient drops them with a warning\)$/);
    expect(refusal(all)).toBeNull();
  });

  it('under lenient it is skipped with a warning (xattrs dropped, the file kept) and the rest is exact', async () => {
    const src = await loadDirectory(special());
    const file = img();
    const plan = await buildFat(src.tree, src.content, file, { lenient: true });
    expect(plan.warnings).toHaveLength(9);
    for (const w of ['/link', '/null', '/fifo', '/sock', '/d/readme', '/star*', '/bad\\xff', '/dot.']) expect(plan.warnings.some((x) => x.startsWith(`${w}: `) && x.endsWith('; skipped')), w).toBe(true);
    expect(plan.warnings.filter((w) => w.startsWith('/attrs: ') && w.endsWith('; dropped'))).toHaveLength(1);
    expectFsckFatClean(file);
    const skipped = new Set(['link', 'null', 'fifo', 'sock', 'd/readme', 'star*', 'bad\xff', 'dot.']);
    await expectMtoolsView(file, dest(), src.tree, src.content, { skipped });
  });

  it('read-only files carry ATTR_READ_ONLY, every file ATTR_ARCHIVE', async () => {
    const m = new MemorySourceFs();
    m.addFile('ro.txt', new Uint8Array(3), { mtime: T, mode: 0o100444 });
    m.addFile('rw.txt', new Uint8Array(3), { mtime: T, mode: 0o100644 });
    const src = await loadDirectory(m);
    const file = img();
    await buildFat(src.tree, src.content, file);
    const out = execFileSync('mattrib', ['-i', file, '::/ro.txt', '::/rw.txt'], { env: MTOOLS_ENV, encoding: 'utf8' });
    expect(out.split('\n').filter(Boolean).map((l) => l.replace(/\s+/g, ' ').trim())).toEqual(['A R ::/ro.txt', 'A ::/rw.txt']);
  });

  it('hard links from a streamed tarball become copies, each with the content', async () => {
    const root = path.join(work, 'links');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(root, 'a'), 'shared bytes\n'.repeat(1000));
    fs.linkSync(path.join(root, 'a'), path.join(root, 'sub/b'));
    fs.linkSync(path.join(root, 'a'), path.join(root, 'z'));
    fs.writeFileSync(path.join(root, 'after'), 'after\n');
    const tar = path.join(work, 'links.tar.gz');
    execFileSync('tar', ['-C', root, '--sort=name', '--mtime=@1700000000', '-czf', tar, '.']);
    const src = await loadTarFile(tar);
    const file = img();
    const plan = await buildFat(src.tree, src.content, file);
    expect(plan.catalog.files.filter((f, i) => f.copyOf !== i)).toHaveLength(2);
    expectFsckFatClean(file);
    const again = await loadTarFile(tar); // the first one is read
    await expectMtoolsView(file, dest(), again.tree, again.content);
    await Promise.all([src.content.close(), again.content.close()]);
  });

  it('files at cluster edges, each cluster size: chains as long as the sizes (fsck.fat) and the bytes (mtools)', async () => {
    for (const cs of [512, 2048, 32768]) {
      const m = new MemorySourceFs();
      for (const size of [0, 1, cs - 1, cs, cs + 1, 2 * cs, 3 * cs - 1]) m.addFile(`f${size}`, new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff), { mtime: T });
      const src = await loadDirectory(m);
      const file = img();
      const plan = await buildFat(src.tree, src.content, file, { clusterSize: cs });
      expect(plan.geo.clusterBytes).toBe(cs);
      expectFsckFatClean(file);
      await expectMtoolsView(file, dest(), src.tree, src.content);
    }
  });

  it("FAT16's root grows past 512 entries when it needs to", async () => {
    const m = new MemorySourceFs();
    for (let i = 0; i < 1500; i++) m.addFile(`a root entry with a long name ${i}`, new TextEncoder().encode(String(i)), { mtime: T });
    const src = await loadDirectory(m);
    const file = img();
    const plan = await buildFat(src.tree, src.content, file);
    expect(plan.geo.fatType).toBe(16);
    expect(plan.geo.rootEntries).toBeGreaterThanOrEqual(1500 * 4);
    expect(FAT16_BOOT_SECTOR.decode(readImage(file)).BPB_RootEntCnt).toBe(plan.geo.rootEntries);
    expectFsckFatClean(file);
    await expectMtoolsView(file, dest(), src.tree, src.content);
  });

  it('a fixed size too small says what the tree needs, and that size works', async () => {
    const m = new MemorySourceFs();
    m.addFile('big', new Uint8Array(20 << 20), { mtime: T });
    const src = await loadDirectory(m);
    let needed = 0;
    try {
      planFat(src.tree, { size: 16 << 20, volumeId: 1 });
    } catch (e) {
      expect(e).toBeInstanceOf(DoesNotFitError);
      expect((e as Error).message).toMatch(/^the tree needs at least 21\.0 MiB \(\d+ bytes\) but the size is 16\.0 MiB; use --size 21M or --size auto$/);
      needed = (e as DoesNotFitError).neededBytes;
    }
    expect(needed).toBe(21 << 20);
    const file = img();
    await buildFat(src.tree, src.content, file, { size: needed });
    expectFsckFatClean(file);
    expect(() => planFat(src.tree, { size: needed - (1 << 20), volumeId: 1 })).toThrow(DoesNotFitError);
  });

  it('the least size is the least: the search does not jump past FAT32 at 512 MiB with its smaller clusters', async () => {
    // 80,000 files of 100 bytes: 8 KiB clusters (FAT16 at 257-511 MiB) need 625 MiB, 4 KiB ones (FAT32 from 512 MiB) 313.
    const m = new MemorySourceFs();
    for (let d = 0; d < 80; d++) {
      m.addDir(`d${d}`);
      for (let i = 0; i < 1000; i++) m.addFile(`d${d}/f${i}`, new Uint8Array(100));
    }
    const src = await loadDirectory(m);
    const plan = planFat(src.tree, { size: 'auto', volumeId: 1 });
    expect([plan.minimumBytes, plan.sizeBytes, plan.geo.fatType, plan.geo.clusterBytes]).toEqual([512 << 20, 512 << 20, 32, 4096]);
    expect(() => planFat(src.tree, { size: 511 << 20, volumeId: 1 })).toThrow(DoesNotFitError);
  });

  it('files up to 4 GiB − 1 are written (sparse); 4 GiB is refused naming the entry', async () => {
    const head = new Uint8Array(4096).fill(0x11);
    const tail = new Uint8Array(4096).fill(0x22);
    const tree = (bytes: number): FsTree => {
      const root = newDir(0o755, 0, 0, T);
      const f: FileNode = { kind: 'file', perm: 0o644, uid: 0, gid: 0, mtime: T, atime: T, ctime: T, xattrs: [], size: bytes, content: { order: 0, handle: null }, dataRuns: [{ offset: 0, length: 4096 }, { offset: bytes - 4096, length: 4096 }] };
      root.entries.set('huge.img', f);
      return { root };
    };
    const content: ContentSource = { read: async (_r, sink) => { await sink(head); await sink(tail); }, close: async () => {} };
    expect(() => planFat(tree(2 ** 32), { size: 'auto', volumeId: 1 })).toThrow(/^\/huge\.img: is 4294967296 bytes; a FAT file holds at most 4294967295/);
    for (const size of [2 ** 32 - 1 - 4096, 2 ** 32 - 1]) {
      const file = img();
      const plan = await buildFat(tree(size), content, file);
      expect(plan.geo.fatType).toBe(32);
      if (size === 2 ** 32 - 1) {
        // fsck.fat 4.2 counts a chain of exactly 2^32 bytes in 32 bits and calls it empty;
        // dosfstools fixed that after 4.2 (commit ae94d63). Its only remark must be that one.
        const r = fsckFat(file);
        if (r.status !== 0) expect(r.output).toMatch(/^fsck\.fat 4\.2 .*\n\/HUGE\.IMG\n {2}File size is 4294967295 bytes, cluster chain length is 0 bytes\.\n {2}Truncating file to 0 bytes\.\n\nLeaving filesystem unchanged\.\n.*: 1 files, \d+\/\d+ clusters\n$/);
      } else {
        expectFsckFatClean(file); // the chain is as long as the size says
      }
      expect(mdir(file).entries.map((x) => [x.short, x.size])).toEqual([['huge.img', size]]);
      const at = (plan.geo.dataStart + (plan.fileCluster[0]! - 2) * plan.geo.sectorsPerCluster) * 512;
      expect(readImage(file, at, 4096)).toEqual(head);
      expect(readImage(file, at + size - 4096, 4096)).toEqual(tail);
      expect(readImage(file, at + 4096, 4096)).toEqual(new Uint8Array(4096));
      fs.rmSync(file);
    }
  });

  it('memory stays flat in file size: 256 MiB streamed in 1 MiB pieces', async () => {
    const total = 256 << 20;
    const root = newDir(0o755, 0, 0, T);
    root.entries.set('stream.bin', { kind: 'file', perm: 0o644, uid: 0, gid: 0, mtime: T, atime: T, ctime: T, xattrs: [], size: total, content: { order: 0, handle: null } } as FileNode);
    const piece = new Uint8Array(1 << 20);
    const content: ContentSource = {
      read: async (_r, sink) => {
        for (let i = 0; i < total / piece.length; i++) await sink(piece.fill(i & 0xff));
      },
      close: async () => {},
    };
    const plan = planFat({ root }, { size: 'auto', volumeId: 1 });
    const file = img();
    const dev = NodeFileBlockDevice.create(file, plan.sizeBytes);
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    try {
      await writeFat(plan, dev, content, { assumeZeroed: true, onProgress: () => (peak = Math.max(peak, process.memoryUsage().rss)) });
    } finally {
      dev.close();
    }
    expect(peak - base).toBeLessThan(64 << 20);
    expectFsckFatClean(file);
    const digest = execFileSync('sh', ['-c', 'mtype -i "$1" ::/stream.bin | sha256sum', 'sh', file], { env: MTOOLS_ENV, encoding: 'utf8' }).split(' ')[0];
    const h = (await import('node:crypto')).createHash('sha256');
    for (let i = 0; i < total / piece.length; i++) h.update(piece.fill(i & 0xff));
    expect(digest).toBe(h.digest('hex'));
    fs.rmSync(file);
  });

  it('on a device that is not zeroed, everything but the free clusters is the same', async () => {
    const src = await loadDirectory(esp());
    const clean = img();
    const plan = await buildFat(src.tree, src.content, clean, { fatType: 32, label: 'ESP' });
    const dirty = img();
    fs.writeFileSync(dirty, new Uint8Array(plan.sizeBytes).fill(0xaa));
    const dev = NodeFileBlockDevice.open(dirty);
    try {
      await writeFat(plan, dev, src.content);
    } finally {
      dev.close();
    }
    expectFsckFatClean(dirty);
    await expectMtoolsView(dirty, dest(), src.tree, src.content);
    const used = (plan.geo.dataStart + plan.usedClusters * plan.geo.sectorsPerCluster) * 512;
    expect(sha256(readImage(dirty, 0, used))).toBe(sha256(readImage(clean, 0, used)));
  });

  it('is reproducible: two builds, one sha256', async () => {
    const a = img();
    const b = img();
    for (const f of [a, b]) {
      const src = await loadDirectory(esp());
      await buildFat(src.tree, src.content, f, { label: 'ESP' });
    }
    expect(sha256File(a)).toBe(sha256File(b));
  });

  it.skipIf(!hasTool('qemu-system-x86_64'))('a BIOS that boots the volume itself gets the stub: "This is not a bootable disk."', async () => {
    const src = await loadDirectory(esp());
    for (const fatType of [16, 32] as const) {
      const file = img();
      await buildFat(src.tree, src.content, file, { fatType });
      const port = path.join(work, 'sercon');
      fs.writeFileSync(port, Uint8Array.of(0xf8, 0x03)); // SeaBIOS: text output to the serial port at 0x3f8
      const qemu = spawn('qemu-system-x86_64', ['-nographic', '-vga', 'none', '-accel', 'tcg', '-m', '64', '-no-reboot', '-drive', `file=${file},format=raw,snapshot=on`, '-fw_cfg', `name=etc/sercon-port,file=${port}`], { env: { ...process.env, PATH: TOOL_PATH }, stdio: ['ignore', 'pipe', 'ignore'] });
      const seen = await new Promise<string>((resolve) => {
        let out = '';
        const timer = setTimeout(() => resolve(out), 60_000);
        qemu.stdout.on('data', (d: Buffer) => {
          out += d.toString('latin1');
          if (out.includes('not a bootable disk.')) clearTimeout(timer), resolve(out);
        });
      });
      qemu.kill('SIGKILL');
      expect(seen, `FAT${fatType}`).toContain('This is not a bootable disk.');
    }
  }, 150_000);
});

function sha256(b: Uint8Array): string {
  return execFileSync('sha256sum', { input: b, encoding: 'utf8' }).split(' ')[0]!;
}
