// Tar source: ustar, GNU and pax archives (optionally gzipped) into an FsTree, in two
// streaming passes. Pass 1 reads every header and skips the data; the ContentSource
// re-opens the stream and skips forward to each requested member. Memory stays flat
// whatever the archive or member size.
import type { ChunkSink, ContentSource } from '../io/content-source.js';
import { TreeBuilder, splitArchivePath } from '../tree/builder.js';
import { displayName } from '../tree/names.js';
import type { ContentRef, DataRun, FileNode, FsNode, Timestamp } from '../tree/node.js';
import { CakeError, CorruptInputError } from '../util/errors.js';
import type { LoadedTree } from './directory.js';
import { ByteReader, maybeDecompress } from './decompress.js';
import {
  BLOCK, HeaderError, type PaxRecords, type RawHeader, SparseMapParser, checkRuns, collectXattrs, cString, decodeHeader, headerSum,
  isZeroBlock, oldGnuRuns, parseNumeric, paxInteger, paxMap01, paxString, paxTime, parsePax, typeName,
} from './tar-headers.js';

export interface TarSourceOptions {
  /** Shown in errors and warnings as the archive's name. */
  label: string;
  /** Storage for entries read ahead of their turn when a big tree is read out of order. */
  spill?: () => SpillStore;
  /** Bytes of such entries held in memory before the spill store is used (default 256 MiB). */
  spillAbove?: number;
  /** Entries with hostile names (absolute, `..`, through a symlink, a hard link to nowhere) are skipped with a warning instead of failing. */
  lenient?: boolean;
}

/** Extended headers (pax, GNU long names) bigger than this are refused rather than buffered. */
const MAX_META = 16 << 20;

/** Keys that describe one member only; a global header setting them is ignored. */
const PER_FILE_KEYS = new Set(['path', 'linkpath', 'size']);

interface TarHandle {
  /** Archive path, for error messages. */
  path: string;
  /** Stream offset of the member's header block, and its byte sum (to notice a changed archive). */
  headerOffset: number;
  headerSum: number;
  /** Stream offset of the first byte to deliver (after a sparse map) and the byte count. */
  start: number;
  length: number;
}

const pad = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;

