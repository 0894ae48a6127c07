// The canonical hash of a tree: what `cook --sha256` pins, like a Nix fixed-output hash.
// It covers everything an image shows of the tree except times (which a rebuild changes
// and SOURCE_DATE_EPOCH clamps anyway).
//
// Serialisation (version 1), hashed with SHA-256. Entries in pre-order, a directory's
// children sorted by the bytes of their names; the root is the path "/", others
// "/a/b" (name bytes as they are, never re-encoded). Each entry is
//
//   PATH NUL TYPE SP PERM SP UID SP GID SP DETAIL NUL NXATTRS { NUL NAME NUL LEN NUL VALUE } LF
//
// TYPE: f file, d dir, l symlink, c char device, b block device, p fifo, s socket,
//       h a further name of a file already listed (a hard link)
// PERM: permission bits (mode & 07777) in octal, 4 digits; UID/GID: decimal
// DETAIL: f → SIZE SP SHA256-HEX of the file's bytes (holes read as zeros);
//         l → target bytes; c/b → MAJOR SP MINOR; h → PATH of the first name; d/p/s → empty
// NXATTRS, LEN: decimal; xattrs sorted by name; VALUE raw bytes.
// A hard link's later names carry TYPE h and the same PERM/UID/GID and xattrs.
// The hash is written "sha256:" + 64 lowercase hex digits.
import type { ContentSource } from './content.js';
import { readLogical } from './logical-read.js';
import { byteStringToBytes } from './names.js';
import { type FileNode, type FsNode, type FsTree, dataLength } from './node.js';
import { walkTree } from './walk.js';

/** Just enough of a streaming hash (node:crypto's Hash, or any SHA-256 with this shape). */
export interface StreamingHash {
  update(data: Uint8Array): unknown;
  digest(encoding: 'hex'): string;
}

export type HashFactory = () => StreamingHash;

const TYPE: Record<FsNode['kind'], string> = { file: 'f', dir: 'd', symlink: 'l', chardev: 'c', blockdev: 'b', fifo: 'p', socket: 's' };
const ascii = new TextEncoder();
const ZEROS = new Uint8Array(1 << 16);

/** SHA-256 of a file's logical bytes: its data runs, with the holes between them as zeros. */
async function fileDigest(node: FileNode, content: ContentSource, newHash: HashFactory): Promise<string> {
  const h = newHash();
  await readLogical(node, content, {
    data: (chunk) => void h.update(chunk),
    hole: (_, n) => {
      for (; n > 0; n -= Math.min(n, ZEROS.length)) h.update(ZEROS.subarray(0, Math.min(n, ZEROS.length)));
    },
  });
  return h.digest('hex');
}

/**
 * The canonical hash of `tree` (see the header for the format). Reads every file once, in
 * the content source's order; holds only one digest per file.
 */
export async function hashTree(tree: FsTree, content: ContentSource, newHash: HashFactory): Promise<string> {
  const files: FileNode[] = [];
  const seen = new Set<FsNode>();
  for (const e of walkTree(tree.root)) {
    if (e.node.kind === 'file' && !seen.has(e.node)) {
      seen.add(e.node);
      files.push(e.node);
    }
  }
  files.sort((a, b) => (a.content?.order ?? -1) - (b.content?.order ?? -1));
  content.plan?.(files.flatMap((f) => (f.content && dataLength(f) > 0 ? [f.content] : [])));
  const digests = new Map<FileNode, string>();
  for (const f of files) digests.set(f, await fileDigest(f, content, newHash));

  const h = newHash();
  const first = new Map<FsNode, Uint8Array>();
  const NUL = new Uint8Array([0]);
  for (const e of walkTree(tree.root)) {
    const n = e.node;
    const path = byteStringToBytes(`/${e.path.join('/')}`);
    const prior = first.get(n);
    if (n.kind !== 'dir' && !prior) first.set(n, path);
    let type = TYPE[n.kind];
    let detail: Uint8Array;
    if (prior) {
      type = 'h';
      detail = prior;
    } else if (n.kind === 'file') {
      detail = ascii.encode(`${n.size} ${digests.get(n)}`);
    } else if (n.kind === 'symlink') {
      detail = byteStringToBytes(n.target);
    } else if (n.kind === 'chardev' || n.kind === 'blockdev') {
      detail = ascii.encode(`${n.major} ${n.minor}`);
    } else {
      detail = new Uint8Array(0);
    }
    h.update(path);
    h.update(ascii.encode(`\0${type} ${n.perm.toString(8).padStart(4, '0')} ${n.uid} ${n.gid} `));
    h.update(detail);
    h.update(ascii.encode(`\0${n.xattrs.length}`));
    for (const x of n.xattrs) {
      h.update(NUL);
      h.update(byteStringToBytes(x.name));
      h.update(ascii.encode(`\0${x.value.length}\0`));
      h.update(x.value);
    }
    h.update(ascii.encode('\n'));
  }
  return `sha256:${h.digest('hex')}`;
}
