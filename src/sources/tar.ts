// Tar source: ustar, GNU and pax archives (plain or compressed, see decompress.ts) into an
// FsTree, in two streaming passes. Pass 1 reads every header and skips the data; the
// ContentSource re-opens the stream and skips forward to each requested member. Memory
// stays flat whatever the archive or member size. How an entry becomes a node is shared
// with image layers (layers.ts), which place entries by their own rules.
import type { ChunkSink, ContentSource } from '../io/content-source.js';
import { TreeBuilder, splitArchivePath } from '../tree/builder.js';
import { displayName } from '../tree/names.js';
import { type ContentRef, type DirNode, type FileNode, type FsNode, dataLength, nodeMeta } from '../tree/node.js';
import { forEachNode } from '../tree/transforms.js';
import { CakeError, CorruptInputError, DoesNotFitError } from '../util/errors.js';
import type { LoadedTree } from './directory.js';
import { ByteReader, maybeDecompress } from './decompress.js';
import { BLOCK, headerSum } from './tar-headers.js';
import { type EntryFields, type TarEntry, type TarEntryOptions, tarEntries } from './tar-entries.js';

export interface TarSourceOptions {
  /** Shown in errors and warnings as the archive's name. */
  label: string;
  /** Storage for entries read ahead of their turn when a big tree is read out of order. */
  spill?: () => SpillStore;
  /** Bytes of such entries held in memory before the spill store is used (default 256 MiB). */
  spillAbove?: number;
  /** Entries with hostile names (absolute, `..`, through a symlink, a hard link to nowhere) are skipped with a warning instead of failing. */
  lenient?: boolean;
  /** The output's size, when fixed: an archive declaring more file data is refused early. */
  sizeLimit?: number;
}

/** Where a member's data lies in the (decompressed) stream, for TarContent to find it again. */
export interface TarHandle {
  /** Archive path, for error messages. */
  path: string;
  /** Stream offset of the member's header block, and its byte sum (to notice a changed archive). */
  headerOffset: number;
  headerSum: number;
  /** Stream offset of the first byte to deliver (after a sparse map) and the byte count. */
  start: number;
  length: number;
}

/** The handle of a file entry with stored data; null for other entries. */
export function dataHandle(e: TarEntry): TarHandle | null {
  if (e.type !== '0' || e.dataLength <= 0) return null;
  return { path: e.path, headerOffset: e.headerOffset, headerSum: e.headerSum, start: e.dataStart, length: e.dataLength };
}

/**
 * The node an entry makes, hard links aside: their target is looked up in the caller's own
 * tree. A symlink target with a NUL byte is an error naming `where`.
 */
export function entryNode(e: EntryFields, content: ContentRef | null, where: string): FsNode {
  const meta = nodeMeta(e);
  switch (e.type) {
    case '0': {
      const file: FileNode = { kind: 'file', ...meta, size: e.size, content };
      if (e.runs) file.dataRuns = e.runs;
      return file;
    }
    case '1':
      throw new Error(`${where}: a hard link is placed by the caller (tar source bug)`);
    case '2':
      if (e.linkname.includes('\0')) throw new CorruptInputError(where, 'symlink target contains a NUL byte');
      return { kind: 'symlink', ...meta, target: e.linkname };
    case '3':
    case '4':
      return { kind: e.type === '3' ? 'chardev' : 'blockdev', ...meta, major: e.major, minor: e.minor };
    case '5':
      return { kind: 'dir', ...meta, entries: new Map() };
    case '6':
      return { kind: 'fifo', ...meta };
  }
}

/** A `warn` for the tar reader that says each kind of warning once per label (`seen` may be shared by several archives). */
export function onceWarner(warnings: string[], label: string, seen = new Set<string>()): (key: string, msg: string) => void {
  return (key, msg) => {
    if (seen.has(`${label}\0${key}`)) return;
    seen.add(`${label}\0${key}`);
    warnings.push(`${label}: ${msg}`);
  };
}

