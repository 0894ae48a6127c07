// Container image layers applied in order over one tree: each layer is a tar stream
// (plain, gzip or zstd), read in two passes like the tar source (headers first, file
// contents later, in the layer's own order). Whiteouts (`.wh.NAME`, `.wh..wh..opq`)
// delete from earlier layers and never reach the output. Every path is resolved inside
// the in-memory tree: `..`, absolute names, and paths through a symlink planted by an
// earlier entry are errors (or skipped with a warning when lenient); nothing is ever
// resolved on the host.
import { MultiContent } from '../io/content-source.js';
import { TreeBuilder, splitArchivePath } from '../tree/builder.js';
import { displayName } from '../tree/names.js';
import { type ContentRef, type DirNode, type FsNode, nodeMeta } from '../tree/node.js';
import { CorruptInputError } from '../util/errors.js';
import { type DigestAlg, digestOf } from '../util/sha256.js';
import { ByteReader, maybeDecompress } from './decompress.js';
import type { LoadedTree } from './directory.js';
import { TarContent, type TarHandle, dataHandle, entryNode, onceWarner, readEntries } from './tar.js';
import type { EntryFields } from './tar-entries.js';

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
  const [alg, hex] = digest.split(':') as [DigestAlg, string];
  const h = digestOf(alg);
  for await (const chunk of input) {
    h.update(chunk);
    yield chunk;
  }
  const actual = h.hex();
  if (actual !== hex) throw new CorruptInputError(label, `${what} ${digest} (it is ${alg}:${actual})`);
}

/**
 * `open` with the stored bytes checked against a digest (`sha256:…` or `sha512:…`) each
 * time a read reaches the end of the stream; a mismatch is an error naming `label`.
 */
export function verifiedOpener(open: () => AsyncIterable<Uint8Array>, digest: string, label: string): () => AsyncIterable<Uint8Array> {
  return () => digestChecked(open(), digest, label, 'layer does not match its digest');
}

/** One member of a layer tar, with its metadata decoded but its path not yet trusted. */
interface LayerEntry extends EntryFields {
  index: number;
  path: string;
  handle: TarHandle | null;
}

/** Pass 1 over one layer: every entry's header, data skipped; the uncompressed bytes checked against the diff_id. */
async function readLayerEntries(layer: LayerInput, warn: (key: string, msg: string) => void): Promise<LayerEntry[]> {
  const label = layer.label;
  const decoded = maybeDecompress(layer.open(), label);
  const reader = new ByteReader(layer.diffId ? digestChecked(decoded, layer.diffId, label, 'the uncompressed layer does not match its diff_id') : decoded);
  const entries: LayerEntry[] = [];
  await readEntries(reader, { label, warn }, 'layer', (e) => {
    entries.push({
      ...nodeMeta(e), index: entries.length, path: e.path, type: e.type, linkname: e.linkname, size: e.size, runs: e.runs,
      major: e.major, minor: e.minor, handle: dataHandle(e),
    });
  });
  return entries;
}

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

/** A layer being applied: where its entries go and how their failures are reported. */
interface LayerContext {
  builder: TreeBuilder;
  label: string;
  lenient: boolean;
  warnings: string[];
  warn: (key: string, msg: string) => void;
  /** Turns a ref into this layer's TarContent into one of the tree's MultiContent. */
  wrap: (ref: ContentRef) => ContentRef;
}

/** Applies the layers in order; the result's content reads each layer's files in the layer's order. */
export async function applyLayers(layers: LayerInput[], opts: ApplyLayersOptions = {}): Promise<LoadedTree> {
  const warnings: string[] = [];
  const warned = new Set<string>();
  const builder = new TreeBuilder();
  const content = new MultiContent();
  for (const layer of layers) {
    const warn = onceWarner(warnings, layer.label, warned);
    const entries = await readLayerEntries(layer, warn);
    // Pass 2, the file contents, reads the layer again (in its own order) when asked.
    const wrap = content.register(new TarContent(layer.open, layer.label));
    const cx: LayerContext = { builder, label: layer.label, lenient: !!opts.lenient, warnings, warn, wrap };
    const sorted = sortEntries(cx, entries);
    // Whiteouts hide what earlier layers put there, so they go first; this layer's own entries stay.
    for (const [e, dirParts] of sorted.opaque) {
      tryEntry(cx, e, (where) => {
        const dir = walkDirs(builder.tree.root, dirParts, where);
        if (dir) dir.entries = new Map();
      });
    }
    for (const [e, dirParts, target] of sorted.whiteouts) {
      tryEntry(cx, e, (where) => walkDirs(builder.tree.root, dirParts, where)?.entries.delete(target));
    }
    for (const [e, parts] of sorted.regular) tryEntry(cx, e, (where) => placeEntry(cx, e, parts, where));
  }
  return { tree: builder.tree, content, warnings };
}

