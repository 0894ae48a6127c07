// Container image layers applied in order over one tree: each layer is a tar stream
// (plain, gzip or zstd), read in two passes like the tar source (headers first, file
// contents later, in the layer's own order). Whiteouts (`.wh.NAME`, `.wh..wh..opq`)
// delete from earlier layers and never reach the output. Every path is resolved inside
// the in-memory tree: `..`, absolute names, and paths through a symlink planted by an
// earlier entry are errors (or skipped with a warning when lenient); nothing is ever
// resolved on the host.
import { createHash } from 'node:crypto';
import { MultiContent } from '../io/content-source.js';
import { TreeBuilder, splitArchivePath } from '../tree/builder.js';
import { displayName } from '../tree/names.js';
import type { DataRun, DirNode, FileNode, FsNode, Timestamp, Xattr } from '../tree/node.js';
import { CakeError, CorruptInputError } from '../util/errors.js';
import { ByteReader, maybeDecompress } from './decompress.js';
import type { LoadedTree } from './directory.js';
import { TarContent } from './tar.js';
import { type EntryType, tarEntries } from './tar-entries.js';

/** One layer: a name for messages and a way to (re)open its bytes (compressed or not). */
export interface LayerInput {
  label: string;
  open: () => AsyncIterable<Uint8Array>;
  /**
   * `sha256:…` of the layer's uncompressed tar, from the image config's `rootfs.diff_ids`:
   * the bytes the image's own identity covers, checked while the layer is first read.
   */
  diffId?: string;
}

export interface ApplyLayersOptions {
  /** Hostile or broken entries are skipped with a warning instead of failing the load. */
  lenient?: boolean;
}

const OPAQUE = '.wh..wh..opq';
const WH = '.wh.';
const DIGEST = /^(sha256|sha512):([a-f0-9]+)$/;

/** Checks a digest's shape (algorithm and length), so it can name nothing but content. */
export function checkDigest(digest: unknown, where: string, what: string): string {
  const m = typeof digest === 'string' ? DIGEST.exec(digest) : null;
  if (!m || m[2]!.length !== (m[1] === 'sha256' ? 64 : 128)) throw new CorruptInputError(where, `${what} ${JSON.stringify(digest)} is not a sha256 or sha512 digest`);
  return digest as string;
}

/** Hashes `input` as it passes; at its end, a digest other than `digest` is an error naming `label`. */
async function* digestChecked(input: AsyncIterable<Uint8Array>, digest: string, label: string, what: string): AsyncGenerator<Uint8Array> {
  const [alg, hex] = digest.split(':') as [string, string];
  const h = createHash(alg);
  for await (const chunk of input) {
    h.update(chunk);
    yield chunk;
  }
  const actual = h.digest('hex');
  if (actual !== hex) throw new CorruptInputError(label, `${what} ${digest} (it is ${alg}:${actual})`);
}

/**
 * `open` with the stored bytes checked against a digest (`sha256:…` or `sha512:…`) each
 * time a read reaches the end of the stream; a mismatch is an error naming `label`.
 */
export function verifiedOpener(open: () => AsyncIterable<Uint8Array>, digest: string, label: string): () => AsyncIterable<Uint8Array> {
  return () => digestChecked(open(), digest, label, 'layer does not match its digest');
}

interface LayerHandle {
  path: string;
  headerOffset: number;
  headerSum: number;
  start: number;
  length: number;
}

/** One member of a layer tar, with its metadata decoded but its path not yet trusted. */
interface LayerEntry {
  index: number;
  path: string;
  type: EntryType;
  linkname: string;
  perm: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  atime: Timestamp;
  ctime: Timestamp;
  xattrs: Xattr[];
  size: number;
  runs?: DataRun[];
  major: number;
  minor: number;
  handle: LayerHandle | null;
}

function asSourceError(e: unknown, where: string): unknown {
  if (e instanceof CakeError || e instanceof TypeError || e instanceof ReferenceError) return e;
  const err = e as Error & { code?: string };
  const msg = err instanceof Error ? `${err.code ? `${err.code} ` : ''}${err.message}` : String(e);
  return new CorruptInputError(where, `cannot read layer: ${msg}`);
}

/** Pass 1 over one layer: every entry's header, data skipped; the uncompressed bytes checked against the diff_id. */
async function readLayerEntries(layer: LayerInput, warn: (key: string, msg: string) => void): Promise<LayerEntry[]> {
  const label = layer.label;
  const decoded = maybeDecompress(layer.open(), label);
  const reader = new ByteReader(layer.diffId ? digestChecked(decoded, layer.diffId, label, 'the uncompressed layer does not match its diff_id') : decoded);
  const entries: LayerEntry[] = [];
  try {
    for await (const e of tarEntries(reader, { label, warn })) {
      const isFile = e.type === '0';
      entries.push({
        index: entries.length, path: e.path, type: e.type, linkname: e.linkname, perm: e.perm, uid: e.uid, gid: e.gid,
        mtime: e.mtime, atime: e.atime, ctime: e.ctime, xattrs: e.xattrs, size: e.size, runs: e.runs, major: e.major, minor: e.minor,
        handle: isFile && e.dataLength > 0 ? { path: e.path, headerOffset: e.headerOffset, headerSum: e.headerSum, start: e.dataStart, length: e.dataLength } : null,
      });
    }
    while ((await reader.skip(1 << 30)) > 0);
  } catch (e) {
    await reader.close().catch(() => {});
    throw asSourceError(e, label);
  }
  await reader.close();
  return entries;
}

/** Pass 2: one layer's file contents, asked for in ascending entry order. */

const show = (parts: string[]): string => JSON.stringify(displayName(parts.join('/')));

