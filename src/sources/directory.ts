// Directory source: an lstat walk of a SourceFs into an FsTree. Owners, modes, ns times,
// xattrs, hard links (one node per inodeKey), devices, fifos, sockets, holes (data runs).
import type { ChunkSink, ContentSource } from '../io/content-source.js';
import { joinPath, type SourceFs, type SourceStat } from '../io/source-fs.js';
import { compareByteStrings, displayName } from '../tree/names.js';
import { type ContentRef, type DataRun, type DirNode, type FileNode, type FsNode, type FsTree, type Timestamp, type Xattr, kindFromMode, sortXattrs } from '../tree/node.js';
import { CorruptInputError } from '../util/errors.js';

export interface DirectorySourceOptions {
  /** Shown in errors as the source's name. */
  label?: string;
  /**
   * Directory sources carry only mtime by default: atime changes by merely reading the
   * source and ctime by copying it, so keeping them would make images irreproducible.
   */
  keepAtimeCtime?: boolean;
  /** Called with every entry's stat as the walk makes it (root: path ''), for callers that need more than the tree keeps. */
  onEntry?: (path: string, stat: SourceStat) => void;
}

export interface LoadedTree {
  tree: FsTree;
  content: ContentSource;
  warnings: string[];
}

const CHUNK = 1 << 20;
/** Shared by every node without xattrs (most of them); never mutated. */
const NO_XATTRS: Xattr[] = [];

/**
 * Where each file's bytes are, as a table rather than an object per file (a tree of a
 * million files would carry a million handles): a ref's order is its row, and its handle
 * the file's size. The path is the directory's path (one string per directory) and the
 * name the tree already holds.
 */
class FileTable {
  private readonly dirPaths: string[] = [];
  private dirOf = new Uint32Array(1024);
  private readonly names: string[] = [];
  /** Data runs of the few files with holes. */
  private readonly runs = new Map<number, DataRun[]>();

  get count(): number {
    return this.names.length;
  }

  addDir(path: string): number {
    return this.dirPaths.push(path) - 1;
  }

  add(dir: number, name: string, runs: DataRun[] | undefined): number {
    const row = this.names.length;
    if (row === this.dirOf.length) {
      const more = new Uint32Array(Math.max(1024, row * 2));
      more.set(this.dirOf);
      this.dirOf = more;
    }
    this.dirOf[row] = dir;
    this.names.push(name);
    this.setRuns(row, runs);
    return row;
  }

  setRuns(row: number, runs: DataRun[] | undefined): void {
    if (runs) this.runs.set(row, runs);
    else this.runs.delete(row);
  }

  path(row: number): string {
    return joinPath(this.dirPaths[this.dirOf[row]!]!, this.names[row]!);
  }

  /** Lets go of the room kept for growth, once the walk is over. */
  trim(): void {
    this.dirOf = this.dirOf.slice(0, this.count);
  }

  spans(row: number, size: number): DataRun[] {
    return this.runs.get(row) ?? [{ offset: 0, length: size }];
  }
}

class DirectoryContent implements ContentSource {
  /** Made at the first read: a device that copies files itself never reads through here. */
  private buf: Uint8Array | null = null;
  private ahead: { done(index: number): void; stop(): void } | null = null;
  private position = new Map<ContentRef, number>();
  constructor(private readonly fs: SourceFs, private readonly label: string, private readonly files: FileTable) {}

  /** The host file behind a ref, when the SourceFs is the host's (for direct copies). */
  hostPath(ref: ContentRef): Uint8Array | null {
    return this.fs.hostPathOf ? this.fs.hostPathOf(this.files.path(ref.order)) : null;
  }

  plan(refs: readonly ContentRef[]): void {
    if (!this.fs.readAhead) return;
    this.ahead?.stop();
    this.position = new Map(refs.map((r, i) => [r, i]));
    this.ahead = this.fs.readAhead(refs.map((r) => ({ path: this.files.path(r.order), size: r.handle as number })));
  }

  async read(ref: ContentRef, sink: ChunkSink): Promise<void> {
    await this.readSpans(ref, sink);
    const i = this.position.get(ref);
    if (this.ahead && i !== undefined) this.ahead.done(i);
  }