/** Runs `f` with the entry's name for messages; a failure is an error, or (lenient) a warning and a skip. */
function tryEntry(cx: LayerContext, e: LayerEntry, f: (where: string) => void): void {
  const where = `${cx.label}: ${displayName(e.path)}`;
  try {
    f(where);
  } catch (err) {
    if (cx.lenient && err instanceof CorruptInputError) {
      cx.warnings.push(`${err.message} (entry skipped)`);
      return;
    }
    throw err;
  }
}

/** A layer's entries by what they do: opaque markers, whiteouts (with their target), entries to place; aufs metadata is dropped. */
function sortEntries(cx: LayerContext, entries: LayerEntry[]): {
  opaque: [LayerEntry, string[]][];
  whiteouts: [LayerEntry, string[], string][];
  regular: [LayerEntry, string[]][];
} {
  const opaque: [LayerEntry, string[]][] = [];
  const whiteouts: [LayerEntry, string[], string][] = [];
  const regular: [LayerEntry, string[]][] = [];
  for (const e of entries) {
    tryEntry(cx, e, (where) => {
      const parts = splitArchivePath(e.path, where);
      const name = parts[parts.length - 1];
      if (parts.slice(0, -1).some((p) => p.startsWith(WH))) {
        cx.warn('aufs', `entries under ".wh."-named directories (aufs metadata) are ignored`);
        return;
      }
      if (name === OPAQUE) opaque.push([e, parts.slice(0, -1)]);
      else if (name !== undefined && name.startsWith(`${WH}${WH}`)) cx.warn('aufs', `aufs metadata entries (".wh..wh.*") are ignored`);
      else if (name !== undefined && name.startsWith(WH)) {
        const target = name.slice(WH.length);
        if (target === '' || target === '.' || target === '..') throw new CorruptInputError(where, 'whiteout names no entry');
        whiteouts.push([e, parts.slice(0, -1), target]);
      } else regular.push([e, parts]);
    });
  }
  return { opaque, whiteouts, regular };
}

/** Places one entry at `parts`; missing parents are created, a symlink or file on the way is an error. */
function placeEntry(cx: LayerContext, e: LayerEntry, parts: string[], where: string): void {
  const root = cx.builder.tree.root;
  walkDirs(root, parts.slice(0, -1), where);
  const node = e.type === '1' ? hardLinkTarget(root, e, where) : entryNode(e, e.handle ? cx.wrap({ order: e.index, handle: e.handle }) : null, where);
  cx.builder.set(parts, node, where);
}

/** The node a hard link names: one this or an earlier layer placed, reached through real directories, and no directory. */
function hardLinkTarget(root: DirNode, e: LayerEntry, where: string): FsNode {
  const linkParts = splitArchivePath(e.linkname, `${where} (hard link target)`);
  if (linkParts.length === 0) throw new CorruptInputError(where, 'hard link to the root directory');
  const dir = walkDirs(root, linkParts.slice(0, -1), `${where} (hard link target)`);
  const target = dir?.entries.get(linkParts[linkParts.length - 1]!);
  if (!target) throw new CorruptInputError(where, `hard link to ${JSON.stringify(displayName(e.linkname))}, which is not in this or an earlier layer`);
  if (target.kind === 'dir') throw new CorruptInputError(where, `hard link to ${JSON.stringify(displayName(e.linkname))}, which is a directory`);
  return target;
}