/**
 * Walks `parts` from the root through real directories only. Returns the directory, or
 * null when a component is missing. A symlink on the way is an error (following it could
 * leave the root), and so is any other non-directory.
 */
function walkDirs(root: DirNode, parts: string[], where: string): DirNode | null {
  let dir = root;
  for (let i = 0; i < parts.length; i++) {
    const next = dir.entries.get(parts[i]!);
    if (next === undefined) return null;
    if (next.kind === 'symlink') {
      throw new CorruptInputError(where, `path goes through the symlink ${show(parts.slice(0, i + 1))} (-> ${JSON.stringify(displayName(next.target))}); refusing to follow it`);
    }
    if (next.kind !== 'dir') throw new CorruptInputError(where, `parent ${show(parts.slice(0, i + 1))} is not a directory`);
    dir = next;
  }
  return dir;
}

/** Applies the layers in order; the result's content reads each layer's files in the layer's order. */
export async function applyLayers(layers: LayerInput[], opts: ApplyLayersOptions = {}): Promise<LoadedTree> {
  const warnings: string[] = [];
  const warnOnce = new Set<string>();
  const builder = new TreeBuilder();
  const root = builder.tree.root;
  const content = new MultiContent();

  for (const layer of layers) {
    const warn = (key: string, msg: string): void => {
      if (warnOnce.has(`${layer.label}\0${key}`)) return;
      warnOnce.add(`${layer.label}\0${key}`);
      warnings.push(`${layer.label}: ${msg}`);
    };
    const entries = await readLayerEntries(layer, warn);
    const wrap = content.register(new TarContent(layer.open, layer.label));

    // Each entry gets its checked path once; failures are errors or (lenient) warnings.
    const tryEntry = (e: LayerEntry, f: (where: string) => void): void => {
      const where = `${layer.label}: ${displayName(e.path)}`;
      try {
        f(where);
      } catch (err) {
        if (opts.lenient && err instanceof CorruptInputError) {
          warnings.push(`${err.message} (entry skipped)`);
          return;
        }
        throw err;
      }
    };

    const opaque: [LayerEntry, string[]][] = [];
    const whiteouts: [LayerEntry, string[], string][] = [];
    const regular: [LayerEntry, string[]][] = [];
    for (const e of entries) {
      tryEntry(e, (where) => {
        const parts = splitArchivePath(e.path, where);
        const name = parts[parts.length - 1];
        if (parts.slice(0, -1).some((p) => p.startsWith(WH))) {
          warn('aufs', `entries under ".wh."-named directories (aufs metadata) are ignored`);
          return;
        }
        if (name === OPAQUE) opaque.push([e, parts.slice(0, -1)]);
        else if (name !== undefined && name.startsWith(`${WH}${WH}`)) warn('aufs', `aufs metadata entries (".wh..wh.*") are ignored`);
        else if (name !== undefined && name.startsWith(WH)) {
          const target = name.slice(WH.length);
          if (target === '' || target === '.' || target === '..') throw new CorruptInputError(where, 'whiteout names no entry');
          whiteouts.push([e, parts.slice(0, -1), target]);
        } else regular.push([e, parts]);
      });
    }

    // Whiteouts hide what earlier layers put there, so they go first; this layer's own entries stay.
    for (const [e, dirParts] of opaque) {
      tryEntry(e, (where) => {
        const dir = walkDirs(root, dirParts, where);
        if (dir) dir.entries = new Map();
      });
    }
    for (const [e, dirParts, target] of whiteouts) {
      tryEntry(e, (where) => {
        const dir = walkDirs(root, dirParts, where);
        dir?.entries.delete(target);
      });
    }

    for (const [e, parts] of regular) {
      tryEntry(e, (where) => {
        const fail: (msg: string) => never = (msg) => {
          throw new CorruptInputError(where, msg);
        };
        walkDirs(root, parts.slice(0, -1), where); // missing parents are created; symlinks and files are errors
        const meta = { perm: e.perm, uid: e.uid, gid: e.gid, mtime: e.mtime, atime: e.atime, ctime: e.ctime, xattrs: e.xattrs };
        let node: FsNode;
        switch (e.type) {
          case '0': {
            const file: FileNode = { kind: 'file', ...meta, size: e.size, content: e.handle ? wrap({ order: e.index, handle: e.handle }) : null };
            if (e.runs) file.dataRuns = e.runs;
            node = file;
            break;
          }
          case '1': {
            const linkParts = splitArchivePath(e.linkname, `${where} (hard link target)`);
            if (linkParts.length === 0) fail('hard link to the root directory');
            const dir = walkDirs(root, linkParts.slice(0, -1), `${where} (hard link target)`);
            const target = dir?.entries.get(linkParts[linkParts.length - 1]!);
            if (!target) fail(`hard link to ${JSON.stringify(displayName(e.linkname))}, which is not in this or an earlier layer`);
            if (target.kind === 'dir') fail(`hard link to ${JSON.stringify(displayName(e.linkname))}, which is a directory`);
            node = target;
            break;
          }
          case '2':
            if (e.linkname.includes('\0')) fail('symlink target contains a NUL byte');
            node = { kind: 'symlink', ...meta, target: e.linkname };
            break;
          case '3':
          case '4':
            node = { kind: e.type === '3' ? 'chardev' : 'blockdev', ...meta, major: e.major, minor: e.minor };
            break;
          case '5':
            node = { kind: 'dir', ...meta, entries: new Map() };
            break;
          default:
            node = { kind: 'fifo', ...meta };
        }
        builder.set(parts, node, where);
      });
    }
  }
  return { tree: builder.tree, content, warnings };
}