/** Reads a tar archive (plain or compressed) produced by `openStream`; may be called again by the ContentSource. */
export async function loadTar(openStream: () => AsyncIterable<Uint8Array>, opts: TarSourceOptions): Promise<LoadedTree> {
  const label = opts.label;
  const warnings: string[] = [];
  const reader = new ByteReader(maybeDecompress(openStream(), label));
  const builder = new TreeBuilder();
  const budget = opts.sizeLimit === undefined ? null : new DataBudget(builder, opts.sizeLimit, label);
  // Placing an entry: a hostile name is an error, or (lenient) a warning and a skip.
  const hostile = <T>(place: () => T): T | undefined => {
    try {
      return place();
    } catch (err) {
      if (!opts.lenient || !(err instanceof CorruptInputError)) throw err;
      warnings.push(`skipped: ${err.message}`);
      return undefined;
    }
  };
  await readEntries(reader, { label, warn: onceWarner(warnings, label) }, 'archive', (e) => {
    const node = e.type === '1' ? hostile(() => hardLinkTarget(builder, e)) : newNode(e, budget);
    if (node) hostile(() => builder.set(splitArchivePath(e.path, e.where), node, e.where));
  });
  return { tree: builder.tree, content: new TarContent(openStream, label, opts.spill, opts.spillAbove ?? MEMORY_SPILL_LIMIT), warnings };
}

/**
 * Gives every entry of the tar on `reader` to `each`, then reads the stream to its end so
 * a corrupt or truncated compressed stream is noticed. The reader is closed either way;
 * errors of the stream become "cannot read WHAT" CorruptInputErrors.
 */
export async function readEntries(reader: ByteReader, opts: TarEntryOptions, what: string, each: (e: TarEntry) => void): Promise<void> {
  try {
    for await (const e of tarEntries(reader, opts)) each(e);
    while ((await reader.skip(1 << 30)) > 0);
  } catch (e) {
    await reader.close().catch(() => {});
    throw asSourceError(e, opts.label, what);
  }
  await reader.close();
}

/** The node of an entry that is not a hard link; a file's data counts against the budget. */
function newNode(e: TarEntry, budget: DataBudget | null): FsNode {
  const handle = dataHandle(e);
  const node = entryNode(e, handle ? { order: e.index, handle } : null, e.where);
  if (e.type === '0') budget?.add(e.dataLength);
  return node;
}

/** The node a hard link entry names: one the archive placed before it, and no directory. */
function hardLinkTarget(builder: TreeBuilder, e: TarEntry): FsNode {
  const t = builder.get(splitArchivePath(e.linkname, e.where));
  if (!t) throw new CorruptInputError(e.where, `hard link to ${JSON.stringify(displayName(e.linkname))}, which is not in the archive before it`);
  if (t.kind === 'dir') throw new CorruptInputError(e.where, `hard link to ${JSON.stringify(displayName(e.linkname))}, which is a directory`);
  return t;
}

/**
 * Refuses an archive, before its data is decompressed, once the files it has declared
 * cannot fit the output (`--size`): a gzip bomb's headers say what is coming. Entries
 * replaced by later ones do not count, so when the running sum passes the limit the tree
 * is measured exactly before giving up.
 */
class DataBudget {
  private sum = 0;
  constructor(private readonly builder: TreeBuilder, private readonly limit: number, private readonly label: string) {}

  add(bytes: number): void {
    this.sum += bytes;
    if (this.sum <= this.limit) return;
    this.sum = treeDataBytes(this.builder.tree.root) + bytes;
    if (this.sum > this.limit) {
      throw new DoesNotFitError(`${this.label}: the file data its headers declare`, this.sum, this.limit);
    }
  }
}

/** Stored data bytes of the files in a tree (hard links once). */
function treeDataBytes(root: DirNode): number {
  let n = 0;
  forEachNode(root, (node) => {
    if (node.kind === 'file') n += dataLength(node);
  });
  return n;
}

/** Errors from the byte stream (I/O, decompression) become one-line CorruptInputErrors ("cannot read WHAT"); our own pass through. */
export function asSourceError(e: unknown, where: string, what = 'archive'): unknown {
  if (e instanceof CakeError || e instanceof TypeError || e instanceof ReferenceError) return e;
  const err = e as Error & { code?: string };
  const msg = err instanceof Error ? `${err.code ? `${err.code} ` : ''}${err.message}` : String(e);
  return new CorruptInputError(where, `cannot read ${what}: ${msg}`);
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
