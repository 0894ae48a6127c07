// Where each inode's blocks went, by inode number. Nearly every inode of a big tree has
// one extent (a small file, a one-block directory) or none, so that extent is kept in
// typed arrays and only the few inodes with more get an array of mappings: an object and
// an array per inode would be most of a million-file plan.
import type { ExtentNode, Mapping } from './extent.js';

/** What the writer and the inode encoder need of one inode's placement. */
export interface InodeLayout {
  mappings: Mapping[];
  /** Only for more than four extents; smaller trees are the mappings themselves, in i_block. */
  tree: ExtentNode | null;
  treeBlocks: number[];
  xattrBlock: number;
}

const NO_BLOCKS: number[] = [];
const NO_MAPPINGS: Mapping[] = [];

export class InodeExtents {
  /** The single extent: physical block (0: none) and length; its logical block is 0 but for a sparse file's. */
  private readonly physical: Float64Array;
  private readonly length: Uint16Array;
  private readonly logical = new Map<number, number>();
  /** Inodes with more than one extent: all of them. */
  private readonly many = new Map<number, Mapping[]>();
  private readonly trees = new Map<number, { tree: ExtentNode; blocks: number[] }>();
  private readonly xattrBlocks = new Map<number, number>();

  constructor(inodes: number) {
    this.physical = new Float64Array(inodes);
    this.length = new Uint16Array(inodes);
  }

  /** Records an inode's mappings (all of them, in logical order; set once). */
  set(ino: number, mappings: Mapping[]): void {
    if (mappings.length === 1) {
      const m = mappings[0]!;
      this.physical[ino] = m.physical;
      if (m.logical) this.logical.set(ino, m.logical);
      this.length[ino] = m.length; // at most EXT_INIT_MAX_LEN (32768)
    } else if (mappings.length > 1) {
      this.many.set(ino, mappings);
    }
  }

  /** The inode's mappings (a new array for a one-extent inode). */
  mappings(ino: number): Mapping[] {
    const many = this.many.get(ino);
    if (many) return many;
    const physical = this.physical[ino]!;
    return physical ? [{ logical: this.logical.get(ino) ?? 0, physical, length: this.length[ino]! }] : NO_MAPPINGS;
  }

  extentCount(ino: number): number {
    return this.many.get(ino)?.length ?? (this.physical[ino] ? 1 : 0);
  }

  /** The first block of the inode's first extent; 0 when it has none. */
  firstPhysical(ino: number): number {
    return this.many.get(ino)?.[0]!.physical ?? this.physical[ino]!;
  }

  setTree(ino: number, tree: ExtentNode, blocks: number[]): void {
    this.trees.set(ino, { tree, blocks });
  }

  tree(ino: number): ExtentNode | null {
    return this.trees.get(ino)?.tree ?? null;
  }

  setXattrBlock(ino: number, block: number): void {
    this.xattrBlocks.set(ino, block);
  }

  xattrBlock(ino: number): number {
    return this.xattrBlocks.get(ino) ?? 0;
  }

  /** The inode's whole placement, as one record (made on demand). */
  get(ino: number): InodeLayout {
    const t = this.trees.get(ino);
    return { mappings: this.mappings(ino), tree: t?.tree ?? null, treeBlocks: t?.blocks ?? NO_BLOCKS, xattrBlock: this.xattrBlock(ino) };
  }
}