/** Reads a tar archive (plain or gzip) produced by `openStream`; may be called again by the ContentSource. */
export async function loadTar(openStream: () => AsyncIterable<Uint8Array>, opts: TarSourceOptions): Promise<LoadedTree> {
  const label = opts.label;
  const warnings: string[] = [];
  const warnOnce = new Set<string>();
  const warn = (key: string, msg: string): void => {
    if (warnOnce.has(key)) return;
    warnOnce.add(key);
    warnings.push(`${label}: ${msg}`);
  };

  const reader = new ByteReader(maybeDecompress(openStream(), label));
  const builder = new TreeBuilder();
  const block = new Uint8Array(BLOCK);
  const globalPax = new Map<string, Uint8Array>();
  let localPax: PaxRecords | null = null;
  let longName: string | null = null;
  let longLink: string | null = null;
  let index = 0;

  const readMeta = async (size: number, where: string): Promise<Uint8Array> => {
    if (size > MAX_META) throw new CorruptInputError(where, `extended header of ${size} bytes is too large`);
    const data = new Uint8Array(size);
    if ((await reader.read(data)) < size || (await reader.skip(pad(size))) < pad(size)) {
      throw new CorruptInputError(where, 'archive is truncated');
    }
    return data;
  };

  try {
    for (;;) {
      const headerOffset = reader.offset;
      const got = await reader.read(block);
      const pending = localPax !== null || longName !== null || longLink !== null;
      if (got === 0 || (got === BLOCK && isZeroBlock(block))) {
        if (pending) throw new CorruptInputError(label, 'archive ends after an extended header with no entry for it');
        break;
      }
      if (got < BLOCK) throw new CorruptInputError(`${label}: header at byte ${headerOffset}`, 'archive is truncated');

      let h: RawHeader;
      try {
        h = decodeHeader(block);
      } catch (e) {
        if (e instanceof HeaderError) {
          throw new CorruptInputError(`${label}: header at byte ${headerOffset}`, e.message);
        }
        throw e;
      }

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
          if ((await reader.skip(h.size + pad(h.size))) < h.size + pad(h.size)) throw new CorruptInputError(metaWhere, 'archive is truncated');
          continue;
      }

      // Effective pax keywords: globals, then this entry's records (an empty value cancels a keyword).
      const pax = new Map<string, Uint8Array>();
      for (const [k, v] of globalPax) if (!PER_FILE_KEYS.has(k) && !k.startsWith('GNU.sparse.')) pax.set(k, v);
      const sparse00: number[] = [];
      for (const [k, v] of localPax ?? []) {
        if (k === 'GNU.sparse.offset' || k === 'GNU.sparse.numbytes') sparse00.push(guard(metaWhere, () => paxInteger(v, k)));
        if (v.length === 0) pax.delete(k);
        else pax.set(k, v);
      }
      localPax = null;

      let path = pax.has('path') ? paxString(pax.get('path')!) : longName ?? h.name;
      const linkname = pax.has('linkpath') ? paxString(pax.get('linkpath')!) : longLink ?? h.linkname;
      longName = longLink = null;
      if (pax.has('GNU.sparse.name')) path = paxString(pax.get('GNU.sparse.name')!);
      const where = `${label}: ${displayName(path)}`;
      const entryIndex = index++;

      const check = <T>(f: () => T): T => guard(where, f);
      const num = (key: string, fallback: number): number => (pax.has(key) ? check(() => paxInteger(pax.get(key)!, key)) : fallback);
      const time = (key: string, fallback: Timestamp): Timestamp => (pax.has(key) ? check(() => paxTime(pax.get(key)!, key)) : fallback);
      const size = num('size', h.size);
      const mtime = time('mtime', { sec: h.mtime, nsec: 0 });
      const perm = h.mode & 0o7777;
      const uid = num('uid', h.uid);
      const gid = num('gid', h.gid);
      const atime = time('atime', mtime);
      const ctime = time('ctime', mtime);
      const xattrs = pax.size ? collectXattrs(pax, warn) : [];
      const dataStart = reader.offset;
      let consumed = 0; // data bytes of this entry already read
      const fail: (msg: string) => never = (msg) => {
        throw new CorruptInputError(where, msg);
      };

      // Placing an entry: a hostile name is an error, or (lenient) a warning and a skip.
      const hostile = <T>(place: () => T): T | undefined => {
        try {
          return place();
        } catch (e) {
          if (!opts.lenient || !(e instanceof CorruptInputError)) throw e;
          warnings.push(`skipped: ${e.message}`);
          return undefined;
        }
      };
      let node: FsNode | undefined;
      let type = h.type;
      if ((type === '0' || type === '\0') && path.endsWith('/')) type = '5'; // pre-POSIX directory
      switch (type) {
        case '0':
        case '\0':
        case '7':
        case 'S': {
          let realSize = size;
          let runs: DataRun[] | undefined;
          let skipBytes = 0;
          let start = dataStart;
          if (type === 'S') {
            const all: DataRun[] = [];
            check(() => oldGnuRuns(block, 386, 4, all));
            realSize = check(() => parseNumeric(block, 483, 12, 'realsize'));
            let extended = block[482] !== 0;
            const ext = new Uint8Array(BLOCK);
            while (extended) {
              if ((await reader.read(ext)) < BLOCK) fail('archive is truncated (in a sparse header)');
              check(() => oldGnuRuns(ext, 0, 21, all));
              extended = ext[504] !== 0;
              if (all.length > 1 << 24) fail('sparse map is too long');
            }
            start = reader.offset;
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
                if (consumed >= size) fail('sparse map runs past the entry data');
                const want = Math.min(BLOCK, size - consumed);
                if ((await reader.read(buf.subarray(0, want))) < want) fail('archive is truncated (in a sparse map)');
                consumed += want;
                check(() => parser.feed(buf.subarray(0, want)));
              }
              skipBytes = parser.consumed + pad(parser.consumed);
              if (skipBytes > size) fail('sparse map runs past the entry data');
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
              runs = check(() => checkRuns(raw, realSize));
            } else {
              fail(`unsupported GNU sparse format ${major}.${minor}`);
            }
            start = dataStart + skipBytes;
          }
          const length = size - skipBytes;
          if (runs) {
            let sum = 0;
            for (const r of runs) sum += r.length;
            if (sum !== length) fail(`sparse map describes ${sum} data bytes but the entry stores ${length}`);
          }
          const content: ContentRef | null =
            length > 0
              ? { order: entryIndex, handle: { path, headerOffset, headerSum: headerSum(block), start, length } satisfies TarHandle }
              : null;
          const file: FileNode = { kind: 'file', perm, uid, gid, mtime, atime, ctime, xattrs, size: realSize, content };
          if (runs) file.dataRuns = runs;
          node = file;
          break;
        }
        case '1': {
          const target = hostile(() => {
            const t = builder.get(splitArchivePath(linkname, where));
            if (!t) fail(`hard link to ${JSON.stringify(displayName(linkname))}, which is not in the archive before it`);
            if (t.kind === 'dir') fail(`hard link to ${JSON.stringify(displayName(linkname))}, which is a directory`);
            return t;
          });
          if (!target) break;
          node = target;
          break;
        }
        case '2':
          if (linkname.includes('\0')) fail('symlink target contains a NUL byte');
          node = { kind: 'symlink', perm, uid, gid, mtime, atime, ctime, xattrs, target: linkname };
          break;
        case '3':
        case '4':
          node = {
            kind: type === '3' ? 'chardev' : 'blockdev', perm, uid, gid, mtime, atime, ctime, xattrs,
            major: num('SCHILY.devmajor', h.devmajor),
            minor: num('SCHILY.devminor', h.devminor),
          };
          break;
        case '5':
        case 'D': // GNU incremental dump directory: a directory whose data lists names
          node = { kind: 'dir', perm, uid, gid, mtime, atime, ctime, xattrs, entries: new Map() };
          break;
        case '6':
          node = { kind: 'fifo', perm, uid, gid, mtime, atime, ctime, xattrs };
          break;
        case 'M':
          fail('multi-volume continuation entries are not supported');
        default:
          fail(`unknown entry type ${typeName(type)}`);
      }

      if (node) hostile(() => builder.set(splitArchivePath(path, where), node!, where));

      const rest = size - consumed + pad(size);
      if ((await reader.skip(rest)) < rest) fail('archive is truncated');
    }

    // Read to the end so a corrupt or truncated gzip stream is noticed.
    while ((await reader.skip(1 << 30)) > 0);
  } catch (e) {
    await reader.close().catch(() => {});
    throw asSourceError(e, label);
  }
  await reader.close();

  return { tree: builder.tree, content: new TarContent(openStream, label, opts.spill, opts.spillAbove ?? MEMORY_SPILL_LIMIT), warnings };
}

