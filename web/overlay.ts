// A small tree laid over the rootfs (the page's overlay: /etc/hostname, an authorized_keys),
// like `cook --contents`: its files replace the rootfs's at the same paths, its directories
// merge into existing ones (which keep their own metadata). Contents stay where they are:
// both trees' refs are rewrapped into one MultiContent, each stream still read in order.
import { MultiContent } from '../src/io/content-source.js';
import type { LoadedTree } from '../src/sources/directory.js';
import type { ContentRef, DirNode } from '../src/tree/node.js';
import { forEachNode } from '../src/tree/transforms.js';

function rewrap(root: DirNode, wrap: (r: ContentRef) => ContentRef): void {
  forEachNode(root, (n) => {
    if (n.kind === 'file' && n.content) n.content = wrap(n.content);
  });
}

function merge(into: DirNode, from: DirNode): void {
  for (const [name, node] of from.entries) {
    const had = into.entries.get(name);
    if (had?.kind === 'dir' && node.kind === 'dir') merge(had, node);
    else into.entries.set(name, node);
  }
}

export function withOverlay(base: LoadedTree, over: LoadedTree): LoadedTree {
  const content = new MultiContent();
  rewrap(base.tree.root, content.register(base.content));
  rewrap(over.tree.root, content.register(over.content));
  merge(base.tree.root, over.tree.root);
  return { tree: base.tree, content, warnings: [...base.warnings, ...over.warnings] };
}
