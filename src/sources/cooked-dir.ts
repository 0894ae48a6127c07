// Reading a cooked directory (`rootfs/` + `cake-meta.jsonl`) back as a tree: the host
// gives the entries and their bytes, the table gives what the host could not hold. The
// same merge is the rescan after a bootstrap script, so its rules are the cook rules:
//
// - an entry whose host inode is the one the table recorded (number and birth time) keeps the table's owner,
//   xattrs and (for devices, fifos, sockets left as their placeholder) its kind;
//   its times too, unless its content changed (then the host's mtime counts);
// - its permission bits are the table's unless the host's differ from what was put
//   there (a chmod inside the script): then the host's bits count;
// - an entry with no table line, or a different inode or type (created or replaced by
//   the script, `--contents`, or anything else), is owned by root:root, with the
//   host's mode, mtime and xattrs: proot --root-id cannot record a chown, and files a
//   system's root creates belong to root;
// - entries the table lists but the host lacks were deleted, and stay deleted.
import * as nodePath from 'node:path';
import type { SourceFs, SourceStat } from '../io/source-fs.js';
import { type LoadedTree, loadDirectory } from './directory.js';
import type { DirNode, FsNode } from '../tree/node.js';
import { KIND_CODE, ROOTFS_NAME, TABLE_NAME, type TableEntry, readTable, sameInode } from './meta-table.js';

function isPlaceholder(e: TableEntry): boolean {
  return e.kind === 'c' || e.kind === 'b' || e.kind === 'p' || e.kind === 's';
}

/** Applies the table to a freshly scanned node (see the header); returns the node to use. */
function merge(node: FsNode, e: TableEntry | undefined, st: SourceStat): FsNode {
  const size = BigInt(st.size);
  const mtimeNs = BigInt(st.mtime.sec) * 1_000_000_000n + BigInt(st.mtime.nsec);
  const hostBits = node.perm;
  const same = e !== undefined && sameInode(e.identity, { ino: st.ino ?? -1n, btimeNs: st.btimeNs ?? 0n }) && (KIND_CODE[node.kind] === e.kind || (isPlaceholder(e) && node.kind === 'file' && size === 0n));
  if (!same) {
    node.uid = 0;
    node.gid = 0;
    return node;
  }
  const perm = hostBits === e.identity.perm ? e.perm : hostBits;
  const contentSame = node.kind === 'dir' || (e.identity.size === size && e.identity.mtimeNs === mtimeNs);
  const times = contentSame ? { mtime: e.mtime, atime: e.atime, ctime: e.ctime } : { mtime: node.mtime, atime: node.atime, ctime: node.ctime };
  const base = { perm, uid: e.uid, gid: e.gid, xattrs: e.xattrs, ...times };
  if (isPlaceholder(e) && node.kind === 'file') {
    if (e.kind === 'c' || e.kind === 'b') return { kind: e.kind === 'c' ? 'chardev' : 'blockdev', major: e.major ?? 0, minor: e.minor ?? 0, ...base };
    return { kind: e.kind === 'p' ? 'fifo' : 'socket', ...base };
  }
  return Object.assign(node, base);
}

/**
 * Loads a cooked directory as a tree: `open` gives the filesystem of its `rootfs/` (the
 * host's, host/cooked-dir.ts), whose entries are merged with the table.
 */
export async function loadCookedDir(dir: string, open: (rootfs: string) => SourceFs): Promise<LoadedTree> {
  const rootfs = nodePath.join(dir, ROOTFS_NAME);
  const table = readTable(nodePath.join(dir, TABLE_NAME));
  // The walk's own lstat of each entry is what the merge compares with the table.
  const stats = new Map<string, SourceStat>();
  const loaded = await loadDirectory(open(rootfs), { label: rootfs, onEntry: (p, st) => stats.set(p, st) });
  const merged = new Map<FsNode, FsNode>(); // hard links: one merge per inode
  const visit = (path: string, node: FsNode): FsNode => {
    const done = merged.get(node);
    if (done) return done;
    const out = merge(node, table.get(path), stats.get(path)!);
    merged.set(node, out);
    return out;
  };
  const root = visit('', loaded.tree.root) as DirNode;
  const stack: [string, DirNode][] = [['', root]];
  while (stack.length) {
    const [p, d] = stack.pop()!;
    for (const [name, child] of d.entries) {
      const cp = p === '' ? name : `${p}/${name}`;
      const out = visit(cp, child);
      if (out !== child) d.entries.set(name, out);
      if (out.kind === 'dir') stack.push([cp, out]);
    }
  }
  return { tree: { root }, content: loaded.content, warnings: loaded.warnings };
}
