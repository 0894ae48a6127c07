// A multi-block .xz (what `xz -T` and dpkg-deb make: Debian's kernel data.tar.xz has 17
// blocks of 24 MiB) decoded on several workers at once. The index at the end of the file
// gives every block's place and sizes; each block is wrapped into a one-block stream of
// its own (the original stream header, the block, a one-record index, a footer, CRCs
// recomputed) that any xz decoder reads. xz file format 1.0.4 (tukaani.org/xz/xz-file-format.txt).
import type { ByteFile } from '../src/io/byte-file.js';
import { crc32 } from '../src/struct/crc32.js';
import { CorruptInputError } from '../src/util/errors.js';

export interface XzBlock {
  /** Offset of the block in the file, its size with padding, and the sizes the index records. */
  offset: number;
  total: number;
  unpadded: number;
  uncompressed: number;
}

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

function varint(b: Uint8Array, at: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 9 && at + i < b.length; i++) {
    v += (b[at + i]! & 0x7f) * 2 ** (7 * i);
    if (!(b[at + i]! & 0x80)) return [v, at + i + 1];
  }
  throw new Error('bad varint');
}

function putVarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

const u32 = (b: Uint8Array, at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** The stream header and blocks of a single-stream .xz in [start, end) of `file`; null when it is anything else. */
export async function xzBlocks(file: ByteFile, start: number, end: number): Promise<{ header: Uint8Array; blocks: XzBlock[] } | null> {
  if (end - start < 32) return null;
  const header = await file.read(start, 12);
  if (!MAGIC.every((m, i) => header[i] === m)) return null;
  const footer = await file.read(end - 12, 12);
  if (footer[10] !== 0x59 || footer[11] !== 0x5a || footer[8] !== header[6] || footer[9] !== header[7]) return null; // padding or more streams: not here
  const indexSize = (u32(footer, 4) + 1) * 4;
  if (indexSize > end - start - 24) return null;
  const index = await file.read(end - 12 - indexSize, indexSize);
  if (index[0] !== 0) return null;
  try {
    let [count, at] = varint(index, 1);
    const blocks: XzBlock[] = [];
    let offset = start + 12;
    for (; count > 0; count--) {
      const [unpadded, a1] = varint(index, at);
      const [uncompressed, a2] = varint(index, a1);
      at = a2;
      const total = Math.ceil(unpadded / 4) * 4;
      blocks.push({ offset, total, unpadded, uncompressed });
      offset += total;
    }
    if (offset !== end - 12 - indexSize) return null;
    return { header, blocks };
  } catch {
    return null;
  }
}

/** One block as a complete one-block .xz stream. */
export function standalone(header: Uint8Array, block: Uint8Array, b: XzBlock): Uint8Array {
  const idx = [0];
  putVarint(idx, 1);
  putVarint(idx, b.unpadded);
  putVarint(idx, b.uncompressed);
  while (idx.length % 4) idx.push(0);
  const index = [...idx, ...le32(crc32(0, Uint8Array.from(idx)))];
  const tail = [...le32(index.length / 4 - 1), header[6]!, header[7]!];
  const footer = [...le32(crc32(0, Uint8Array.from(tail))), ...tail, 0x59, 0x5a];
  const out = new Uint8Array(12 + block.length + index.length + 12);
  out.set(header, 0);
  out.set(block, 12);
  out.set(index, 12 + block.length);
  out.set(footer, 12 + block.length + index.length);
  return out;
}

/** Decodes one one-block stream somewhere (a worker); resolves to its bytes. */
export type BlockDecoder = (stream: Uint8Array) => Promise<Uint8Array>;

/**
 * The decompressed bytes of a multi-block .xz, blocks decoded by `decoders`, yielded in
 * order. A decoder takes the next block as soon as it is free (blocks differ: the first of
 * Debian's kernel package holds 10.7 MB of its 70, the others 2-4 MB, so a fixed turn left
 * one decoder idle behind the other), with up to two blocks per decoder decoded ahead of
 * the reader. Each block must come out at the size the index records.
 */
export async function* parallelXz(file: ByteFile, layout: { header: Uint8Array; blocks: XzBlock[] }, decoders: BlockDecoder[], label: string): AsyncGenerator<Uint8Array> {
  const results: Promise<Uint8Array>[] = [];
  const settle: ((r: { out?: Uint8Array; error?: unknown }) => void)[] = [];
  for (let i = 0; i < layout.blocks.length; i++) {
    results.push(new Promise<Uint8Array>((resolve, reject) => {
      settle.push(({ out, error }) => (error === undefined ? resolve(out!) : reject(error)));
    }));
    results[i]!.catch(() => {}); // awaited in order below
  }
  let next = 0; // the next block to hand to a free decoder
  let consumed = 0; // blocks the reader has taken
  let stopped = false;
  const wake: (() => void)[] = [];
  const ahead = decoders.length * 2;
  const decodeLoop = async (d: BlockDecoder) => {
    while (!stopped && next < layout.blocks.length) {
      if (next - consumed >= ahead) {
        await new Promise<void>((r) => wake.push(r));
        continue;
      }
      const i = next++;
      const b = layout.blocks[i]!;
      try {
        const out = await d(standalone(layout.header, await file.read(b.offset, b.total), b));
        if (out.length !== b.uncompressed) throw new CorruptInputError(label, `xz block ${i + 1} gave ${out.length} bytes, its index says ${b.uncompressed}`);
        settle[i]!({ out });
      } catch (error) {
        settle[i]!({ error });
        stopped = true;
      }
    }
  };
  // Never awaited: a reader that stops early (pass 2) does not wait for the blocks still
  // decoding; their results go nowhere.
  for (const d of decoders) void decodeLoop(d);
  try {
    for (let i = 0; i < layout.blocks.length; i++) {
      const out = await results[i]!;
      consumed = i + 1;
      for (const w of wake.splice(0)) w();
      yield out;
    }
  } finally {
    stopped = true;
    for (const w of wake.splice(0)) w();
  }
}
