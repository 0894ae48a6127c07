// The one tar reader: an async iterator of entries over a byte stream, used by every tar
// consumer (rootfs tarballs and .deb data, image layers, the outer tar of image archives).
// It understands ustar, GNU and v7 headers, pax extended and global headers (an empty
// value cancels a keyword), GNU long names and links, volume labels, and the three GNU
// sparse formats (old 'S' headers, pax 0.0/0.1, pax 1.0 with its map in the data). The
// consumer sees every real entry once with its metadata decoded and where its data lies
// in the stream; the iterator skips the data itself. Nothing here trusts a path: callers
// place entries (tree/builder.ts). Errors name the archive and the entry or header offset.
import { displayName } from '../tree/names.js';
import type { DataRun, NodeMeta, Timestamp } from '../tree/node.js';
import { CorruptInputError } from '../util/errors.js';
import {
  BLOCK, HeaderError, type PaxRecords, type RawHeader, SparseMapParser, checkRuns, collectXattrs, cString, decodeHeader, headerSum,
  isZeroBlock, oldGnuRuns, parseNumeric, paxInteger, paxMap01, paxString, paxTime, parsePax, typeName,
} from './tar-headers.js';
import { GNU_SPARSE_ENTRY, GNU_SPARSE_EXTENSION, GNU_SPARSE_HEADER } from './tar-struct.js';

/** Sequential reads with a position: a decompressing ByteReader, or a plain file. */
export interface SeqReader {
  offset: number;
  /** Fills `dest`; fewer bytes only at the end of the stream. */
  read(dest: Uint8Array): Promise<number>;
  /** Skips up to `n` bytes; returns how many there were. */
  skip(n: number): Promise<number>;
}

/** Entry kinds after normalisation: regular files ('0', '\0', '7', 'S'), hard link, symlink, char, block, directory ('5', 'D', a name ending in '/'), fifo. */
export type EntryType = '0' | '1' | '2' | '3' | '4' | '5' | '6';

/** What an entry says about the node it makes (the tar source and image layers build it with entryNode). */
export interface EntryFields extends NodeMeta {
  type: EntryType;
  /** Link target as a byte string, long names applied; not yet checked for safety. */
  linkname: string;
  major: number;
  minor: number;
  /** Files: the logical size (a sparse file's real size); 0 for others. */
  size: number;
  /** Sparse files: where the stored bytes go in the file. */
  runs?: DataRun[];
}

export interface TarEntry extends EntryFields {
  /** Position among the real entries (0, 1, ...). */
  index: number;
  /** Stream offset of the entry's own header block, and that block's byte sum. */
  headerOffset: number;
  headerSum: number;
  /** Name as a byte string, long names applied; not yet checked for safety. */
  path: string;
  /** The type byte as stored, for messages. */
  rawType: string;
  /** Files: stream offset of the first stored data byte (after a pax 1.0 sparse map) and how many are stored. */
  dataStart: number;
  dataLength: number;
  /** "archive: name", for messages about this entry. */
  where: string;
}

export interface TarEntryOptions {
  /** Names the archive in messages. */
  label: string;
  /** Warnings about things skipped (keyed, so each is said once by the caller). */
  warn?: (key: string, message: string) => void;
}

/** Extended headers (pax, GNU long names) bigger than this are refused rather than buffered. */
export const MAX_META = 16 << 20;
/** At most this many sparse runs in one file (each costs memory while planning). */
const MAX_RUNS = 1 << 20;

/** Keys that describe one member only; a global header setting them is ignored. */
const PER_FILE_KEYS = new Set(['path', 'linkpath', 'size']);

const pad = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;

/** Runs a header decoder, turning its HeaderError into a CorruptInputError naming `where`. */
function guard<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof HeaderError ? new CorruptInputError(where, e.message) : e;
  }
}

const EXPECT_TYPES: Record<string, EntryType> = { '0': '0', '\0': '0', '7': '0', S: '0', '1': '1', '2': '2', '3': '3', '4': '4', '5': '5', D: '5', '6': '6' };

/**
 * Entries of the tar on `reader`, in archive order. The iterator reads through each
 * entry's data after the consumer has seen it (a consumer may read some or all of it from
 * `reader` first); a consumer that stops early just stops.
 */
