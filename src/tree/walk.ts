// Deterministic traversal: children in byte order of their names, parents before children.
import { compareByteStrings } from './names.js';
import type { DirNode, FsNode } from './node.js';

export interface WalkEntry {
  /** Path components from the root (byte strings); empty for the root itself. */
  path: string[];
  node: FsNode;
  parent: DirNode | null;
}

export function sortedEntries(dir: DirNode): [string, FsNode][] {
  return [...dir.entries].sort((a, b) => compareByteStrings(a[0], b[0]));
}

/**
 * The sizes of the regular files under `root` added up (a hard-linked file once per name):
 * about how much an archive of the tree holds, without sorting anything.
 */
export function treeFileBytes(root: DirNode): number {
  let n = 0;
  const dirs: DirNode[] = [root];
  for (let d = dirs.pop(); d; d = dirs.pop()) {
    for (const node of d.entries.values()) {
      if (node.kind === 'dir') dirs.push(node);
      else if (node.kind === 'file') n += node.size;
    }
  }
  return n;
}

/** Pre-order walk: every directory entry once (a hard-linked node appears once per name). */
export function* walkTree(root: DirNode): Generator<WalkEntry> {
  const stack: WalkEntry[] = [{ path: [], node: root, parent: null }];
  while (stack.length > 0) {
    const e = stack.pop()!;
    yield e;
    if (e.node.kind === 'dir') {
      const kids = sortedEntries(e.node);
      for (let i = kids.length - 1; i >= 0; i--) {
        const [name, node] = kids[i]!;
        stack.push({ path: [...e.path, name], node, parent: e.node });
      }
    }
  }
}
