// The tar header blocks, declared once for the reader (tar-headers.ts, tar-entries.ts) and
// the writer (cook/tar-writer.ts). Numbers in these fields are text (octal, or GNU/star
// base-256 when the top bit of the first byte is set), so they are byte fields here and
// tar-headers.ts parses them; what the table fixes is where each field is and how wide.
// POSIX.1-2001 pax (ustar) and GNU tar's "old GNU" layout: GNU tar manual, "Basic Tar
// Format" (tar.h).
import { defineStruct } from '../struct/schema.js';

export const BLOCK = 512;

/** The ustar header (POSIX); GNU headers share it up to magic/version ("ustar  \0"). */
export const USTAR_HEADER = defineStruct('tar header', [
  ['name', 'bytes100', 0],
  ['mode', 'bytes8', 100],
  ['uid', 'bytes8', 108],
  ['gid', 'bytes8', 116],
  ['size', 'bytes12', 124],
  ['mtime', 'bytes12', 136],
  ['chksum', 'bytes8', 148],
  ['typeflag', 'bytes1', 156],
  ['linkname', 'bytes100', 157],
  ['magic', 'bytes6', 257],
  ['version', 'bytes2', 263],
  ['uname', 'bytes32', 265],
  ['gname', 'bytes32', 297],
  ['devmajor', 'bytes8', 329],
  ['devminor', 'bytes8', 337],
  ['prefix', 'bytes155', 345],
], { size: BLOCK });

/** Old GNU sparse ('S') header: the same block, with atime/ctime and a sparse map where ustar has its prefix. */
export const GNU_SPARSE_HEADER = defineStruct('GNU sparse tar header', [
  ['head', 'bytes345', 0], // as USTAR_HEADER up to the prefix
  ['atime', 'bytes12', 345],
  ['ctime', 'bytes12', 357],
  ['offset', 'bytes12', 369],
  ['longnames', 'bytes4', 381],
  ['unused', 'bytes1', 385],
  ['sparse', 'bytes96', 386], // 4 × GNU_SPARSE_ENTRY
  ['isextended', 'u8', 482],
  ['realsize', 'bytes12', 483],
], { size: BLOCK });

/** A block continuing an old GNU sparse map. */
export const GNU_SPARSE_EXTENSION = defineStruct('GNU sparse extension block', [
  ['sparse', 'bytes504', 0], // 21 × GNU_SPARSE_ENTRY
  ['isextended', 'u8', 504],
], { size: BLOCK });

/** One run of an old GNU sparse map. */
export const GNU_SPARSE_ENTRY = defineStruct('GNU sparse map entry', [
  ['offset', 'bytes12', 0],
  ['numbytes', 'bytes12', 12],
]);

/** [offset, width] of a ustar field, for the text-number helpers. */
export function ustarField(name: keyof typeof USTAR_HEADER.offsets): readonly [number, number] {
  const [start, end] = USTAR_HEADER.span(name);
  return [start, end - start];
}
