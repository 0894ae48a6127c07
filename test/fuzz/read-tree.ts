// Reading a loaded tree back the way an emitter does: every file's content through the
// ContentSource, in ascending order (or announced in reverse, the out-of-order path),
// each required to deliver exactly its data length; then the source is closed.
import type { LoadedTree } from '../../src/sources/directory.js';
import { type ContentRef, type FileNode, type FsNode, dataLength } from '../../src/tree/node.js';

/** Every file node of the tree once (hard links are one node). */
export function fileNodes(l: LoadedTree): FileNode[] {
  const out = new Set<FileNode>();
  const stack: FsNode[] = [l.tree.root];
  const seen = new Set<FsNode>();
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.kind === 'file') out.add(n);
    else if (n.kind === 'dir') for (const c of n.entries.values()) stack.push(c);
  }
  return [...out];
}

/** Reads every file's content (each must deliver exactly its data length), then closes. Returns the bytes read. */
export async function readContents(l: LoadedTree, reverse = false): Promise<number> {
  const withContent = fileNodes(l).filter((f) => f.content !== null);
  withContent.sort((a, b) => a.content!.order - b.content!.order);
  if (reverse) withContent.reverse();
  let total = 0;
  try {
    l.content.plan?.(withContent.map((f) => f.content as ContentRef));
    for (const f of withContent) {
      let n = 0;
      await l.content.read(f.content!, (c) => {
        n += c.length;
      });
      if (n !== dataLength(f)) throw new Error(`content read gave ${n} bytes for a file of ${dataLength(f)} data bytes`);
      total += n;
    }
  } finally {
    await l.content.close();
  }
  return total;
}
