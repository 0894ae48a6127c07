// Block allocation for the planner: fixed metadata is reserved first, then everything
// else is handed out from a cursor that only moves forward, so allocation order is
// disk order (what lets the writer stream file data in source order).

export interface Run {
  start: number;
  count: number;
}

export class BlockAllocator {
  /** Sorted, non-overlapping reserved runs (superblocks, GDTs, bitmaps, inode tables). */
  private readonly reserved: Run[] = [];
  private sorted = true;
  private cursor: number;
  private nextReserved = 0;
  /** Every block handed out by alloc*, in order (reserved runs are kept separately). */
  readonly allocated: Run[] = [];

  constructor(readonly firstBlock: number, readonly endBlock: number) {
    this.cursor = firstBlock;
  }

  reserve(start: number, count: number): void {
    if (count <= 0) return;
    this.reserved.push({ start, count });
    this.sorted = false;
  }

  /** The reserved runs in disk order. */
  reservedRuns(): readonly Run[] {
    this.sort();
    return this.reserved;
  }

  private sort(): void {
    if (this.sorted) return;
    this.reserved.sort((a, b) => a.start - b.start);
    for (let i = 1; i < this.reserved.length; i++) {
      const p = this.reserved[i - 1]!;
      if (p.start + p.count > this.reserved[i]!.start) throw new Error(`reserved runs overlap at block ${this.reserved[i]!.start} (planner bug)`);
    }
    this.sorted = true;
  }

  /** Skips the cursor past reserved runs it sits in. */
  private settle(): void {
    this.sort();
    while (this.nextReserved < this.reserved.length) {
      const r = this.reserved[this.nextReserved]!;
      if (r.start + r.count <= this.cursor) this.nextReserved++;
      else if (r.start <= this.cursor) {
        this.cursor = r.start + r.count;
        this.nextReserved++;
      } else break;
    }
  }

  /** Hands out `count` blocks from the cursor as one or more runs (split around reserved runs). */
  alloc(count: number): Run[] {
    const runs: Run[] = [];
    while (count > 0) {
      this.settle();
      const limit = this.nextReserved < this.reserved.length ? this.reserved[this.nextReserved]!.start : Infinity;
      const n = Math.min(count, limit - this.cursor);
      runs.push({ start: this.cursor, count: n });
      this.push(this.cursor, n);
      this.cursor += n;
      count -= n;
    }
    return runs;
  }

  /** One block. */
  allocOne(): number {
    return this.alloc(1)[0]!.start;
  }

  private push(start: number, count: number): void {
    const last = this.allocated[this.allocated.length - 1];
    if (last && last.start + last.count === start) last.count += count;
    else this.allocated.push({ start, count });
  }

  /** First block past everything allocated or reserved: what the filesystem must at least hold. */
  highWater(): number {
    this.sort();
    const lastRes = this.reserved[this.reserved.length - 1];
    return Math.max(this.cursor, lastRes ? lastRes.start + lastRes.count : 0);
  }

  /** Blocks handed out after reservation (the cursor only counts; for sizing). */
  get cursorBlock(): number {
    this.settle();
    return this.cursor;
  }
}
