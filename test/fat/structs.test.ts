// Golden offsets (fatgen103's tables), decode(encode) round trips for every FAT struct, the
// date/time encoding against the calendar, the long-name entries against what mtools
// writes for the same name, and the naming rules (aliases, case bits, refusals).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FAT16_BOOT_SECTOR, FAT32_BOOT_SECTOR } from '../../src/bake/fat/boot-sector.js';
import { DIR_ENTRY, FAT_MAX_TIME, FAT_MIN_TIME, LFN_ENTRY, encodeEntry, fatStamp, shortNameChecksum } from '../../src/bake/fat/dirent.js';
import { FSINFO } from '../../src/bake/fat/fsinfo.js';
import { checkLongName, foldName } from '../../src/bake/fat/long-name.js';
import { labelBytes, parseVolumeId, formatVolumeId } from '../../src/bake/fat/options.js';
import { ShortNameTable, basisName, exactShortName, shortNameBytes } from '../../src/bake/fat/short-name.js';
import type { Struct } from '../../src/struct/schema.js';
import { textToByteString } from '../../src/tree/names.js';
import { InvalidOptionError } from '../../src/util/errors.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';
import { expectShortBuffersCorrupt, expectStructRoundTrips } from '../helpers/struct-props.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-fat-structs-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('golden offsets (fatgen103)', () => {
  it('boot sectors', () => {
    expect([FAT16_BOOT_SECTOR.size, FAT32_BOOT_SECTOR.size]).toEqual([512, 512]);
    const a = FAT16_BOOT_SECTOR.offsets;
    expect([a.BS_OEMName, a.BPB_BytsPerSec, a.BPB_SecPerClus, a.BPB_RsvdSecCnt, a.BPB_NumFATs, a.BPB_RootEntCnt, a.BPB_TotSec16, a.BPB_Media, a.BPB_FATSz16, a.BPB_SecPerTrk, a.BPB_NumHeads, a.BPB_HiddSec, a.BPB_TotSec32])
      .toEqual([0x03, 0x0b, 0x0d, 0x0e, 0x10, 0x11, 0x13, 0x15, 0x16, 0x18, 0x1a, 0x1c, 0x20]);
    expect([a.BS_DrvNum, a.BS_BootSig, a.BS_VolID, a.BS_VolLab, a.BS_FilSysType, a.BS_BootCode, a.Signature_word]).toEqual([0x24, 0x26, 0x27, 0x2b, 0x36, 0x3e, 0x1fe]);
    const b = FAT32_BOOT_SECTOR.offsets;
    expect([b.BPB_HiddSec, b.BPB_FATSz32, b.BPB_ExtFlags, b.BPB_FSVer, b.BPB_RootClus, b.BPB_FSInfo, b.BPB_BkBootSec, b.BPB_Reserved])
      .toEqual([0x1c, 0x24, 0x28, 0x2a, 0x2c, 0x30, 0x32, 0x34]);
    expect([b.BS_DrvNum, b.BS_BootSig, b.BS_VolID, b.BS_VolLab, b.BS_FilSysType, b.BS_BootCode, b.Signature_word]).toEqual([0x40, 0x42, 0x43, 0x47, 0x52, 0x5a, 0x1fe]);
  });
  it('FSInfo, directory and long-name entries', () => {
    expect(FSINFO.size).toBe(512);
    const f = FSINFO.offsets;
    expect([f.FSI_StrucSig, f.FSI_Free_Count, f.FSI_Nxt_Free, f.FSI_TrailSig]).toEqual([0x1e4, 0x1e8, 0x1ec, 0x1fc]);
    expect([DIR_ENTRY.size, LFN_ENTRY.size]).toEqual([32, 32]);
    const d = DIR_ENTRY.offsets;
    expect([d.DIR_Attr, d.DIR_NTRes, d.DIR_CrtTimeTenth, d.DIR_CrtTime, d.DIR_CrtDate, d.DIR_LstAccDate, d.DIR_FstClusHI, d.DIR_WrtTime, d.DIR_WrtDate, d.DIR_FstClusLO, d.DIR_FileSize])
      .toEqual([0x0b, 0x0c, 0x0d, 0x0e, 0x10, 0x12, 0x14, 0x16, 0x18, 0x1a, 0x1c]);
    const l = LFN_ENTRY.offsets;
    expect([l.LDIR_Ord, l.LDIR_Name1, l.LDIR_Attr, l.LDIR_Type, l.LDIR_Chksum, l.LDIR_Name2, l.LDIR_FstClusLO, l.LDIR_Name3]).toEqual([0, 1, 0x0b, 0x0c, 0x0d, 0x0e, 0x1a, 0x1c]);
  });
});

const STRUCTS = [FAT16_BOOT_SECTOR, FAT32_BOOT_SECTOR, FSINFO, DIR_ENTRY, LFN_ENTRY] as unknown as Struct<object>[];