  private async readSpans(ref: ContentRef, sink: ChunkSink): Promise<void> {
    const row = ref.order;
    const size = ref.handle as number;
    const path = this.files.path(row);
    const buf = (this.buf ??= new Uint8Array(CHUNK));
    for (const run of this.files.spans(row, size)) {
      let done = 0;
      while (done < run.length) {
        const want = Math.min(CHUNK, run.length - done);
        const n = await this.fs.read(path, buf, 0, want, run.offset + done);
        if (n <= 0) {
          throw new CorruptInputError(`${this.label}/${displayName(path)}`, `file shrank while reading (expected ${size} bytes)`);
        }
        await sink(buf.subarray(0, n));
        done += n;
      }
    }
  }

  async close(): Promise<void> {
    this.ahead?.stop();
    this.ahead = null;
    (this.fs as { closeFile?: () => void }).closeFile?.();
  }
}

/** Reads the tree of `fs` (whose contents are read later, through the returned ContentSource). */
export async function loadDirectory(fs: SourceFs, opts: DirectorySourceOptions = {}): Promise<LoadedTree> {
  const label = opts.label ?? 'directory';
  const walk = new DirectoryWalk(fs, label, opts);
  fs.warm?.();
  let root: DirNode;
  try {
    root = await walk.walk();
  } finally {
    fs.walked?.();
  }
  await walk.findHoles();
  walk.files.trim();
  const warnings = (fs as { warnings?: string[] }).warnings ?? [];
  return { tree: { root }, content: new DirectoryContent(fs, label, walk.files), warnings };
}

type FileMeta = { perm: number; xattrs: Xattr[]; mtime: Timestamp; atime: Timestamp; ctime: Timestamp };
type HoleCheck = { path: string; stat: SourceStat; node: FileNode; row: number };

/**
 * One lstat walk of a SourceFs: a node per inode, file contents numbered in walk order.
 * SourceFs answers may be promises or plain values; awaiting a plain value still costs a
 * microtask per call and keeps per-entry garbage alive across scavenges, so only real
 * promises are awaited.
 */
class DirectoryWalk {
  private readonly byInode = new Map<string, FsNode>();
  readonly files = new FileTable();
  /** The last time made: files written together share their times, and then one object. */
  private lastTime: Timestamp = { sec: 0, nsec: 0 };
  /** Hole detection is asked for all files at once when the backend can batch it. */
  private readonly holeChecks: HoleCheck[] = [];

  constructor(private readonly fs: SourceFs, private readonly label: string, private readonly opts: DirectorySourceOptions) {}

  /** The root and everything under it: an iterative DFS in sorted order, so content order (and everything after) is deterministic. */
  async walk(): Promise<DirNode> {
    const rootStat = await this.fs.lstat('');
    this.opts.onEntry?.('', rootStat);
    const root = await this.makeNode('', rootStat, 0, '');
    if (root.kind !== 'dir') throw new CorruptInputError(this.label, 'is not a directory');
    const stack: [string, DirNode][] = [['', root]];
    while (stack.length) {
      const [dirPath, dir] = stack.pop()!;
      const subdirs = await this.readDir(dirPath, dir);
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
    }
    return root;
  }

  /** Fills `dir` with its entries; returns its subdirectories, in name order. */
  private async readDir(dirPath: string, dir: DirNode): Promise<[string, DirNode][]> {
    const { fs } = this;
    let listed = fs.readdir(dirPath);
    if (listed instanceof Promise) listed = await listed;
    const subdirs: [string, DirNode][] = [];
    const dirRow = this.files.addDir(dirPath);
    for (const name of listed.sort(compareByteStrings)) {
      const path = joinPath(dirPath, name);
      let st = fs.lstat(path);
      if (st instanceof Promise) st = await st;
      this.opts.onEntry?.(path, st);
      let node: FsNode | undefined;
      const isDir = (st.mode & 0o170000) === 0o040000;
      if (!isDir && st.nlink > 1) node = this.byInode.get(st.inodeKey);
      if (!node) {
        node = await this.makeNode(path, st, dirRow, name);
        if (!isDir && st.nlink > 1) this.byInode.set(st.inodeKey, node);
      }
      dir.entries.set(name, node);
      if (node.kind === 'dir') subdirs.push([path, node]);
    }
    return subdirs;
  }

