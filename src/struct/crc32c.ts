// CRC-32C (Castagnoli). ext4 and jbd2 use the raw register value: start from the seed,
// no final inversion (the kernel's crc32c_le()). crc32c(~0, data) is the usual "seed";
// callers chain the result as the next seed.
import { makeCrc32 } from './crc-slice8.js';

export const crc32c = makeCrc32(0x82f63b78);

const le32buf = new Uint8Array(4);
/** crc32c over a little-endian u32 (inode numbers, group numbers). */
export function crc32cU32(seed: number, value: number): number {
  le32buf[0] = value & 0xff;
  le32buf[1] = (value >>> 8) & 0xff;
  le32buf[2] = (value >>> 16) & 0xff;
  le32buf[3] = (value >>> 24) & 0xff;
  return crc32c(seed, le32buf);
}
