// Puts a tree on the host as the invoking user, for a script to run in, and writes the
// metadata table of what the host cannot hold. Only ever creates entries under a fresh
// directory, parents first, with O_EXCL|O_NOFOLLOW for files: the tree's own paths never
// pass through a symlink (a symlink node has no children), so nothing lands outside.
//
// On the host: directories are u+rwx and files u+rw (the script runs as this user, so
// a 0000 file would be unreadable even to its "root"); setuid/setgid/sticky bits are
// dropped (a setuid-root binary must not become a setuid-user one); device nodes, fifos
// and sockets are empty regular files. The table keeps the truth for all of these.
import * as fs from 'node:fs';
import { readLogical } from '../tree/logical-read.js';
import type { LoadedTree } from '../sources/directory.js';
import { type FileNode, type FsNode, type FsTree, type Timestamp, dataLength } from '../tree/node.js';
import { walkTree } from '../tree/walk.js';
import { CakeError } from '../util/errors.js';
import { ROOTFS_NAME, TABLE_NAME, encodeEntry, headerLine, hostIdentity } from '../sources/meta-table.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/** `root` + '/' + a byte-string relative path, as a Buffer (names need not be UTF-8). */
export function hostPath(root: string, rel: string): Buffer {
  const base = Buffer.from(root, 'utf8');
  return rel === '' ? base : Buffer.concat([base, Buffer.from('/'), Buffer.from(rel, 'latin1')]);
}

/** The permission bits an entry gets on the host (see the header). */
export function hostPerm(node: FsNode): number {
  if (node.kind === 'dir') return (node.perm & 0o777) | 0o700;
  if (node.kind === 'file') return (node.perm & 0o777) | 0o600;
  return 0o600; // placeholders for devices, fifos, sockets
}

const toSeconds = (t: Timestamp): number => t.sec + t.nsec / 1e9;

function fail(path: Buffer, what: string, e: unknown): never {
  throw new CakeError('EWRITE', 'write', `${path.toString('latin1')}: cannot ${what}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
}

async function writeFile(loaded: LoadedTree, node: FileNode, dest: Buffer): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (e) {
    fail(dest, 'create file', e);
  }
  try {
    await readLogical(node, loaded.content, { data: (chunk, offset) => void fs.writeSync(fd, chunk, 0, chunk.length, offset) });
    fs.ftruncateSync(fd, node.size); // the holes after the last run
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creates `dir/rootfs` (which must not exist) from the tree and writes `dir/cake-meta.jsonl`.
 * File contents are read in the content source's order.
 */
export async function materialise(loaded: LoadedTree, dir: string, progress?: (files: number, bytes: number) => void): Promise<void> {
  const rootfs = `${dir}/${ROOTFS_NAME}`;
  try {
    fs.mkdirSync(rootfs, { mode: 0o700 });
  } catch (e) {
    fail(Buffer.from(rootfs), 'create directory', e);
  }
  const made = createEntries(loaded.tree, rootfs);
  await writeFiles(loaded, made.files, progress);
  for (const [from, to] of made.links) {
    try {
      fs.linkSync(from, to);
    } catch (e) {
      fail(to, 'create hard link', e);
    }
  }
  setModesAndTimes(made.order);
  writeTable(loaded.tree, dir);
}

/** A node and the host path of its first name. */
type Placed<N extends FsNode = FsNode> = { node: N; dest: Buffer };

/**
 * Every entry's first name, created in walk order (parents first): directories,
 * symlinks, empty placeholders. Returns the files to write, the later names of hard
 * links, and everything created, in order.
 */
function createEntries(tree: FsTree, rootfs: string): { files: Placed<FileNode>[]; links: [Buffer, Buffer][]; order: Placed[] } {
  const files: Placed<FileNode>[] = [];
  const firstPath = new Map<FsNode, Buffer>();
  const links: [Buffer, Buffer][] = [];
  const order: Placed[] = [];
  for (const e of walkTree(tree.root)) {
    const rel = e.path.join('/');
    const dest = hostPath(rootfs, rel);
    const n = e.node;
    const prior = firstPath.get(n);
    if (prior) {
      links.push([prior, dest]);
      continue;
    }
    if (n.kind !== 'dir') firstPath.set(n, dest);
    order.push({ node: n, dest });
    try {
      if (n.kind === 'dir') {
        if (rel !== '') fs.mkdirSync(dest, { mode: 0o700 });
      } else if (n.kind === 'symlink') {
        fs.symlinkSync(Buffer.from(n.target, 'latin1'), dest);
      } else if (n.kind === 'file') {
        files.push({ node: n, dest });
      } else {
        fs.closeSync(fs.openSync(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600));
      }
    } catch (e) {
      fail(dest, `create ${n.kind}`, e);
    }
  }
  return { files, links, order };
}

/** The files' contents, in the content source's order. */
async function writeFiles(loaded: LoadedTree, files: Placed<FileNode>[], progress?: (files: number, bytes: number) => void): Promise<void> {
  files.sort((a, b) => (a.node.content?.order ?? -1) - (b.node.content?.order ?? -1));
  loaded.content.plan?.(files.flatMap((f) => (f.node.content && dataLength(f.node) > 0 ? [f.node.content] : [])));
  let done = 0;
  let bytes = 0;
  for (const f of files) {
    await writeFile(loaded, f.node, f.dest);
    bytes += f.node.size;
    if (++done % 256 === 0) progress?.(done, bytes);
  }
  progress?.(done, bytes);
}

/**
 * Modes and times last, children before parents, so creating an entry does not bump its
 * directory's mtime after it was set.
 */
function setModesAndTimes(order: Placed[]): void {
  for (let i = order.length - 1; i >= 0; i--) {
    const { node, dest } = order[i]!;
    try {
      if (node.kind !== 'symlink') fs.chmodSync(dest, hostPerm(node));
      fs.lutimesSync(dest, toSeconds(node.atime), toSeconds(node.mtime));
    } catch (e) {
      // Out-of-range times cannot be set on every host filesystem; the table keeps them.
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') fail(dest, 'set mode and times', e);
    }
  }
}

/** Writes `dir/cake-meta.jsonl` for `tree` as it now stands on the host in `dir/rootfs`. */
export function writeTable(tree: FsTree, dir: string): void {
  const rootfs = `${dir}/${ROOTFS_NAME}`;
  const tmp = `${dir}/.${TABLE_NAME}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    const lines: string[] = [headerLine()];
    let pending = 0;
    const flush = (): void => {
      fs.writeSync(fd, `${lines.join('\n')}\n`);
      lines.length = 0;
      pending = 0;
    };
    for (const e of walkTree(tree.root)) {
      const rel = e.path.join('/');
      const dest = hostPath(rootfs, rel);
      let st: fs.BigIntStats;
      try {
        st = fs.lstatSync(dest, { bigint: true });
      } catch (err) {
        fail(dest, 'stat', err);
      }
      lines.push(encodeEntry(rel, e.node, hostIdentity(st)));
      if (++pending >= 4096) flush();
    }
    flush();
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, `${dir}/${TABLE_NAME}`);
}