/** Errors from the byte stream (I/O, decompression) become one-line CorruptInputErrors; our own pass through. */
function asSourceError(e: unknown, where: string): unknown {
  if (e instanceof CakeError || e instanceof TypeError || e instanceof ReferenceError) return e;
  const err = e as Error & { code?: string };
  const msg = err instanceof Error ? `${err.code ? `${err.code} ` : ''}${err.message}` : String(e);
  return new CorruptInputError(where, `cannot read archive: ${msg}`);
}

/** Runs a header decoder, turning its HeaderError into a CorruptInputError naming `where`. */
function guard<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof HeaderError ? new CorruptInputError(where, e.message) : e;
  }
}

/**
 * Where entries read out of archive order wait until asked for: memory, or (for big
 * trees, supplied by the Node side) a temporary file.
 */
export interface SpillStore {
  append(chunk: Uint8Array): void;
  /** Streams `length` bytes from `offset` (an offset `append` returned via `size`). */
  read(offset: number, length: number, sink: ChunkSink): Promise<void>;
  readonly size: number;
  close(): void;
}

/** Above this, out-of-order contents go to the spill store when there is one. */
const MEMORY_SPILL_LIMIT = 256 << 20;

/** File contents of one tar stream, by entry; also serves image layers (layers.ts). */
export class TarContent implements ContentSource {
  private reader: ByteReader | null = null;
  private lastOrder = -1;
  private readonly block = new Uint8Array(BLOCK);
  /** Refs in archive order, when the caller will read them in another order. */
  private outOfOrder: ContentRef[] | null = null;
  private kept: Map<ContentRef, Uint8Array[] | { offset: number; length: number }> | null = null;
  private spill: SpillStore | null = null;

