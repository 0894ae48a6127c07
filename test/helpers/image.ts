// Builds images for tests through the same plan + write path the CLI uses.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NodeFileBlockDevice } from '../../src/host/node-block-device.js';
import type { ContentSource } from '../../src/io/content-source.js';
import { planExt4, type Ext4Plan } from '../../src/bake/ext4/planner.js';
import { writeExt4 } from '../../src/bake/ext4/writer.js';
import { DEFAULT_FEATURES, type Ext4Options } from '../../src/bake/ext4/options.js';
import type { FsTree } from '../../src/tree/node.js';

export function tmpDir(prefix = 'cake-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function testOptions(over: Partial<Ext4Options> = {}): Ext4Options {
  return {
    size: 'auto', blockSize: 4096, inodeSize: 256,
    uuid: Uint8Array.from({ length: 16 }, (_, i) => i * 17),
    hashSeed: Uint8Array.from({ length: 16 }, (_, i) => 255 - i * 3),
    label: 'test', features: { ...DEFAULT_FEATURES }, timestamp: 1_700_000_000, inodeRatio: 16384, ...over,
  };
}

export async function buildImage(tree: FsTree, content: ContentSource, img: string, over: Partial<Ext4Options> = {}): Promise<Ext4Plan> {
  const plan = planExt4(tree, testOptions(over));
  const dev = NodeFileBlockDevice.create(img, plan.geo.blocksCount * plan.geo.blockSize);
  try {
    await writeExt4(plan, dev, content, { assumeZeroed: true });
  } finally {
    dev.close();
  }
  return plan;
}

export function sha256File(p: string): string {
  return createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}