export async function* tarEntries(reader: SeqReader, opts: TarEntryOptions): AsyncGenerator<TarEntry> {
  const { label } = opts;
  const warn = opts.warn ?? (() => {});
  const block = new Uint8Array(BLOCK);
  const ext = new ExtendedHeaders(reader);
  let index = 0;
  for (;;) {
    const headerOffset = reader.offset;
    const h = await readHeader(reader, block, label, ext.pending);
    if (!h) return;
    // Extended headers describe the next entry.
    const metaWhere = `${label}: extended header at byte ${headerOffset}`;
    if (await ext.take(h, metaWhere)) continue;
    const { fields, sparse00 } = ext.forEntry(h, label, metaWhere);
    const { entry, stored } = decodeEntry(h, fields, block, index++, headerOffset, reader.offset, warn);
    const consumed = entry.type === '0' ? await locateFileData(reader, entry, h, block, fields, sparse00, stored) : 0;
    // The consumer may read the entry's data from `reader` while it holds the entry; the
    // rest is skipped from wherever it stopped.
    const end = reader.offset + stored - consumed + pad(stored);
    yield entry;
    if (reader.offset > end) throw new Error(`tar entries: the consumer read past ${entry.where}`);
    await skipExactly(reader, end - reader.offset, entry.where);
  }
}

async function skipExactly(reader: SeqReader, n: number, where: string): Promise<void> {
  if ((await reader.skip(n)) < n) throw new CorruptInputError(where, 'archive is truncated');
}

/** The next header, decoded; null at the end of the archive (an end block, or the end of the stream). */
async function readHeader(reader: SeqReader, block: Uint8Array, label: string, pending: boolean): Promise<RawHeader | null> {
  const headerOffset = reader.offset;
  const got = await reader.read(block);
  if (got === 0 || (got === BLOCK && isZeroBlock(block))) {
    if (pending) throw new CorruptInputError(label, 'archive ends after an extended header with no entry for it');
    return null;
  }
  const at = `${label}: header at byte ${headerOffset}`;
  if (got < BLOCK) throw new CorruptInputError(at, 'archive is truncated');
  return guard(at, () => decodeHeader(block));
}

/**
 * What extended headers say about the entry after them (pax 'x' records, GNU long names),
 * and the global pax records ('g'), as the stream gives them.
 */
class ExtendedHeaders {
  private readonly global = new Map<string, Uint8Array>();
  private local: PaxRecords | null = null;
  private longName: string | null = null;
  private longLink: string | null = null;

  constructor(private readonly reader: SeqReader) {}

  /** Whether something read waits for its entry. */
  get pending(): boolean {
    return this.local !== null || this.longName !== null || this.longLink !== null;
  }

  /** Reads `h` when it is an extended header or a volume label (true), else leaves it (false). */
  async take(h: RawHeader, where: string): Promise<boolean> {
    switch (h.type) {
      case 'x': {
        const data = await this.readData(h.size, where);
        const recs = guard(where, () => parsePax(data));
        this.local = this.local ? this.local.concat(recs) : recs;
        return true;
      }
      case 'g': {
        const data = await this.readData(h.size, where);
        for (const [k, v] of guard(where, () => parsePax(data))) {
          if (v.length === 0) this.global.delete(k);
          else this.global.set(k, v);
        }
        return true;
      }
      case 'L':
      case 'K': {
        const data = await this.readData(h.size, where);
        const s = cString(data, 0, data.length);
        if (h.type === 'L') this.longName = s;
        else this.longLink = s;
        return true;
      }
      case 'V': // GNU volume label: not a file
        await skipExactly(this.reader, h.size + pad(h.size), where);
        return true;
    }
    return false;
  }

  private async readData(size: number, where: string): Promise<Uint8Array> {
    if (size > MAX_META) throw new CorruptInputError(where, `extended header of ${size} bytes is too large`);
    const data = new Uint8Array(size);
    if ((await this.reader.read(data)) < size) throw new CorruptInputError(where, 'archive is truncated');
    await skipExactly(this.reader, pad(size), where);
    return data;
  }