  /** `dirRow` and `name`: the file table's row of the directory holding it, and its name there. */
  private async makeNode(path: string, st: SourceStat, dirRow: number, name: string): Promise<FsNode> {
    const { fs, opts } = this;
    const kind = kindFromMode(st.mode);
    if (!kind) {
      // The name is made only for the error: a string per node was garbage on every walk.
      const where = path === '' ? this.label : `${this.label}/${displayName(path)}`;
      throw new CorruptInputError(where, `unknown file type (mode 0o${st.mode.toString(8)})`);
    }
    const mtime = this.time(st.mtime);
    const atime = opts.keepAtimeCtime ? this.time(st.atime) : mtime;
    const ctime = opts.keepAtimeCtime ? this.time(st.ctime) : mtime;
    const perm = st.mode & 0o7777;
    let found = fs.xattrs ? fs.xattrs(path) : NO_XATTRS;
    if (found instanceof Promise) found = await found;
    const xattrs = found.length ? sortXattrs([...found]) : NO_XATTRS;
    const { uid, gid } = st;
    // Object literals per kind (no spreads): a tree walk makes one per file.
    switch (kind) {
      case 'dir':
        return { kind, perm, uid, gid, mtime, atime, ctime, xattrs, entries: new Map() };
      case 'file':
        return this.makeFile(path, st, { perm, xattrs, mtime, atime, ctime }, dirRow, name);
      case 'symlink': {
        let target = fs.readlink(path);
        if (target instanceof Promise) target = await target;
        return { kind, perm, uid, gid, mtime, atime, ctime, xattrs, target };
      }
      case 'chardev':
      case 'blockdev':
        return { kind, perm, uid, gid, mtime, atime, ctime, xattrs, major: st.rdevMajor, minor: st.rdevMinor };
      default:
        return { kind, perm, uid, gid, mtime, atime, ctime, xattrs };
    }
  }

  /** A file node, with its data runs (asked now, or kept for the batch question) and its place in the content order. */
  private async makeFile(path: string, st: SourceStat, m: FileMeta, dirRow: number, name: string): Promise<FileNode> {
    const { fs } = this;
    const batch = !!fs.dataRunsMany;
    let runs = !batch && fs.dataRuns ? fs.dataRuns(path, st) : undefined;
    if (runs instanceof Promise) runs = await runs;
    // The row is the content order: rows are added in walk order. A file with data is its
    // own content ref (the node carries `order` and `handle`, and `content` points back at
    // it): one object per file instead of two, 24 bytes less a file in a tree of a million
    // (bench/RESULTS.md, memory).
    const node: FileNode & ContentRef = {
      kind: 'file', perm: m.perm, uid: st.uid, gid: st.gid, mtime: m.mtime, atime: m.atime, ctime: m.ctime, xattrs: m.xattrs, size: st.size,
      content: null, order: st.size > 0 ? this.files.add(dirRow, name, runs) : -1, handle: st.size,
    };
    if (st.size > 0) node.content = node;
    // Only a file with holes carries the field: a slot per file otherwise.
    if (runs) node.dataRuns = runs;
    // Only candidates are kept (with their stat) until the batch question at the end.
    if (node.content && batch && (fs.mayHaveHoles?.(st) ?? true)) this.holeChecks.push({ path, stat: st, node, row: node.order });
    return node;
  }

  /** `t`, or the last time made when equal (files unpacked together share their times). */
  private time(t: Timestamp): Timestamp {
    const last = this.lastTime;
    if (t.sec === last.sec && t.nsec === last.nsec) return last;
    return (this.lastTime = t);
  }

  /** The batch question: data runs of every file that may have holes. */
  async findHoles(): Promise<void> {
    if (!this.holeChecks.length || !this.fs.dataRunsMany) return;
    const found = await this.fs.dataRunsMany(this.holeChecks);
    this.holeChecks.forEach((h, i) => {
      if (found[i]) h.node.dataRuns = found[i];
      this.files.setRuns(h.row, found[i]);
    });
  }
}
