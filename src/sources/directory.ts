// Directory source: an lstat walk of a SourceFs into an FsTree. Owners, modes, ns times,
// xattrs, hard links (one node per inodeKey), devices, fifos, sockets.
import type { ChunkSink, ContentSource } from '../io/content-source.js';
import { joinPath, type SourceFs, type SourceStat } from '../io/source-fs.js';
import { compareByteStrings, displayName } from '../tree/names.js';
import { type ContentRef, type DataRun, type DirNode, type FileNode, type FsNode, type FsTree, type Xattr, kindFromMode, sortXattrs } from '../tree/node.js';
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

export async function loadDirectory(fs: SourceFs, opts: DirectorySourceOptions = {}): Promise<LoadedTree> {
  const label = opts.label ?? 'directory';
  const byInode = new Map<string, FsNode>();
  let order = 0;

  // SourceFs answers may be promises or plain values; awaiting a plain value still costs a
  // microtask per call and keeps per-entry garbage alive across scavenges, so only real
  // promises are awaited.
  const makeNode = async (path: string, st: SourceStat): Promise<FsNode> => {
    const kind = kindFromMode(st.mode);
    const where = path === '' ? label : `${label}/${displayName(path)}`;
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
      case 'file': {
        const batch = !!fs.dataRunsMany;
        let runs = !batch && fs.dataRuns ? fs.dataRuns(path, st) : undefined;
        if (runs instanceof Promise) runs = await runs;
        const handle: Handle = { path, runs, size: st.size };
        const content = st.size > 0 ? { order: order++, handle } : null;
        const node: FileNode = { kind, perm, uid, gid, mtime, atime, ctime, xattrs, size: st.size, dataRuns: runs, content };
        // Only candidates are kept (with their stat) until the batch question at the end.
        if (batch && st.size > 0 && (fs.mayHaveHoles?.(st) ?? true)) holeChecks.push({ path, stat: st, node, handle });
        return node;
      }
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
  };

  // Hole detection is asked for all files at once when the backend can batch it.
  const holeChecks: { path: string; stat: SourceStat; node: FileNode; handle: Handle }[] = [];
  fs.warm?.();
  const rootStat = await fs.lstat('');
  opts.onEntry?.('', rootStat);
  const root = await makeNode('', rootStat);
  if (root.kind !== 'dir') throw new CorruptInputError(label, 'is not a directory');

  // Iterative DFS in sorted order, so content order (and everything after) is deterministic.
  const stack: [string, DirNode][] = [['', root]];
  while (stack.length) {
    const [dirPath, dir] = stack.pop()!;
    let listed = fs.readdir(dirPath);
    if (listed instanceof Promise) listed = await listed;
    const names = listed.sort(compareByteStrings);
    const subdirs: [string, DirNode][] = [];
    for (const name of names) {
      const path = joinPath(dirPath, name);
      let st = fs.lstat(path);
      if (st instanceof Promise) st = await st;
      opts.onEntry?.(path, st);
      let node: FsNode | undefined;
      const isDir = (st.mode & 0o170000) === 0o040000;
      if (!isDir && st.nlink > 1) node = byInode.get(st.inodeKey);
      if (!node) {
        node = await makeNode(path, st);
        if (!isDir && st.nlink > 1) byInode.set(st.inodeKey, node);
      }
      dir.entries.set(name, node);
      if (node.kind === 'dir') subdirs.push([path, node]);
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }

  if (holeChecks.length && fs.dataRunsMany) {
    const found = await fs.dataRunsMany(holeChecks);
    holeChecks.forEach((h, i) => {
      h.node.dataRuns = found[i];
      h.handle.runs = found[i];
    });
  }
  const warnings = (fs as { warnings?: string[] }).warnings ?? [];
  return { tree: { root }, content: new DirectoryContent(fs, label), warnings };
}
