// A tree as a path → node map, for tests that look entries up by name.
import type { DirNode, FsNode } from '../../src/tree/node.js';

/** Every entry by its path (byte string, no leading slash); the root as '' when asked for. */
export function pathsOf(root: DirNode, withRoot = false): Map<string, FsNode> {
  const out = new Map<string, FsNode>(withRoot ? [['', root]] : []);
  const walk = (dir: DirNode, prefix: string): void => {
    for (const [name, node] of dir.entries) {
      const p = prefix ? `${prefix}/${name}` : name;
      out.set(p, node);
      if (node.kind === 'dir') walk(node, p);
    }
  };
  walk(root, '');
  return out;
}
