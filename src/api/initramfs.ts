// `cake-img initramfs SRC -o FILE[.gz]`: any tree → a newc archive, plain or gzip.
import { encodeCpio } from '../bake/cpio/encoder.js';
import { gzipSink } from '../bake/cpio/gzip.js';
import { deflateEngineFor } from '../host/deflate-pool.js';
import { treeFileBytes } from '../tree/walk.js';
import type { ChunkSink } from '../io/content-source.js';
import { NodeFileSink } from '../host/node-file-sink.js';
import { loadSource } from '../host/load-source.js';
import type { LoadedTree } from '../sources/directory.js';
import type { FsTree } from '../tree/node.js';
import type { ContentSource } from '../io/content-source.js';
import { applyTreeOptions, checkEpoch } from './mkfs.js';
import { checkOutputPath, writeOutput } from '../host/output-file.js';
import { faultPoint } from '../host/fault.js';
import { CPIO_MAX_TIME, CPIO_TIME_RANGE } from '../bake/cpio/records.js';
import { applyFormatLimits } from '../tree/limits.js';
import { inSource } from '../util/errors.js';

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

/**
 * Writes a tree as a (gzipped) newc archive to `path`, atomically; the tree's size picks
 * the deflate engine (worker threads only where they pay).
 */
export async function writeInitramfs(tree: FsTree, content: ContentSource, path: string, gzip: boolean, level = 9, inputs: string[] = []) {
  return writeOutput(path, { option: '-o', inputs }, async (out) => {
    const file = new NodeFileSink(out.fd);
    const pool = gzip ? deflateEngineFor(treeFileBytes(tree.root)) : null;
    try {
      let sink: ChunkSink = file.write;
      const gz = pool ? gzipSink(file.write, level, pool) : null;
      if (gz) sink = gz.sink;
      const stats = await encodeCpio(tree, content, sink);
      await gz?.finish();
      file.close();
      return { ...stats, fileBytes: file.bytes };
    } finally {
      pool?.close?.();
    }
  });
}

export async function initramfs(req: InitramfsRequest): Promise<InitramfsResult> {
  checkEpoch(req.sourceDateEpoch, CPIO_MAX_TIME, 'cpio newc', '2106-02-07');
  checkOutputPath(req.output, { option: '-o', inputs: [req.source] }); // before any work
  const loaded: LoadedTree = await loadSource(req.source, { platform: req.platform, lenient: req.lenient });
  faultPoint('loaded');
  try {
    applyTreeOptions(loaded, req.owner, req.sourceDateEpoch);
    loaded.warnings.push(...applyFormatLimits(loaded.tree, { label: req.source, format: 'cpio newc', lenient: req.lenient, timeRange: CPIO_TIME_RANGE }));
    const gzip = req.gzip ?? /\.gz$/i.test(req.output);
    let r;
    try {
      r = await writeInitramfs(loaded.tree, loaded.content, req.output, gzip, req.gzipLevel ?? 9, [req.source]);
    } catch (e) {
      throw inSource(req.source, e);
    }
    return { records: r.records, cpioBytes: r.bytes, fileBytes: r.fileBytes, warnings: loaded.warnings };
  } finally {
    await loaded.content.close();
  }
}
