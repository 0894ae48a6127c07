// The FAT type is the cluster count's (fatgen103): at each boundary ± 1 cluster the
// planner writes the type or refuses, and fsck.fat reads the count and the type we meant.
// Cluster sizes and types by size follow mkfs.fat, which judges them here.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAT16_BOOT_SECTOR, FAT32_BOOT_SECTOR } from '../../src/bake/fat/boot-sector.js';
import { FAT16_MAX_CLUSTERS, FAT16_MIN_CLUSTERS, FAT32_MIN_CLUSTERS, type FatType, layoutFor } from '../../src/bake/fat/geometry.js';
import { planFat } from '../../src/bake/fat/planner.js';
import { BytesContent } from '../../src/io/content-source.js';
import { newDir } from '../../src/tree/node.js';
import { InvalidOptionError } from '../../src/util/errors.js';
import { expectFsckFatClean, hasFatTools } from '../oracles/fat.js';
import { TOOL_PATH, hasTool } from '../oracles/tools.js';
import { buildFat, readImage } from '../helpers/fat.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir('cake-fat-types-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const empty = () => ({ root: newDir(0o755, 0, 0, { sec: 1_700_000_000, nsec: 0 }) });

/** The smallest whole-track sector count whose layout has exactly `clusters` clusters (with 32-sector clusters, one per track). */
function sectorsFor(type: FatType, spc: number, clusters: number): number {
  for (let t = Math.floor((clusters * spc) / 32) * 32; ; t += 32) {
    const g = layoutFor(t, type, spc);
    if (g && g.clusterCount === clusters) return t;
    if (g && g.clusterCount > clusters + 4) throw new Error(`no size gives ${clusters} clusters of ${spc} sectors`);
  }
}

/** fsck.fat -v's account of a volume: its cluster count and FAT width. */
function fsckView(img: string): { clusters: number; bits: number } {
  const out = execFileSync('fsck.fat', ['-n', '-v', img], { encoding: 'utf8', env: { ...process.env, PATH: TOOL_PATH } });
  return { clusters: Number(/(\d+) data clusters/.exec(out)![1]), bits: Number(/(\d+) bit entries/.exec(out)![1]) };
}

describe.skipIf(!hasFatTools())('FAT type by cluster count, at each boundary ± 1', () => {
  const cases: { type: FatType; spc: number; ok: number; refused: number }[] = [
    { type: 16, spc: 32, ok: FAT16_MIN_CLUSTERS, refused: FAT16_MIN_CLUSTERS - 1 }, // 4,085 + 16 (FAT12 below)
    { type: 16, spc: 32, ok: FAT16_MAX_CLUSTERS, refused: FAT16_MAX_CLUSTERS + 1 }, // 65,525 − 16
    { type: 32, spc: 32, ok: FAT32_MIN_CLUSTERS, refused: FAT32_MIN_CLUSTERS - 1 }, // 65,525 + 16 (edk2 refuses fewer)
  ];
  for (const c of cases) {
    it(`FAT${c.type} with ${c.ok} clusters of ${c.spc * 512} bytes is written and clean; ${c.refused} is refused`, async () => {
      const img = path.join(work, `t${c.type}-${c.ok}.img`);
      const size = sectorsFor(c.type, c.spc, c.ok) * 512;
      const plan = await buildFat(empty(), new BytesContent(), img, { size, fatType: c.type, clusterSize: c.spc * 512 });
      expect([plan.geo.fatType, plan.geo.clusterCount]).toEqual([c.type, c.ok]);
      expectFsckFatClean(img);
      expect(fsckView(img)).toEqual({ clusters: c.ok, bits: c.type });
      const over = sectorsFor(c.type, c.spc, c.refused) * 512;
      expect(() => planFat(empty(), { size: over, volumeId: 1, fatType: c.type, clusterSize: c.spc * 512 })).toThrow(InvalidOptionError);
      fs.rmSync(img);
    });
  }

  it('FAT16 below 512 MiB, FAT32 from 512 MiB, both clean', async () => {
    for (const [mib, type] of [[511, 16], [512, 32]] as const) {
      const img = path.join(work, `s${mib}.img`);
      const plan = await buildFat(empty(), new BytesContent(), img, { size: mib * 2 ** 20 });
      expect(plan.geo.fatType, `${mib} MiB`).toBe(type);
      expectFsckFatClean(img);
      expect(fsckView(img).bits).toBe(type);
      fs.rmSync(img);
    }
  });

  it('forcing a type the size cannot have is a one-line option error', () => {
    expect(() => planFat(empty(), { size: 3 * 2 ** 30, volumeId: 1, fatType: 16 })).toThrow(/--fat-type: 3\.00 GiB is too big for FAT16 .*use FAT32/);
    expect(() => planFat(empty(), { size: 16 * 2 ** 20, volumeId: 1, fatType: 32 })).toThrow(/--fat-type: 16\.0 MiB is too small for FAT32 .*the smallest is 33\.0 MiB/);
    expect(() => planFat(empty(), { size: 2 * 2 ** 20, volumeId: 1 })).toThrow(/--size: 2\.00 MiB is too small for FAT16/);
  });
});

describe.skipIf(!hasFatTools() || !hasTool('mkfs.fat'))('cluster size and type as mkfs.fat chooses them', () => {
  // mkfs.fat would make FAT12 below ~16 MiB; we never do, so the comparison starts there.
  for (const mib of [16, 64, 127, 129, 200, 257, 300, 511, 512, 1024, 8300]) {
    it(`${mib} MiB`, () => {
      const img = path.join(work, `mkfs-${mib}.img`);
      execFileSync('mkfs.fat', ['-C', img, String(mib * 1024)], { env: { ...process.env, PATH: TOOL_PATH }, stdio: 'ignore' });
      const head = readImage(img);
      fs.rmSync(img);
      const fat32 = FAT16_BOOT_SECTOR.decode(head).BPB_FATSz16 === 0;
      const theirs = { type: fat32 ? 32 : 16, spc: (fat32 ? FAT32_BOOT_SECTOR : FAT16_BOOT_SECTOR).decode(head).BPB_SecPerClus };
      const ours = planFat(empty(), { size: mib * 2 ** 20, volumeId: 1 }).geo;
      expect({ type: ours.fatType, spc: ours.sectorsPerCluster }).toEqual(theirs);
    });
  }
});
