// CRC-32 (IEEE, as gzip's trailer uses). crc32(0, data) is the plain value; pass the
// previous result to continue over more data.
import { makeCrc32 } from './crc-slice8.js';

const update = makeCrc32(0xedb88320);

export function crc32(prev: number, data: Uint8Array): number {
  return ~update(~prev, data) >>> 0;
}
