// A file's logical bytes from its content source: the source streams the data runs back
// to back; this puts each byte at its offset and reports the holes between (and after)
// them, so hashing, tar writing and materialising all agree on what a sparse file holds.
import type { FileNode } from './node.js';
import { dataLength } from './node.js';
import type { ContentSource } from './content.js';

export interface LogicalSink {
  /** `chunk` (valid during the call only) belongs at byte `offset` of the file. */
  data(chunk: Uint8Array, offset: number): void | Promise<void>;
  /** `length` zero bytes at `offset` that the source does not store. */
  hole?(offset: number, length: number): void | Promise<void>;
}

export async function readLogical(node: FileNode, content: ContentSource, sink: LogicalSink): Promise<void> {
  const runs = node.dataRuns ?? [{ offset: 0, length: node.size }];
  let pos = 0; // logical offset reached
  let run = 0;
  let inRun = 0;
  if (node.content && dataLength(node) > 0) {
    await content.read(node.content, async (chunk) => {
      let off = 0;
      while (off < chunk.length) {
        const r = runs[run]!;
        if (inRun === 0 && pos < r.offset) {
          await sink.hole?.(pos, r.offset - pos);
          pos = r.offset;
        }
        const take = Math.min(r.length - inRun, chunk.length - off);
        await sink.data(chunk.subarray(off, off + take), pos);
        off += take;
        inRun += take;
        pos += take;
        if (inRun === r.length) {
          run++;
          inRun = 0;
        }
      }
    });
  }
  if (pos < node.size) await sink.hole?.(pos, node.size - pos);
}