  /**
   * The entry's effective pax keywords (globals, then its own records; an empty value
   * cancels one) with its path, and the numbers of GNU sparse 0.0 records, which may
   * repeat; what waited for this entry is used up.
   */
  forEntry(h: RawHeader, label: string, metaWhere: string): { fields: PaxFields; sparse00: number[] } {
    const pax = new Map<string, Uint8Array>();
    for (const [k, v] of this.global) if (!PER_FILE_KEYS.has(k) && !k.startsWith('GNU.sparse.')) pax.set(k, v);
    const sparse00: number[] = [];
    for (const [k, v] of this.local ?? []) {
      if (k === 'GNU.sparse.offset' || k === 'GNU.sparse.numbytes') {
        sparse00.push(guard(metaWhere, () => paxInteger(v, k)));
        if (sparse00.length > 2 * MAX_RUNS) throw new CorruptInputError(metaWhere, 'sparse map is too long');
      }
      if (v.length === 0) pax.delete(k);
      else pax.set(k, v);
    }
    this.local = null;
    let path = pax.has('path') ? paxString(pax.get('path')!) : this.longName ?? h.name;
    const linkname = pax.has('linkpath') ? paxString(pax.get('linkpath')!) : this.longLink ?? h.linkname;
    this.longName = this.longLink = null;
    if (pax.has('GNU.sparse.name')) path = paxString(pax.get('GNU.sparse.name')!);
    return { fields: new PaxFields(pax, path, linkname, `${label}: ${displayName(path)}`), sparse00 };
  }
}

/** An entry's names and pax keywords; its other fields read from the keywords where present, else from the header. Errors name the entry. */
class PaxFields {
  constructor(readonly pax: Map<string, Uint8Array>, readonly path: string, readonly linkname: string, readonly where: string) {}

  check<T>(f: () => T): T {
    return guard(this.where, f);
  }

  fail(msg: string): never {
    throw new CorruptInputError(this.where, msg);
  }

  num(key: string, fallback: number): number {
    return this.pax.has(key) ? this.check(() => paxInteger(this.pax.get(key)!, key)) : fallback;
  }

  time(key: string, fallback: Timestamp): Timestamp {
    return this.pax.has(key) ? this.check(() => paxTime(this.pax.get(key)!, key)) : fallback;
  }

  str(key: string, fallback: string): string {
    return this.pax.has(key) ? paxString(this.pax.get(key)!) : fallback;
  }
}

/** The entry `h` starts (data not yet located), and how many bytes of data follow its header. */
function decodeEntry(
  h: RawHeader, f: PaxFields, block: Uint8Array, index: number, headerOffset: number, dataStart: number, warn: (key: string, msg: string) => void,
): { entry: TarEntry; stored: number } {
  const { pax, path, where } = f;
  const stored = f.num('size', h.size);
  const mtime = f.time('mtime', { sec: h.mtime, nsec: 0 });
  let type = EXPECT_TYPES[h.type];
  if (h.type === 'M') f.fail('multi-volume continuation entries are not supported');
  if (type === undefined) f.fail(`unknown entry type ${typeName(h.type)}`);
  if (type === '0' && h.type !== 'S' && path.endsWith('/')) type = '5'; // pre-POSIX directory
  const entry: TarEntry = {
    index, headerOffset, headerSum: headerSum(block), path, linkname: f.linkname, type: type!, rawType: h.type,
    perm: h.mode & 0o7777, uid: f.num('uid', h.uid), gid: f.num('gid', h.gid), mtime, atime: f.time('atime', mtime), ctime: f.time('ctime', mtime),
    xattrs: pax.size ? collectXattrs(pax, warn) : [], major: f.num('SCHILY.devmajor', h.devmajor), minor: f.num('SCHILY.devminor', h.devminor),
    size: 0, dataStart, dataLength: 0, where,
  };
  return { entry, stored };
}

/** Where a sparse file's stored bytes go, and the bytes of a pax 1.0 map before them (`consumed` of which were read). */
interface SparseLayout {
  realSize: number;
  runs: DataRun[];
  mapBytes: number;
  consumed: number;
}

/**
 * Sets a file entry's size, data start and length, and its runs when it is sparse (old GNU
 * 'S' headers, or GNU.sparse.* pax records); returns how many data bytes it read (a pax 1.0 map).
 */
async function locateFileData(
  reader: SeqReader, entry: TarEntry, h: RawHeader, block: Uint8Array, f: PaxFields, sparse00: number[], stored: number,
): Promise<number> {
  const { pax } = f;
  let sparse: SparseLayout | null = null;
  if (h.type === 'S') {
    sparse = await oldGnuSparse(reader, block, f);
    entry.dataStart = reader.offset;
  } else if (pax.has('GNU.sparse.major') || pax.has('GNU.sparse.size') || pax.has('GNU.sparse.map') || sparse00.length) {
    sparse = await paxSparse(reader, f, sparse00, stored);
    entry.dataStart += sparse.mapBytes;
  }
  const length = stored - (sparse?.mapBytes ?? 0);
  if (sparse) {
    let sum = 0;
    for (const r of sparse.runs) sum += r.length;
    if (sum !== length) f.fail(`sparse map describes ${sum} data bytes but the entry stores ${length}`);
    entry.runs = sparse.runs;
  }
  entry.size = sparse?.realSize ?? stored;
  entry.dataLength = length;
  return sparse?.consumed ?? 0;
}

