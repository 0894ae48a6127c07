// A number per node, for walks that must know a node met again under another name (hard
// links): the identity digest, ext4's inode numbering. A Map over every node of a tree of
// a million files is tens of MB that die right after the walk (and the growth copies
// before that), so files with content are found by their content order instead, which
// a source gives each file: two arrays indexed by it, the node kept to prove it is the
// same one. Every other node (directories, symlinks, empty files, a file whose order
// another node already holds) goes in a Map, which stays small.
import type { FsNode } from './node.js';

/** Orders past this are left to the Map (a source's orders are entry counts, far below). */
const MAX_ORDER = 1 << 26;

export class NodeNumbers {
  private nodes: (FsNode | undefined)[] = [];
  private numbers = new Uint32Array(0);
  private readonly others = new Map<FsNode, number>();

  get(node: FsNode): number | undefined {
    const o = orderOf(node);
    if (o >= 0 && o < this.nodes.length && this.nodes[o] === node) return this.numbers[o]!;
    return this.others.get(node);
  }

  /** Gives `node` (not numbered before) the number `n` (below 2^32). */
  set(node: FsNode, n: number): void {
    const o = orderOf(node);
    if (o < 0 || o >= MAX_ORDER) {
      this.others.set(node, n);
      return;
    }
    if (o >= this.nodes.length) this.grow(o + 1);
    if (this.nodes[o] === undefined) {
      this.nodes[o] = node;
      this.numbers[o] = n;
    } else {
      this.others.set(node, n); // another node holds this order (shared content)
    }
  }

  private grow(min: number): void {
    const size = Math.max(min, this.nodes.length * 2, 1024);
    const nodes = new Array<FsNode | undefined>(size).fill(undefined);
    for (let i = 0; i < this.nodes.length; i++) nodes[i] = this.nodes[i];
    const numbers = new Uint32Array(size);
    numbers.set(this.numbers);
    this.nodes = nodes;
    this.numbers = numbers;
  }
}

/** The node's content order when it is a file with content and the order a whole number; else -1. */
function orderOf(node: FsNode): number {
  if (node.kind !== 'file' || !node.content) return -1;
  const o = node.content.order;
  return Number.isInteger(o) && o >= 0 ? o : -1;
}
