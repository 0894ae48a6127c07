// GPT judged by util-linux and gptfdisk: `sfdisk --verify`, `sgdisk -v`, `sfdisk --json`
// fields, and sgdisk itself given the same bounds, GUIDs, names and attributes writing the
// same LBAs 1-33 and the same backup (the byte oracle).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type GptPartition, type GptPlan, BACKUP_SECTORS, FIRST_USABLE, encodeGpt, lastUsable, planGpt } from '../../src/bake/gpt/gpt.js';
import { PARTITION_TYPE, formatGuid, guidFromHash, parseGuid } from '../../src/bake/gpt/guid.js';
import { GPT_ENTRY, GPT_HEADER } from '../../src/bake/gpt/structs.js';
import { InvalidOptionError } from '../../src/util/errors.js';
import { tmpDir } from '../helpers/image.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';

const work = tmpDir('cake-gpt-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const env = { ...process.env, PATH: TOOL_PATH, LC_ALL: 'C' };

function writeImage(p: GptPlan, file: string): void {
  const g = encodeGpt(planGpt(p));
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, p.sectors * 512);
  fs.writeSync(fd, g.head, 0, g.head.length, 0);
  fs.writeSync(fd, g.tail, 0, g.tail.length, g.tailOffset);
  fs.closeSync(fd);
}

const guid = (n: number) => guidFromHash(Uint8Array.from({ length: 16 }, (_, i) => (n * 31 + i * 7) & 0xff));

function hybridPlan(mib: number): GptPlan {
  const sectors = mib * 2048;
  return {
    sectors, diskGuid: guid(1),
    partitions: [
      { type: PARTITION_TYPE.esp, guid: guid(2), name: 'esp', first: 2048, last: 2048 * 9 - 1 },
      { type: PARTITION_TYPE.rootX86_64, guid: guid(3), name: 'root-x86-64', first: 2048 * 9, last: lastUsable(sectors), attributes: [2] },
    ],
  };
}

describe('GUIDs', () => {
  it('are stored mixed-endian (the UEFI test vector for the ESP type)', () => {
    expect([...parseGuid(PARTITION_TYPE.esp)].map((b) => b.toString(16).padStart(2, '0')).join(' '))
      .toBe('28 73 2a c1 1f f8 d2 11 ba 4b 00 a0 c9 3e c9 3b');
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      expect(parseGuid(formatGuid(b))).toEqual(b);
    }));
  });
  it('derived from a hash carry the version-4 and variant bits', () => {
    expect(guidFromHash(new Uint8Array(32).fill(0xff))).toBe('FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF');
  });
  it('bad text is an option error', () => {
    expect(() => parseGuid('nope', '--disk-guid')).toThrow(InvalidOptionError);
  });
});

describe('layout checks', () => {
  it('refuses overlaps, misalignment and partitions outside the usable range', () => {
    const p = hybridPlan(64);
    const [esp, root] = p.partitions as [GptPartition, GptPartition];
    expect(() => planGpt({ ...p, partitions: [esp, { ...root, first: esp.last - 2047 }] })).toThrow(/overlaps/);
    expect(() => planGpt({ ...p, partitions: [{ ...esp, first: 2049 }] })).toThrow(/MiB boundary/);
    expect(() => planGpt({ ...p, partitions: [{ ...root, last: p.sectors - 1 }] })).toThrow(/outside the usable/);
    expect(() => planGpt({ ...p, partitions: [{ ...esp, name: 'x'.repeat(37) }] })).toThrow(/36 UTF-16/);
  });
  it('headers: golden offsets, CRCs over the encoded bytes, backup mirrors primary', () => {
    expect(GPT_HEADER.size).toBe(92);
    expect(GPT_ENTRY.size).toBe(128);
    expect([GPT_HEADER.offsets.DiskGUID, GPT_HEADER.offsets.PartitionEntryArrayCRC32, GPT_ENTRY.offsets.PartitionName]).toEqual([0x38, 0x58, 0x38]);
    const p = hybridPlan(64);
    const g = encodeGpt(planGpt(p));
    const primary = GPT_HEADER.decode(g.head, 512);
    const backup = GPT_HEADER.decode(g.tail, (BACKUP_SECTORS - 1) * 512);
    expect([primary.MyLBA, primary.AlternateLBA, primary.PartitionEntryLBA]).toEqual([1, p.sectors - 1, 2]);
    expect([backup.MyLBA, backup.AlternateLBA, backup.PartitionEntryLBA]).toEqual([p.sectors - 1, 1, p.sectors - 33]);
    expect([primary.FirstUsableLBA, primary.LastUsableLBA]).toEqual([FIRST_USABLE, p.sectors - 34]);
    expect(Buffer.from(g.tail.subarray(0, 32 * 512)).equals(Buffer.from(g.head.subarray(1024)))).toBe(true);
    expect(g.head[450]).toBe(0xee);
  });
});