describe('round trips', () => {
  it('decode(encode(decode(bytes))) gives the bytes back for every struct (each byte is a field)', () => expectStructRoundTrips(STRUCTS, { exact: true }));
  it('short buffers are a CorruptInputError, never a RangeError', () => expectShortBuffersCorrupt(STRUCTS));
  it('the first cluster is split over FstClusLO and FstClusHI', () => {
    const b = DIR_ENTRY.encode({ DIR_FstClus: 0x0abc1234 });
    expect([DIR_ENTRY.get(b, 0, 'DIR_FstClusLO'), DIR_ENTRY.get(b, 0, 'DIR_FstClusHI'), DIR_ENTRY.get(b, 0, 'DIR_FstClus')]).toEqual([0x1234, 0x0abc, 0x0abc1234]);
  });
});

describe('dates and times', () => {
  it('are the UTC calendar, in 2-second steps, for 1980-2107', () => {
    fc.assert(fc.property(fc.integer({ min: FAT_MIN_TIME, max: FAT_MAX_TIME + 1 }), (sec) => {
      const d = new Date(Math.min(sec, FAT_MAX_TIME) * 1000);
      const { date, time } = fatStamp(sec);
      expect([(date >> 9) + 1980, (date >> 5) & 15, date & 31]).toEqual([d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]);
      expect([time >> 11, (time >> 5) & 63, (time & 31) * 2]).toEqual([d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds() & ~1]);
    }), { numRuns: 2000 });
  });
  it('clamp to the range FAT has', () => {
    expect(fatStamp(-5)).toEqual(fatStamp(FAT_MIN_TIME));
    expect(fatStamp(FAT_MIN_TIME)).toEqual({ date: (0 << 9) | (1 << 5) | 1, time: 0 });
    expect(fatStamp(2 ** 40)).toEqual({ date: (127 << 9) | (12 << 5) | 31, time: (23 << 11) | (59 << 5) | 29 });
    expect(fatStamp(4_107_542_400)).toEqual({ date: (120 << 9) | (3 << 5) | 1, time: 0 }); // 2100-03-01: 2100 is no leap year
  });
});

describe('long-name entries', () => {
  it('checksum, order, padding: as fatgen103 describes them', () => {
    const short = shortNameBytes('PROGRA~1   ');
    const buf = new Uint8Array(96);
    const end = encodeEntry({ longName: 'Program Files', shortName: short, ntRes: 0, attr: 0x20, cluster: 3, size: 5, stamp: fatStamp(0) }, buf, 0);
    expect(end).toBe(64); // 13 units: one long entry and the short one
    const l = LFN_ENTRY.decode(buf, 0);
    expect(l.LDIR_Ord).toBe(0x41);
    expect(l.LDIR_Chksum).toBe(shortNameChecksum(short));
    const units = (b: Uint8Array) => Array.from({ length: b.length / 2 }, (_, i) => b[i * 2]! | (b[i * 2 + 1]! << 8));
    expect(String.fromCharCode(...units(l.LDIR_Name1), ...units(l.LDIR_Name2), ...units(l.LDIR_Name3))).toBe('Program Files');
    const b2 = new Uint8Array(96);
    encodeEntry({ longName: 'abcdefghijklmn', shortName: short, ntRes: 0, attr: 0x20, cluster: 3, size: 5, stamp: fatStamp(0) }, b2, 0);
    expect([b2[0], b2[32]]).toEqual([0x42, 0x01]); // the last part first
    expect(units(LFN_ENTRY.decode(b2, 0).LDIR_Name1)).toEqual([0x6e, 0, 0xffff, 0xffff, 0xffff]); // 'n', NUL, then 0xFFFF
  });

  it.skipIf(!hasTool('mkfs.fat') || !hasTool('mcopy'))('are byte for byte what mtools writes for the same name and alias', () => {
    const img = path.join(work, 'mtools.img');
    const env = { ...process.env, PATH: TOOL_PATH, TZ: 'UTC', LC_ALL: 'C.UTF-8', MTOOLSRC: '/dev/null' };
    execFileSync('mkfs.fat', ['-C', '-F', '16', '-r', '512', img, '16384'], { env, stdio: 'ignore' });
    const names = ['Program Files', 'A much longer name, with ünïcödé and 日本語 in it.txt', `${'z'.repeat(250)}.bin`];
    for (const n of names) {
      const f = path.join(work, 'x');
      fs.writeFileSync(f, 'x');
      execFileSync('mcopy', ['-i', img, f, `::/${n}`], { env });
    }
    const boot = FAT16_BOOT_SECTOR.decode(fs.readFileSync(img).subarray(0, 512));
    const rootAt = (boot.BPB_RsvdSecCnt + 2 * boot.BPB_FATSz16) * 512;
    const root = new Uint8Array(fs.readFileSync(img).subarray(rootAt, rootAt + boot.BPB_RootEntCnt * 32));
    let pos = 0;
    for (const n of names) {
      const slots = Math.ceil(n.length / 13);
      const short = DIR_ENTRY.decode(root, pos + slots * 32);
      const ours = new Uint8Array(slots * 32 + 32);
      encodeEntry({ longName: n, shortName: short.DIR_Name, ntRes: 0, attr: 0x20, cluster: 0, size: 0, stamp: fatStamp(0) }, ours, 0);
      expect(Buffer.from(ours.subarray(0, slots * 32)).toString('hex'), n).toBe(Buffer.from(root.subarray(pos, pos + slots * 32)).toString('hex'));
      pos += slots * 32 + 32;
    }
  });
});