  constructor(
    private readonly openStream: () => AsyncIterable<Uint8Array>,
    private readonly label: string,
    private readonly makeSpill?: () => SpillStore,
    private readonly spillAbove = MEMORY_SPILL_LIMIT,
  ) {}

  /**
   * Reading in another order than the archive's (a cpio lists entries sorted) would
   * restart decompression at every step back: quadratic. Instead the archive is read once
   * and each needed entry kept until its turn.
   */
  plan(refs: readonly ContentRef[]): void {
    this.outOfOrder = null;
    for (let i = 1; i < refs.length; i++) {
      if (refs[i]!.order <= refs[i - 1]!.order) {
        this.outOfOrder = [...refs].sort((a, b) => a.order - b.order);
        return;
      }
    }
  }

  private async keepAll(): Promise<void> {
    const refs = this.outOfOrder!;
    const total = refs.reduce((n, r) => n + (r.handle as TarHandle).length, 0);
    if (total > this.spillAbove && this.makeSpill) this.spill = this.makeSpill();
    this.kept = new Map();
    for (const ref of refs) {
      if (this.spill) {
        const offset = this.spill.size;
        await this.readInOrder(ref, (c) => this.spill!.append(c));
        this.kept.set(ref, { offset, length: this.spill.size - offset });
      } else {
        const chunks: Uint8Array[] = [];
        await this.readInOrder(ref, (c) => void chunks.push(c.slice()));
        this.kept.set(ref, chunks);
      }
    }
    await this.closeReader();
  }

  async read(ref: ContentRef, sink: ChunkSink): Promise<void> {
    if (!this.outOfOrder) return this.readInOrder(ref, sink);
    if (!this.kept) await this.keepAll();
    const k = this.kept!.get(ref);
    if (!k) return this.readInOrder(ref, sink); // not announced: the slow path still works
    this.kept!.delete(ref); // each file is read once; free it
    if (Array.isArray(k)) for (const c of k) await sink(c);
    else await this.spill!.read(k.offset, k.length, sink);
  }

  private async readInOrder(ref: ContentRef, sink: ChunkSink): Promise<void> {
    const h = ref.handle as TarHandle;
    if (this.reader && ref.order <= this.lastOrder) {
      // Asked to go back: start over from the beginning of the archive.
      await this.closeReader();
    }
    this.lastOrder = ref.order;
    if (!this.reader) this.reader = new ByteReader(maybeDecompress(this.openStream(), this.label));
    const r = this.reader;
    const where = `${this.label}: ${displayName(h.path)}`;
    const changed = (): never => {
      throw new CorruptInputError(where, 'archive ended early or changed since it was first read');
    };
    let sinkError: unknown = null;
    const guardedSink = async (chunk: Uint8Array): Promise<void> => {
      try {
        await sink(chunk);
      } catch (e) {
        sinkError = e;
        throw e;
      }
    };
    try {
      if (r.offset > h.headerOffset) throw new Error(`tar content: read position ${r.offset} is past entry at ${h.headerOffset}`);
      if ((await r.skip(h.headerOffset - r.offset)) < h.headerOffset - r.offset) changed();
      if ((await r.read(this.block)) < BLOCK || headerSum(this.block) !== h.headerSum) changed();
      if ((await r.skip(h.start - r.offset)) < h.start - r.offset) changed();
      if ((await r.pipe(h.length, guardedSink)) < h.length) changed();
    } catch (e) {
      await this.closeReader().catch(() => {});
      throw e === sinkError ? e : asSourceError(e, where);
    }
  }

  private async closeReader(): Promise<void> {
    const r = this.reader;
    this.reader = null;
    this.lastOrder = -1;
    if (r) await r.close();
  }

  async close(): Promise<void> {
    await this.closeReader();
    this.kept = null;
    this.spill?.close();
    this.spill = null;
  }
}

/** Node convenience: loads a tar (or .tar.gz) file from disk. */
export async function loadTarFile(path: string, opts: { lenient?: boolean } = {}): Promise<LoadedTree> {
  const { createReadStream } = await import('node:fs');
  const open = (): AsyncIterable<Uint8Array> => createReadStream(path, { highWaterMark: 1 << 20 });
  const { tempFileSpill } = await import('../io/temp-spill.js');
  return loadTar(open, { label: path, spill: tempFileSpill, lenient: opts.lenient });
}
