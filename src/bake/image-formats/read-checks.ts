// What every image reader checks before it trusts a number from the file: a table or a
// cluster it is told about must lie inside the file (so nothing is allocated for bytes the
// file does not have), sizes stay under fixed caps, and a failure is one CorruptInputError
// naming the file, the format, the field and the byte offset.
import { CorruptInputError, UnsupportedError } from '../../util/errors.js';
import type { ImageSource } from './source.js';

/** The largest virtual disk cake-img reads: 16 TiB, the largest file a host ext4 holds. */
export const MAX_VIRTUAL_BYTES = 2 ** 44;
/** The largest table (L1, grain directory, BAT) read at once, as qemu caps its L1 at 32 MiB. */
export const MAX_TABLE_BYTES = 32 << 20;

export class ImageChecks {
  constructor(readonly file: ImageSource, readonly where: string, readonly format: string) {}

  corrupt(field: string, offset: number, problem: string): CorruptInputError {
    return new CorruptInputError(this.where, `${this.format} ${field} (byte ${offset}): ${problem}`, { format: this.format, field, offset });
  }

  unsupported(problem: string): UnsupportedError {
    return new UnsupportedError(this.where, `${this.format}: ${problem}`);
  }

  /** Reads [offset, +length) of the file; `field` names what is there when it is outside. */
  async read(offset: number, length: number, field: string, at = offset): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.file.size) {
      throw this.corrupt(field, at, `${length} bytes at ${offset} lie past the end of the file (${this.file.size} bytes)`);
    }
    if (length > MAX_TABLE_BYTES) throw this.corrupt(field, at, `${length} bytes is more than cake-img reads at once (${MAX_TABLE_BYTES})`);
    return this.file.readAt(offset, length);
  }

  /** A struct decoded from bytes of the file, its own complaints relabelled with the file's name. */
  decode<T>(decode: () => T, field: string, at: number): T {
    try {
      return decode();
    } catch (e) {
      if (e instanceof CorruptInputError) throw this.corrupt(e.field ?? field, at + (e.offset ?? 0), e.message.replace(/^[^:]*: /, ''));
      throw e;
    }
  }

  virtualSize(size: number, field: string, at: number): number {
    if (size > MAX_VIRTUAL_BYTES) throw this.corrupt(field, at, `a disk of ${size} bytes is larger than cake-img reads (16 TiB)`);
    return size;
  }
}

/** Whether `n` is a power of two between lo and hi. */
export function powerOfTwo(n: number, lo: number, hi: number): boolean {
  return Number.isInteger(n) && n >= lo && n <= hi && Number.isInteger(Math.log2(n));
}