describe('names', () => {
  /** The short names a directory of these (valid, case-distinct) names gets, as the catalog assigns them. */
  const assign = (names: string[]) => {
    const t = new ShortNameTable();
    const out = new Map<string, string>();
    for (const n of names) {
      const e = exactShortName(n);
      if (e) out.set(n, (t.reserve(e.name), e.name));
    }
    for (const n of names) if (!out.has(n) && basisName(n).fits) out.set(n, t.alias(basisName(n)));
    for (const n of [...names].sort()) if (!out.has(n)) out.set(n, t.alias(basisName(n)));
    return out;
  };

  it('8.3 names apart from case need no long name: NTRes says which part is lower case', () => {
    expect(exactShortName('readme.txt')).toEqual({ name: 'README  TXT', ntRes: 0x18 });
    expect(exactShortName('readme.TXT')).toEqual({ name: 'README  TXT', ntRes: 0x08 });
    expect(exactShortName('README.txt')).toEqual({ name: 'README  TXT', ntRes: 0x10 });
    expect(exactShortName('BOOTX64.EFI')).toEqual({ name: 'BOOTX64 EFI', ntRes: 0 });
    expect(exactShortName('12345678.9_$')).toEqual({ name: '123456789_$', ntRes: 0 });
    for (const n of ['ReadMe.txt', 'a.b.c', '.bashrc', 'foo bar', 'toolongname', 'x.html', 'é', 'a+b', 'a[1]']) expect(exactShortName(n), n).toBeNull();
  });

  it('aliases as Windows makes them: basis, ~1 … ~9, then a shorter basis for ~10', () => {
    const got = assign(['Program Files', 'Program Filez', 'PROGRA~1', 'Readme.Txt', 'a.b.c', '.bashrc', 'foo bar.txt', 'LongFileName.html', '日本.txt', '[x]+y;z']);
    expect(Object.fromEntries(got)).toEqual({
      'PROGRA~1': 'PROGRA~1   ', // a real name is never taken by an alias
      'Readme.Txt': 'README  TXT', // fits once upper-cased: no tail
      'Program Files': 'PROGRA~2   ',
      'Program Filez': 'PROGRA~3   ',
      'a.b.c': 'AB~1    C  ',
      '.bashrc': 'BASHRC~1   ',
      'foo bar.txt': 'FOOBAR~1TXT',
      'LongFileName.html': 'LONGFI~1HTM',
      '日本.txt': '__~1    TXT',
      '[x]+y;z': '_X__Y_~1   ',
    });
    const many = assign(Array.from({ length: 120 }, (_, i) => `Long File Name ${i}`));
    const shorts = [...many.values()];
    expect(new Set(shorts).size).toBe(120);
    expect(many.get('Long File Name 0')).toBe('LONGFI~1   ');
    expect(shorts).toContain('LONGF~10   ');
    expect(shorts).toContain('LONG~100   ');
  });

  it('long names FAT cannot hold are refused with the reason', () => {
    const why = (s: string) => {
      const c = checkLongName(s);
      return c.ok ? null : c.why;
    };
    expect(why('\xff\xfe')).toMatch(/not valid UTF-8/);
    expect(why('a\nb')).toMatch(/control character \(0x0a\)/);
    expect(why('a*b')).toMatch(/"\*"/);
    expect(why('a:b')).toMatch(/":"/);
    expect(why('name.')).toMatch(/ends in a dot or a space/);
    expect(why('name ')).toMatch(/ends in a dot or a space/);
    expect(why('x'.repeat(256))).toMatch(/256 UTF-16 units/);
    expect(why('x'.repeat(255))).toBeNull();
    expect(why(textToByteString('😀'.repeat(128)))).toMatch(/256 UTF-16 units/); // two units each
    expect(why(textToByteString('ünïcödé 日本'))).toBeNull();
  });

  it('names equal without case fold to one key; ß and ss stay apart (no one-character upper case)', () => {
    expect(foldName('ReadMe.txt')).toBe(foldName('README.TXT'));
    expect(foldName('été')).toBe(foldName('ÉTÉ'));
    expect(foldName('ß')).not.toBe(foldName('ss'));
  });

  it('labels and volume IDs', () => {
    expect(new TextDecoder().decode(labelBytes('esp').bytes)).toBe('ESP        ');
    expect(labelBytes('').present).toBe(false);
    expect(new TextDecoder().decode(labelBytes(undefined).bytes)).toBe('NO NAME    ');
    for (const bad of ['twelve chars', 'a.b', ' lead', 'ü']) expect(() => labelBytes(bad), bad).toThrow(InvalidOptionError);
    expect(parseVolumeId('1234-abcd')).toBe(0x1234abcd);
    expect(formatVolumeId(0x0000abcd)).toBe('0000-ABCD');
    expect(() => parseVolumeId('12345-678')).toThrow(InvalidOptionError);
  });
});
