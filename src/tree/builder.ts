// Builds an FsTree from (path, node) pairs in any order, as archive readers produce them.
import { CorruptInputError } from '../util/errors.js';
import { displayName } from './names.js';
import { type DirNode, type FsNode, type FsTree, type Timestamp, ZERO_TIME, newDir } from './node.js';

/**
 * Splits an archive path (byte string) into components. Leading "./" and repeated or
 * trailing slashes are fine; absolute paths, ".." and NUL are errors naming the entry.
 */
export function splitArchivePath(path: string, where: string): string[] {
  if (path.includes('\0')) throw new CorruptInputError(where, `name contains a NUL byte: ${JSON.stringify(displayName(path))}`);
  if (path.startsWith('/')) throw new CorruptInputError(where, `absolute name ${JSON.stringify(displayName(path))} is not allowed`);
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new CorruptInputError(where, `name ${JSON.stringify(displayName(path))} contains ".."`);
    parts.push(part);
  }
  return parts;
}

export class TreeBuilder {
  readonly tree: FsTree;
  private readonly implicitTime: Timestamp;

  constructor(implicitTime: Timestamp = ZERO_TIME) {
    this.implicitTime = implicitTime;
    this.tree = { root: newDir(0o755, 0, 0, implicitTime) };
  }

  /** The directory holding `parts`' last component, creating missing parents as 0755 root dirs. */
  private parentOf(parts: string[], where: string): DirNode {
    let dir = this.tree.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const name = parts[i]!;
      let next = dir.entries.get(name);
      if (next === undefined) {
        next = newDir(0o755, 0, 0, this.implicitTime);
        dir.entries.set(name, next);
      } else if (next.kind !== 'dir') {
        throw new CorruptInputError(where, `parent ${JSON.stringify(displayName(parts.slice(0, i + 1).join('/')))} is not a directory`);
      }
      dir = next;
    }
    return dir;
  }

  /** Places `node` at `parts`; an empty path sets the root's metadata. */
  set(parts: string[], node: FsNode, where: string): void {
    if (parts.length === 0) {
      if (node.kind !== 'dir') throw new CorruptInputError(where, 'the root entry is not a directory');
      this.mergeDir(this.tree.root, node);
      return;
    }
    const parent = this.parentOf(parts, where);
    const name = parts[parts.length - 1]!;
    const old = parent.entries.get(name);
    if (old && old.kind === 'dir' && node.kind === 'dir') {
      // A directory seen again (tar may list it after its children): update metadata, keep contents.
      this.mergeDir(old, node);
      return;
    }
    parent.entries.set(name, node);
  }

  get(parts: string[]): FsNode | undefined {
    let node: FsNode = this.tree.root;
    for (const part of parts) {
      if (node.kind !== 'dir') return undefined;
      const next: FsNode | undefined = node.entries.get(part);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  /** Removes the entry at `parts` (used by whiteouts); missing entries are fine. */
  delete(parts: string[]): void {
    if (parts.length === 0) return;
    const parent = this.get(parts.slice(0, -1));
    if (parent?.kind === 'dir') parent.entries.delete(parts[parts.length - 1]!);
  }

  private mergeDir(into: DirNode, from: DirNode): void {
    into.perm = from.perm;
    into.uid = from.uid;
    into.gid = from.gid;
    into.mtime = from.mtime;
    into.atime = from.atime;
    into.ctime = from.ctime;
    into.xattrs = from.xattrs;
    for (const [k, v] of from.entries) into.entries.set(k, v);
  }
}
