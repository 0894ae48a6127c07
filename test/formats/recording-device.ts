// A block device for tests that keeps what is written (sparse, in memory) and notes
// every non-zero byte written outside a set of planned ranges: the judge of the
// written-ranges functions the qcow2 and VMDK writers trust.
import { MemoryBlockDevice } from '../../src/io/block-device.js';
import { type ByteRange, findRange } from '../../src/io/byte-ranges.js';

export class RecordingDevice extends MemoryBlockDevice {
  /** Non-zero bytes written outside the ranges: [first offset, count] per write. */
  readonly strays: { offset: number; bytes: number }[] = [];
  /** Bytes written that were not zero. */
  nonZeroBytes = 0;

  constructor(size: number, private readonly ranges: readonly ByteRange[]) {
    super(size);
  }

  override async writeAt(offset: number, data: Uint8Array): Promise<void> {
    let first = -1;
    let count = 0;
    for (let i = 0; i < data.length; i++) {
      if (data[i] === 0) continue;
      this.nonZeroBytes++;
      if (findRange(this.ranges, offset + i) >= 0) continue;
      if (first < 0) first = offset + i;
      count++;
    }
    if (count) this.strays.push({ offset: first, bytes: count });
    await super.writeAt(offset, data);
  }
}
