// The tree as FAT sees it: one walk (parents first, children in byte order of their names)
// that checks every entry against what FAT can hold, names it (long name, 8.3 alias, NTRes
// case bits) and lists the directories and files to allocate. What FAT cannot hold is an
// error naming the entry, or under `lenient` skipped with a warning: symlinks, devices,
// fifos and sockets, files of 4 GiB or more, names FAT cannot store, and names that differ
// only in case from another in the same directory; extended attributes are dropped (the
// file stays) under `lenient`. Owners and
// permission bits other than the owner's write bit have no place in FAT and are ignored;
// the root directory's own metadata too (FAT has no entry for it).
import { displayName } from '../../tree/names.js';
import type { DirNode, FileNode, FsNode, FsTree } from '../../tree/node.js';
import { sortedEntries } from '../../tree/walk.js';
import { UnsupportedError } from '../../util/errors.js';
import { ATTR_ARCHIVE, ATTR_DIRECTORY, ATTR_READ_ONLY, type FatEntry, type FatStamp, entrySlots, fatStamp } from './dirent.js';
import { checkLongName, foldName } from './long-name.js';
import { ShortNameTable, basisName, exactShortName, shortNameBytes } from './short-name.js';

/** FAT's largest file: the size is a u32. */
export const MAX_FILE_SIZE = 2 ** 32 - 1;
/** A directory holds at most 65,536 entries of 32 bytes (fatgen103; Linux and Windows stop there). */
export const MAX_DIR_SLOTS = 65536;
/** Warnings listed one by one; past this, a count. */
const MAX_WARNINGS = 20;

export interface CatalogDir {
  node: DirNode;
  /** Display path ('/' for the root). */
  path: string;
  /** Index of the parent in `dirs` (-1 for the root). */
  parent: number;
  /** The directory's own time (for `.` and `..`). */
  stamp: FatStamp;
  /** Its entries in order: for each, the directory or file it points to. */
  entries: { entry: FatEntry; dir?: number; file?: number }[];
  /** 32-byte slots, `.` and `..` (subdirectories) and the label (root) included. */
  slots: number;
}

export interface CatalogFile {
  node: FileNode;
  path: string;
  /** Index in `files` of the first name of a hard-linked node (each name is its own copy). */
  copyOf: number;
}

export interface Catalog {
  /** Pre-order, root first. */
  dirs: CatalogDir[];
  /** In the order the walk met them. */
  files: CatalogFile[];
  warnings: string[];
}

export interface CatalogOptions {
  lenient: boolean;
  /** Times after this (SOURCE_DATE_EPOCH) are written as this. */
  epoch?: number;
  /** The root holds a volume label entry. */
  label: boolean;
}

function kindProblem(node: FsNode): string | null {
  switch (node.kind) {
    case 'dir': case 'file': break;
    case 'symlink': return 'is a symbolic link, which FAT cannot hold';
    case 'chardev': case 'blockdev': return 'is a device node, which FAT cannot hold';
    case 'fifo': return 'is a fifo, which FAT cannot hold';
    case 'socket': return 'is a socket, which FAT cannot hold';
  }
  if (node.kind === 'file' && node.size > MAX_FILE_SIZE) return `is ${node.size} bytes; a FAT file holds at most ${MAX_FILE_SIZE} (4 GiB − 1)`;
  return null;
}

/** Names a dir's children: exact 8.3 names and names that fit once upper-cased first, then aliases in sorted order. */
function shortNames(longNames: string[]): { short: string; ntRes: number; long: string | null }[] {
  const table = new ShortNameTable();
  const out: ({ short: string; ntRes: number; long: string | null } | null)[] = longNames.map((n) => {
    const exact = exactShortName(n);
    if (exact) {
      table.reserve(exact.name);
      return { short: exact.name, ntRes: exact.ntRes, long: null };
    }
    return null;
  });
  const bases = longNames.map((n, i) => (out[i] ? null : basisName(n)));
  bases.forEach((b, i) => {
    if (b?.fits) out[i] = { short: table.alias(b), ntRes: 0, long: longNames[i]! };
  });
  bases.forEach((b, i) => {
    if (b && !out[i]) out[i] = { short: table.alias(b), ntRes: 0, long: longNames[i]! };
  });
  return out as { short: string; ntRes: number; long: string }[];
}

type Refuse = (path: string, why: string, drop?: boolean) => void;
interface Kept {
  name: string;
  node: FsNode;
  path: string;
}

