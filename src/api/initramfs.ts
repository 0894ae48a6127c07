// `cake-img initramfs SRC -o FILE[.gz]`: any tree → a newc archive, plain or gzip.
import { encodeCpio } from '../bake/cpio/encoder.js';
import { gzipSink } from '../bake/cpio/gzip.js';
import { deflatePool } from '../io/deflate-pool.js';
import type { ChunkSink } from '../io/content-source.js';
import { NodeFileSink } from '../io/node-file-sink.js';
import { loadSource } from '../sources/detect.js';
import type { LoadedTree } from '../sources/directory.js';
import type { FsTree } from '../tree/node.js';
import type { ContentSource } from '../io/content-source.js';
import { applyTreeOptions } from './mkfs.js';
import { writeAtomically } from './output-file.js';

export interface InitramfsRequest {
  source: string;
  output: string;
  owner?: string;
  /** Compress with gzip; default: when the output name ends in .gz. */
  gzip?: boolean;
  gzipLevel?: number;
  sourceDateEpoch?: number;
  /** Container image sources. */
  platform?: string;
  lenient?: boolean;
}

export interface InitramfsResult {
  records: number;
  cpioBytes: number;
  fileBytes: number;
  warnings: string[];
}

/** Writes a tree as a (gzipped) newc archive to `path`, atomically. */
export async function writeInitramfs(tree: FsTree, content: ContentSource, path: string, gzip: boolean, level = 9) {
  return writeAtomically(path, async (tmp) => {
    const file = new NodeFileSink(tmp);
    try {
      let sink: ChunkSink = file.write;
      const gz = gzip ? gzipSink(file.write, level, deflatePool()) : null;
      if (gz) sink = gz.sink;
      const stats = await encodeCpio(tree, content, sink);
      await gz?.finish();
      return { ...stats, fileBytes: file.bytes };
    } finally {
      file.close();
    }
  });
}

export async function initramfs(req: InitramfsRequest): Promise<InitramfsResult> {
  const loaded: LoadedTree = await loadSource(req.source, { platform: req.platform, lenient: req.lenient });
  try {
    applyTreeOptions(loaded, req.owner, req.sourceDateEpoch);
    const gzip = req.gzip ?? /\.gz$/i.test(req.output);
    const r = await writeInitramfs(loaded.tree, loaded.content, req.output, gzip, req.gzipLevel ?? 9);
    return { records: r.records, cpioBytes: r.bytes, fileBytes: r.fileBytes, warnings: loaded.warnings };
  } finally {
    await loaded.content.close();
  }
}
