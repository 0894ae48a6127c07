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

type Handle = { path: string; runs: DataRun[] | undefined; size: number };

class DirectoryContent implements ContentSource {
  private buf = new Uint8Array(CHUNK);
  private ahead: { done(index: number): void; stop(): void } | null = null;
  private position = new Map<ContentRef, number>();
  constructor(private readonly fs: SourceFs, private readonly label: string) {}

  /** The host file behind a ref, when the SourceFs is the host's (for direct copies). */
  hostPath(ref: ContentRef): Uint8Array | null {
    return this.fs.hostPathOf ? this.fs.hostPathOf((ref.handle as Handle).path) : null;
  }

  plan(refs: readonly ContentRef[]): void {
    if (!this.fs.readAhead) return;
    this.ahead?.stop();
    this.position = new Map(refs.map((r, i) => [r, i]));
    this.ahead = this.fs.readAhead(refs.map((r) => r.handle as Handle));
  }

  async read(ref: ContentRef, sink: ChunkSink): Promise<void> {
    await this.readSpans(ref, sink);
    const i = this.position.get(ref);
    if (this.ahead && i !== undefined) this.ahead.done(i);
  }

  private async readSpans(ref: ContentRef, sink: ChunkSink): Promise<void> {
    const { path, runs, size } = ref.handle as Handle;
    const spans = runs ?? [{ offset: 0, length: size }];
    for (const run of spans) {
      let done = 0;
      while (done < run.length) {
        const want = Math.min(CHUNK, run.length - done);
        const n = await this.fs.read(path, this.buf, 0, want, run.offset + done);
        if (n <= 0) {
          throw new CorruptInputError(`${this.label}/${displayName(path)}`, `file shrank while reading (expected ${size} bytes)`);
        }
        await sink(this.buf.subarray(0, n));
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
  const root = await walk.walk();
  await walk.findHoles();
  const warnings = (fs as { warnings?: string[] }).warnings ?? [];
  return { tree: { root }, content: new DirectoryContent(fs, label), warnings };
}

type HoleCheck = { path: string; stat: SourceStat; node: FileNode; handle: Handle };

/**
 * One lstat walk of a SourceFs: a node per inode, file contents numbered in walk order.
 * SourceFs answers may be promises or plain values; awaiting a plain value still costs a
 * microtask per call and keeps per-entry garbage alive across scavenges, so only real
 * promises are awaited.
 */
class DirectoryWalk {
  private readonly byInode = new Map<string, FsNode>();
  private order = 0;
  /** Hole detection is asked for all files at once when the backend can batch it. */
  private readonly holeChecks: HoleCheck[] = [];

  constructor(private readonly fs: SourceFs, private readonly label: string, private readonly opts: DirectorySourceOptions) {}

  /** The root and everything under it: an iterative DFS in sorted order, so content order (and everything after) is deterministic. */
  async walk(): Promise<DirNode> {
    const rootStat = await this.fs.lstat('');
    this.opts.onEntry?.('', rootStat);
    const root = await this.makeNode('', rootStat);
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
    for (const name of listed.sort(compareByteStrings)) {
      const path = joinPath(dirPath, name);
      let st = fs.lstat(path);
      if (st instanceof Promise) st = await st;
      this.opts.onEntry?.(path, st);
      let node: FsNode | undefined;
      const isDir = (st.mode & 0o170000) === 0o040000;
      if (!isDir && st.nlink > 1) node = this.byInode.get(st.inodeKey);
      if (!node) {
        node = await this.makeNode(path, st);
        if (!isDir && st.nlink > 1) this.byInode.set(st.inodeKey, node);
      }
      dir.entries.set(name, node);
      if (node.kind === 'dir') subdirs.push([path, node]);
    }
    return subdirs;
  }

  private async makeNode(path: string, st: SourceStat): Promise<FsNode> {
    const { fs, opts } = this;
    const kind = kindFromMode(st.mode);
    const where = path === '' ? this.label : `${this.label}/${displayName(path)}`;
    if (!kind) throw new CorruptInputError(where, `unknown file type (mode 0o${st.mode.toString(8)})`);
    const atime = opts.keepAtimeCtime ? st.atime : st.mtime;
    const ctime = opts.keepAtimeCtime ? st.ctime : st.mtime;
    const perm = st.mode & 0o7777;
    let found = fs.xattrs ? fs.xattrs(path) : NO_XATTRS;
    if (found instanceof Promise) found = await found;
    const xattrs = found.length ? sortXattrs([...found]) : NO_XATTRS;
    const { uid, gid, mtime } = st;
    // Object literals per kind (no spreads): a tree walk makes one per file.
    switch (kind) {
      case 'dir':
        return { kind, perm, uid, gid, mtime, atime, ctime, xattrs, entries: new Map() };
      case 'file':
        return this.makeFile(path, st, perm, xattrs, atime, ctime);
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
  private async makeFile(path: string, st: SourceStat, perm: number, xattrs: Xattr[], atime: Timestamp, ctime: Timestamp): Promise<FileNode> {
    const { fs } = this;
    const batch = !!fs.dataRunsMany;
    let runs = !batch && fs.dataRuns ? fs.dataRuns(path, st) : undefined;
    if (runs instanceof Promise) runs = await runs;
    const handle: Handle = { path, runs, size: st.size };
    const content = st.size > 0 ? { order: this.order++, handle } : null;
    const node: FileNode = { kind: 'file', perm, uid: st.uid, gid: st.gid, mtime: st.mtime, atime, ctime, xattrs, size: st.size, dataRuns: runs, content };
    // Only candidates are kept (with their stat) until the batch question at the end.
    if (batch && st.size > 0 && (fs.mayHaveHoles?.(st) ?? true)) this.holeChecks.push({ path, stat: st, node, handle });
    return node;
  }

  /** The batch question: data runs of every file that may have holes. */
  async findHoles(): Promise<void> {
    if (!this.holeChecks.length || !this.fs.dataRunsMany) return;
    const found = await this.fs.dataRunsMany(this.holeChecks);
    this.holeChecks.forEach((h, i) => {
      h.node.dataRuns = found[i];
      h.handle.runs = found[i];
    });
  }
}