/** The children of a directory FAT can hold, with their long names, in byte order of their tree names. */
function keptChildren(node: DirNode, prefix: string, refuse: Refuse): Kept[] {
  const kept: Kept[] = [];
  const folded = new Map<string, string>();
  for (const [byteName, child] of sortedEntries(node)) {
    const path = prefix + displayName(byteName);
    const check = checkLongName(byteName);
    const problem = check.ok ? kindProblem(child) : check.why;
    if (problem || !check.ok) {
      refuse(path, problem!);
      continue;
    }
    const key = foldName(check.name);
    const other = folded.get(key);
    if (other !== undefined) {
      refuse(path, `differs only in case from ${JSON.stringify(other)} in the same directory, and FAT names ignore case`);
      continue;
    }
    folded.set(key, check.name);
    if (child.xattrs.length) {
      const names = child.xattrs.map((x) => x.name).join(', ');
      refuse(path, `has extended attributes (${names}), which FAT cannot hold (--no-xattrs does not read them from a directory)`, true);
    }
    kept.push({ name: check.name, node: child, path });
  }
  return kept;
}

export function buildCatalog(tree: FsTree, o: CatalogOptions): Catalog {
  const warnings: string[] = [];
  const stampOf = (n: FsNode): FatStamp => fatStamp(o.epoch !== undefined ? Math.min(n.mtime.sec, o.epoch) : n.mtime.sec);
  const dirs: CatalogDir[] = [];
  const files: CatalogFile[] = [];
  const firstCopy = new Map<FileNode, number>();
  let unsaid = 0;
  /** An error naming the entry; under lenient a warning, and the entry skipped (or its attributes dropped). */
  const refuse: Refuse = (path, why, drop = false) => {
    if (!o.lenient) throw new UnsupportedError(path, `${why} (--lenient ${drop ? 'drops them' : 'skips it'} with a warning)`);
    if (warnings.length < MAX_WARNINGS) warnings.push(`${path}: ${why}; ${drop ? 'dropped' : 'skipped'}`);
    else unsaid++;
  };

  type Pending = { node: DirNode; path: string; parent: number; ref: { dir?: number } | null };
  const stack: Pending[] = [{ node: tree.root, path: '/', parent: -1, ref: null }];
  const seenDirs = new Set<DirNode>();
  while (stack.length) {
    const { node, path, parent, ref } = stack.pop()!;
    if (seenDirs.has(node)) throw new UnsupportedError(path, 'a directory may have only one name (directory hard link)');
    seenDirs.add(node);
    const index = dirs.length;
    if (ref) ref.dir = index;
    const dir: CatalogDir = { node, path, parent, stamp: stampOf(node), entries: [], slots: parent < 0 ? (o.label ? 1 : 0) : 2 };
    dirs.push(dir);
    const kept = keptChildren(node, path === '/' ? '/' : `${path}/`, refuse);
    const named = shortNames(kept.map((k) => k.name));
    const subdirs: Pending[] = [];
    kept.forEach((k, i) => {
      const { short, ntRes, long } = named[i]!;
      const isDir = k.node.kind === 'dir';
      const entry: FatEntry = {
        longName: long, shortName: shortNameBytes(short), ntRes,
        attr: isDir ? ATTR_DIRECTORY : ATTR_ARCHIVE | ((k.node.perm & 0o200) === 0 ? ATTR_READ_ONLY : 0),
        cluster: 0, size: isDir ? 0 : (k.node as FileNode).size, stamp: stampOf(k.node),
      };
      dir.slots += entrySlots(entry);
      if (isDir) {
        const ref: { entry: FatEntry; dir?: number } = { entry };
        dir.entries.push(ref);
        subdirs.push({ node: k.node as DirNode, path: k.path, parent: index, ref });
      } else {
        const f = k.node as FileNode;
        const copyOf = firstCopy.get(f) ?? files.length;
        if (copyOf === files.length) firstCopy.set(f, copyOf);
        dir.entries.push({ entry, file: files.length });
        files.push({ node: f, path: k.path, copyOf });
      }
    });
    if (dir.slots > MAX_DIR_SLOTS) {
      throw new UnsupportedError(path, `needs ${dir.slots} directory entries (long names take several); a FAT directory holds ${MAX_DIR_SLOTS}`);
    }
    // Pre-order: a subdirectory's index is set on its parent's entry when the walk reaches it.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
  if (unsaid) warnings.push(`... and ${unsaid} more entries FAT cannot hold`);
  return { dirs, files, warnings };
}