/** Old GNU sparse ('S'): the map is in the header and in the extension blocks that follow it. */
async function oldGnuSparse(reader: SeqReader, block: Uint8Array, f: PaxFields): Promise<SparseLayout> {
  const all: DataRun[] = [];
  const S = GNU_SPARSE_HEADER, X = GNU_SPARSE_EXTENSION, runSize = GNU_SPARSE_ENTRY.size;
  const [realAt, realEnd] = S.span('realsize');
  f.check(() => oldGnuRuns(block, S.offsets.sparse, (S.span('sparse')[1] - S.offsets.sparse) / runSize, all));
  const realSize = f.check(() => parseNumeric(block, realAt, realEnd - realAt, 'realsize'));
  let extended = S.get(block, 0, 'isextended') !== 0;
  const ext = new Uint8Array(BLOCK);
  while (extended) {
    if ((await reader.read(ext)) < BLOCK) f.fail('archive is truncated (in a sparse header)');
    f.check(() => oldGnuRuns(ext, X.offsets.sparse, (X.span('sparse')[1] - X.offsets.sparse) / runSize, all));
    extended = X.get(ext, 0, 'isextended') !== 0;
    if (all.length > MAX_RUNS) f.fail('sparse map is too long');
  }
  return { realSize, runs: f.check(() => checkRuns(all, realSize)), mapBytes: 0, consumed: 0 };
}

/** GNU sparse files in pax archives: format 1.0 keeps the map at the start of the data, 0.0 and 0.1 in the records. */
async function paxSparse(reader: SeqReader, f: PaxFields, sparse00: number[], stored: number): Promise<SparseLayout> {
  const major = f.str('GNU.sparse.major', '0');
  const minor = f.str('GNU.sparse.minor', '');
  if (major === '1' && minor === '0') return pax10Sparse(reader, f, stored);
  if (major === '0') return pax0xSparse(f, sparse00);
  return f.fail(`unsupported GNU sparse format ${major}.${minor}`);
}

/** Format 1.0: decimal numbers in newline-ended lines, padded to a block, before the data. */
async function pax10Sparse(reader: SeqReader, f: PaxFields, stored: number): Promise<SparseLayout> {
  const realSize = f.num('GNU.sparse.realsize', -1);
  if (realSize < 0) f.fail('sparse file has no GNU.sparse.realsize');
  const parser = new SparseMapParser();
  const buf = new Uint8Array(BLOCK);
  let consumed = 0;
  while (!parser.done) {
    if (consumed >= stored) f.fail('sparse map runs past the entry data');
    const want = Math.min(BLOCK, stored - consumed);
    if ((await reader.read(buf.subarray(0, want))) < want) f.fail('archive is truncated (in a sparse map)');
    consumed += want;
    f.check(() => parser.feed(buf.subarray(0, want)));
  }
  const mapBytes = parser.consumed + pad(parser.consumed);
  if (mapBytes > stored) f.fail('sparse map runs past the entry data');
  return { realSize, runs: f.check(() => checkRuns(parser.runs(), realSize)), mapBytes, consumed };
}

/** Formats 0.1 (one GNU.sparse.map record) and 0.0 (GNU.sparse.offset/numbytes pairs). */
function pax0xSparse(f: PaxFields, sparse00: number[]): SparseLayout {
  const realSize = f.num('GNU.sparse.size', f.num('GNU.sparse.realsize', -1));
  if (realSize < 0) f.fail('sparse file has no GNU.sparse.size');
  let raw: DataRun[];
  if (f.pax.has('GNU.sparse.map')) raw = f.check(() => paxMap01(f.pax.get('GNU.sparse.map')!));
  else {
    if (sparse00.length % 2) f.fail('sparse map has an offset without numbytes');
    raw = [];
    for (let i = 0; i < sparse00.length; i += 2) raw.push({ offset: sparse00[i]!, length: sparse00[i + 1]! });
  }
  if (raw.length > MAX_RUNS) f.fail('sparse map is too long');
  return { realSize, runs: f.check(() => checkRuns(raw, realSize)), mapBytes: 0, consumed: 0 };
}
