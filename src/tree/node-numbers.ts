// A number per node, for walks that must know a node met again under another name (hard
// links): the identity digest, ext4's inode numbering. A Map over every node of a tree of
// a million files is tens of MB that die right after the walk (and the growth copies
// before that), so files with content are found by their content order instead, which
// a source gives each file: a number per order, checked against the caller's own list of
// nodes by number to prove it is the same node. Every other node (directories, symlinks,
// empty files, a file whose order another node already holds) goes in a Map, which stays
// small.
import type { FsNode } from './node.js';

/** Orders past this are left to the Map (a source's orders are entry counts, far below). */
const MAX_ORDER = 1 << 26;

export class NodeNumbers {
  /** By content order: the number + 1 (0: none yet). */
  private byOrder: Uint32Array;
  private readonly others = new Map<FsNode, number>();

  /**
   * `nodeOf(n)`: the node numbered `n`, which the caller keeps anyway (it proves an order's
   * number is this node's). `capacity`: the orders expected, to size the table once.
   */
  constructor(private readonly nodeOf: (n: number) => FsNode | undefined, capacity = 1024) {
    this.byOrder = new Uint32Array(Math.min(capacity, MAX_ORDER));
  }

  get(node: FsNode): number | undefined {
    const o = orderOf(node);
    const n = o >= 0 && o < this.byOrder.length ? this.byOrder[o]! - 1 : -1;
    if (n >= 0 && this.nodeOf(n) === node) return n;
    return this.others.get(node);
  }

  /** Gives `node` (not numbered before, and found by nodeOf from now on) the number `n` (below 2^32 - 1). */
  set(node: FsNode, n: number): void {
    const o = orderOf(node);
    if (o < 0 || o >= MAX_ORDER) {
      this.others.set(node, n);
      return;
    }
    if (o >= this.byOrder.length) {
      const more = new Uint32Array(Math.min(MAX_ORDER, Math.max(o + 1, this.byOrder.length * 2)));
      more.set(this.byOrder);
      this.byOrder = more;
    }
    if (this.byOrder[o] === 0) this.byOrder[o] = n + 1;
    else this.others.set(node, n); // another node holds this order (shared content)
  }
}

/** The node's content order when it is a file with content and the order a whole number; else -1. */
function orderOf(node: FsNode): number {
  if (node.kind !== 'file' || !node.content) return -1;
  const o = node.content.order;
  return Number.isInteger(o) && o >= 0 ? o : -1;
}
