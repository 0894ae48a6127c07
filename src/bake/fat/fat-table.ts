// The file allocation table (fatgen103, "FAT Data Structure"): entry 0 holds the media
// byte with every other bit set, entry 1 the end-of-chain mark with the clean-shutdown
// and no-error bits set; then, for each contiguous chain, every cluster points to the
// next and the last holds end-of-chain; free clusters are 0. Both FATs are identical.
import { MEDIA_FIXED } from './boot-sector.js';
import type { FatType } from './geometry.js';

/** End-of-chain marks as Windows writes them (FAT32 entries are 28 bits; the top 4 stay 0). */
export const EOC16 = 0xffff;
export const EOC32 = 0x0fffffff;

export const fatEntryBytes = (type: FatType): number => (type === 32 ? 4 : 2);

/** Encodes one FAT front to back in pieces (ascending calls), from the chain lengths of a plan. */
export class FatEncoder {
  private chain = 0;
  /** First cluster of chains[chain]. */
  private chainStart = 2;

  constructor(private readonly type: FatType, private readonly chains: readonly number[]) {}

  /** Entries [first, first + count) as bytes; `first` must not go back between calls. */
  entries(first: number, count: number): Uint8Array {
    const size = fatEntryBytes(this.type);
    const out = new Uint8Array(count * size);
    const view = new DataView(out.buffer);
    const eoc = this.type === 32 ? EOC32 : EOC16;
    const put = size === 4 ? (k: number, v: number) => view.setUint32(k * 4, v, true) : (k: number, v: number) => view.setUint16(k * 2, v, true);
    for (let k = 0; k < count; k++) {
      const i = first + k;
      if (i === 0) put(k, (eoc & ~0xff) | MEDIA_FIXED);
      else if (i === 1) put(k, eoc);
      else {
        while (this.chain < this.chains.length && i >= this.chainStart + this.chains[this.chain]!) this.chainStart += this.chains[this.chain++]!;
        if (this.chain >= this.chains.length) break; // free from here on: zeros
        put(k, i === this.chainStart + this.chains[this.chain]! - 1 ? eoc : i + 1);
      }
    }
    return out;
  }
}
