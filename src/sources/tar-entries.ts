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
 * entry's data after the consumer has seen it; a consumer that stops early just stops.
 */
export async function* tarEntries(reader: SeqReader, opts: TarEntryOptions): AsyncGenerator<TarEntry> {
  const { label } = opts;
  const warn = opts.warn ?? (() => {});
  const block = new Uint8Array(BLOCK);
  const globalPax = new Map<string, Uint8Array>();
  let localPax: PaxRecords | null = null;
  let longName: string | null = null;
  let longLink: string | null = null;
  let index = 0;

  const skipExactly = async (n: number, where: string, what = 'archive is truncated'): Promise<void> => {
    if ((await reader.skip(n)) < n) throw new CorruptInputError(where, what);
  };
  const readMeta = async (size: number, where: string): Promise<Uint8Array> => {
    if (size > MAX_META) throw new CorruptInputError(where, `extended header of ${size} bytes is too large`);
    const data = new Uint8Array(size);
    if ((await reader.read(data)) < size) throw new CorruptInputError(where, 'archive is truncated');
    await skipExactly(pad(size), where);
    return data;
  };

  for (;;) {
    const headerOffset = reader.offset;
    const got = await reader.read(block);
    const pending = localPax !== null || longName !== null || longLink !== null;
    if (got === 0 || (got === BLOCK && isZeroBlock(block))) {
      if (pending) throw new CorruptInputError(label, 'archive ends after an extended header with no entry for it');
      return;
    }
    const at = `${label}: header at byte ${headerOffset}`;
    if (got < BLOCK) throw new CorruptInputError(at, 'archive is truncated');
    const h: RawHeader = guard(at, () => decodeHeader(block));

    // Extended headers describe the next entry.
    const metaWhere = `${label}: extended header at byte ${headerOffset}`;
    switch (h.type) {
      case 'x': {
        const data = await readMeta(h.size, metaWhere);
        const recs = guard(metaWhere, () => parsePax(data));
        localPax = localPax ? localPax.concat(recs) : recs;
        continue;
      }
      case 'g': {
        const data = await readMeta(h.size, metaWhere);
        for (const [k, v] of guard(metaWhere, () => parsePax(data))) {
          if (v.length === 0) globalPax.delete(k);
          else globalPax.set(k, v);
        }
        continue;
      }
      case 'L':
      case 'K': {
        const data = await readMeta(h.size, metaWhere);
        const s = cString(data, 0, data.length);
        if (h.type === 'L') longName = s;
        else longLink = s;
        continue;
      }
      case 'V': // GNU volume label: not a file
        await skipExactly(h.size + pad(h.size), metaWhere);
        continue;
    }

    // Effective pax keywords: globals, then this entry's records (an empty value cancels one).
    const pax = new Map<string, Uint8Array>();
    for (const [k, v] of globalPax) if (!PER_FILE_KEYS.has(k) && !k.startsWith('GNU.sparse.')) pax.set(k, v);
    const sparse00: number[] = [];
    for (const [k, v] of localPax ?? []) {
      if (k === 'GNU.sparse.offset' || k === 'GNU.sparse.numbytes') {
        sparse00.push(guard(metaWhere, () => paxInteger(v, k)));
        if (sparse00.length > 2 * MAX_RUNS) throw new CorruptInputError(metaWhere, 'sparse map is too long');
      }
      if (v.length === 0) pax.delete(k);
      else pax.set(k, v);
    }
    localPax = null;

    let path = pax.has('path') ? paxString(pax.get('path')!) : longName ?? h.name;
    const linkname = pax.has('linkpath') ? paxString(pax.get('linkpath')!) : longLink ?? h.linkname;
    longName = longLink = null;
    if (pax.has('GNU.sparse.name')) path = paxString(pax.get('GNU.sparse.name')!);
    const where = `${label}: ${displayName(path)}`;
    const check = <T>(f: () => T): T => guard(where, f);
    const fail = (msg: string): never => {
      throw new CorruptInputError(where, msg);
    };
    const num = (key: string, fallback: number): number => (pax.has(key) ? check(() => paxInteger(pax.get(key)!, key)) : fallback);
    const time = (key: string, fallback: Timestamp): Timestamp => (pax.has(key) ? check(() => paxTime(pax.get(key)!, key)) : fallback);

    const stored = num('size', h.size); // bytes of data after the header
    const mtime = time('mtime', { sec: h.mtime, nsec: 0 });
    let type = EXPECT_TYPES[h.type];
    if (h.type === 'M') fail('multi-volume continuation entries are not supported');
    if (type === undefined) fail(`unknown entry type ${typeName(h.type)}`);
    if (type === '0' && h.type !== 'S' && path.endsWith('/')) type = '5'; // pre-POSIX directory

    const entry: TarEntry = {
      index: index++, headerOffset, headerSum: headerSum(block), path, linkname, type: type!, rawType: h.type,
      perm: h.mode & 0o7777, uid: num('uid', h.uid), gid: num('gid', h.gid), mtime, atime: time('atime', mtime), ctime: time('ctime', mtime),
      xattrs: pax.size ? collectXattrs(pax, warn) : [], major: num('SCHILY.devmajor', h.devmajor), minor: num('SCHILY.devminor', h.devminor),
      size: 0, dataStart: reader.offset, dataLength: 0, where,
    };
    let consumed = 0; // data bytes of this entry already read (a pax 1.0 sparse map)
    if (type === '0') {
      let realSize = stored;
      let runs: DataRun[] | undefined;
      let skipBytes = 0;
      if (h.type === 'S') {
        const all: DataRun[] = [];
        const S = GNU_SPARSE_HEADER, X = GNU_SPARSE_EXTENSION, runSize = GNU_SPARSE_ENTRY.size;
        const [realAt, realEnd] = S.span('realsize');
        check(() => oldGnuRuns(block, S.offsets.sparse, (S.span('sparse')[1] - S.offsets.sparse) / runSize, all));
        realSize = check(() => parseNumeric(block, realAt, realEnd - realAt, 'realsize'));
        let extended = S.get(block, 0, 'isextended') !== 0;
        const ext = new Uint8Array(BLOCK);
        while (extended) {
          if ((await reader.read(ext)) < BLOCK) fail('archive is truncated (in a sparse header)');
          check(() => oldGnuRuns(ext, X.offsets.sparse, (X.span('sparse')[1] - X.offsets.sparse) / runSize, all));
          extended = X.get(ext, 0, 'isextended') !== 0;
          if (all.length > MAX_RUNS) fail('sparse map is too long');
        }
        entry.dataStart = reader.offset;
        runs = check(() => checkRuns(all, realSize));
      } else if (pax.has('GNU.sparse.major') || pax.has('GNU.sparse.size') || pax.has('GNU.sparse.map') || sparse00.length) {
        const major = pax.has('GNU.sparse.major') ? paxString(pax.get('GNU.sparse.major')!) : '0';
        const minor = pax.has('GNU.sparse.minor') ? paxString(pax.get('GNU.sparse.minor')!) : '';
        if (major === '1' && minor === '0') {
          realSize = num('GNU.sparse.realsize', -1);
          if (realSize < 0) fail('sparse file has no GNU.sparse.realsize');
          const parser = new SparseMapParser();
          const buf = new Uint8Array(BLOCK);
          while (!parser.done) {
            if (consumed >= stored) fail('sparse map runs past the entry data');
            const want = Math.min(BLOCK, stored - consumed);
            if ((await reader.read(buf.subarray(0, want))) < want) fail('archive is truncated (in a sparse map)');
            consumed += want;
            check(() => parser.feed(buf.subarray(0, want)));
          }
          skipBytes = parser.consumed + pad(parser.consumed);
          if (skipBytes > stored) fail('sparse map runs past the entry data');
          runs = check(() => checkRuns(parser.runs(), realSize));
        } else if (major === '0') {
          realSize = num('GNU.sparse.size', num('GNU.sparse.realsize', -1));
          if (realSize < 0) fail('sparse file has no GNU.sparse.size');
          let raw: DataRun[];
          if (pax.has('GNU.sparse.map')) raw = check(() => paxMap01(pax.get('GNU.sparse.map')!));
          else {
            if (sparse00.length % 2) fail('sparse map has an offset without numbytes');
            raw = [];
            for (let i = 0; i < sparse00.length; i += 2) raw.push({ offset: sparse00[i]!, length: sparse00[i + 1]! });
          }
          if (raw.length > MAX_RUNS) fail('sparse map is too long');
          runs = check(() => checkRuns(raw, realSize));
        } else {
          fail(`unsupported GNU sparse format ${major}.${minor}`);
        }
        entry.dataStart += skipBytes;
      }
      const length = stored - skipBytes;
      if (runs) {
        let sum = 0;
        for (const r of runs) sum += r.length;
        if (sum !== length) fail(`sparse map describes ${sum} data bytes but the entry stores ${length}`);
        entry.runs = runs;
      }
      entry.size = realSize;
      entry.dataLength = length;
    }

    yield entry;

    const rest = stored - consumed + pad(stored);
    await skipExactly(rest, where);
  }
}