describe.skipIf(!hasTool('sfdisk') || !hasTool('sgdisk'))('GPT against sfdisk and sgdisk', () => {
  it('sfdisk --verify and sgdisk -v find no problems; sfdisk --json reads back the plan', () => {
    for (const mib of [3, 64, 1024, 3 * 1024 * 1024]) {
      const p = mib === 3
        ? { sectors: 3 * 2048, diskGuid: guid(9), partitions: [{ type: PARTITION_TYPE.linuxGeneric, guid: guid(8), name: 'data', first: 2048, last: lastUsable(3 * 2048) }] }
        : hybridPlan(mib);
      const img = path.join(work, `v${mib}.img`);
      writeImage(p, img);
      const verify = spawnSync('sfdisk', ['--verify', img], { encoding: 'utf8', env });
      expect(verify.status, verify.stdout + verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/No errors detected/);
      const v = spawnSync('sgdisk', ['-v', img], { encoding: 'utf8', env });
      expect(v.status, v.stdout + v.stderr).toBe(0);
      expect(v.stdout).toMatch(/No problems found/);
      const t = JSON.parse(execFileSync('sfdisk', ['--json', img], { encoding: 'utf8', env })).partitiontable;
      expect(t.label).toBe('gpt');
      expect(t.id).toBe(p.diskGuid);
      expect(t.firstlba).toBe(34);
      expect(t.lastlba).toBe(p.sectors - 34);
      expect(t.partitions).toHaveLength(p.partitions.length);
      p.partitions.forEach((q, i) => {
        expect(t.partitions[i]).toMatchObject({ start: q.first, size: q.last - q.first + 1, type: q.type, uuid: q.guid, name: q.name });
        if (q.attributes?.includes(2)) expect(t.partitions[i].attrs).toBe('LegacyBIOSBootable');
      });
    }
  });

  it('sgdisk given the same layout writes the same LBAs 1-33 and the same backup', () => {
    const p = hybridPlan(256);
    const ours = path.join(work, 'ours.img');
    const theirs = path.join(work, 'theirs.img');
    writeImage(p, ours);
    fs.writeFileSync(theirs, '');
    fs.truncateSync(theirs, p.sectors * 512);
    const args = ['-o', '-U', p.diskGuid];
    p.partitions.forEach((q, i) => {
      const n = i + 1;
      args.push('-n', `${n}:${q.first}:${q.last}`, '-t', `${n}:${q.type}`, '-u', `${n}:${q.guid}`, '-c', `${n}:${q.name}`);
      for (const a of q.attributes ?? []) args.push('-A', `${n}:set:${a}`);
    });
    execFileSync('sgdisk', [...args, theirs], { env, stdio: 'pipe' });
    const a = fs.readFileSync(ours), b = fs.readFileSync(theirs);
    expect(a.subarray(512, 34 * 512).equals(b.subarray(512, 34 * 512))).toBe(true);
    expect(a.subarray(-33 * 512).equals(b.subarray(-33 * 512))).toBe(true);
    // The protective record: type, start and size as sgdisk writes them.
    expect(a.subarray(446, 446 + 16).subarray(4, 16).equals(b.subarray(446, 446 + 16).subarray(4, 16))).toBe(true);
  });

  it('random layouts pass both verifiers', () => {
    fc.assert(fc.property(fc.integer({ min: 4, max: 4096 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }), fc.nat(), (mib, sizes, seed) => {
      const sectors = mib * 2048;
      const partitions: GptPartition[] = [];
      let at = 2048;
      sizes.forEach((s, i) => {
        const last = Math.min(at + s * 2048 - 1, lastUsable(sectors));
        if (at > last) return;
        partitions.push({ type: PARTITION_TYPE.linuxGeneric, guid: guid(seed + i + 10), name: `p${i}`, first: at, last });
        at += s * 2048;
      });
      const img = path.join(work, 'r.img');
      writeImage({ sectors, diskGuid: guid(seed), partitions }, img);
      expect(spawnSync('sfdisk', ['--verify', img], { env }).status).toBe(0);
      const v = spawnSync('sgdisk', ['-v', img], { encoding: 'utf8', env });
      expect(v.stdout).toMatch(/No problems found/);
    }), { numRuns: 15 });
  });
});
