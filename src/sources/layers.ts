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
import type { DirNode, FileNode, FsNode, Timestamp, Xattr } from '../tree/node.js';
import { CakeError, CorruptInputError, UnsupportedError } from '../util/errors.js';
import { ByteReader, maybeDecompress } from './decompress.js';
import type { LoadedTree } from './directory.js';
import { TarContent } from './tar.js';
import {
  BLOCK, HeaderError, type PaxRecords, type RawHeader, collectXattrs, cString, decodeHeader, headerSum, isZeroBlock,
  paxInteger, paxString, paxTime, parsePax, typeName,
} from './tar-headers.js';

/** One layer: a name for messages and a way to (re)open its bytes (compressed or not). */
export interface LayerInput {
  label: string;
  open: () => AsyncIterable<Uint8Array>;
}

export interface ApplyLayersOptions {
  /** Hostile or broken entries are skipped with a warning instead of failing the load. */
  lenient?: boolean;
}

const MAX_META = 16 << 20;
const PER_FILE_KEYS = new Set(['path', 'linkpath', 'size']);
const OPAQUE = '.wh..wh..opq';
const WH = '.wh.';
const pad = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;

/**
 * `open` with the stored bytes checked against a digest (`sha256:…` or `sha512:…`) each
 * time a read reaches the end of the stream; a mismatch is an error naming `label`.
 */
export function verifiedOpener(open: () => AsyncIterable<Uint8Array>, digest: string, label: string): () => AsyncIterable<Uint8Array> {
  const [alg, hex] = digest.split(':') as [string, string];
  return () =>
    (async function* () {
      const h = createHash(alg);
      for await (const chunk of open()) {
        h.update(chunk);
        yield chunk;
      }
      const actual = h.digest('hex');
      if (actual !== hex) throw new CorruptInputError(label, `layer does not match its digest ${digest} (${alg}:${actual})`);
    })();
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
  type: string;
  linkname: string;
  perm: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  atime: Timestamp;
  ctime: Timestamp;
  xattrs: Xattr[];
  size: number;
  major: number;
  minor: number;
  handle: LayerHandle | null;
}

function guard<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof HeaderError ? new CorruptInputError(where, e.message) : e;
  }
}

function asSourceError(e: unknown, where: string): unknown {
  if (e instanceof CakeError || e instanceof TypeError || e instanceof ReferenceError) return e;
  const err = e as Error & { code?: string };
  const msg = err instanceof Error ? `${err.code ? `${err.code} ` : ''}${err.message}` : String(e);
  return new CorruptInputError(where, `cannot read layer: ${msg}`);
}

/** Pass 1 over one layer: every entry's header, data skipped. */
async function readLayerEntries(layer: LayerInput, warn: (key: string, msg: string) => void): Promise<LayerEntry[]> {
  const label = layer.label;
  const reader = new ByteReader(maybeDecompress(layer.open(), label));
  const block = new Uint8Array(BLOCK);
  const globalPax = new Map<string, Uint8Array>();
  let localPax: PaxRecords | null = null;
  let longName: string | null = null;
  let longLink: string | null = null;
  const entries: LayerEntry[] = [];
  const readMeta = async (size: number, where: string): Promise<Uint8Array> => {
    if (size > MAX_META) throw new CorruptInputError(where, `extended header of ${size} bytes is too large`);
    const data = new Uint8Array(size);
    if ((await reader.read(data)) < size || (await reader.skip(pad(size))) < pad(size)) throw new CorruptInputError(where, 'layer is truncated');
    return data;
  };
  try {
    for (;;) {
      const headerOffset = reader.offset;
      const got = await reader.read(block);
      if (got === 0 || (got === BLOCK && isZeroBlock(block))) break;
      if (got < BLOCK) throw new CorruptInputError(`${label}: header at byte ${headerOffset}`, 'layer is truncated');
      let h: RawHeader;
      try {
        h = decodeHeader(block);
      } catch (e) {
        if (e instanceof HeaderError) throw new CorruptInputError(`${label}: header at byte ${headerOffset}`, e.message);
        throw e;
      }
      const metaWhere = `${label}: extended header at byte ${headerOffset}`;
      if (h.type === 'x') {
        const data = await readMeta(h.size, metaWhere);
        const r = guard(metaWhere, () => parsePax(data));
        localPax = localPax ? localPax.concat(r) : r;
        continue;
      }
      if (h.type === 'g') {
        const data = await readMeta(h.size, metaWhere);
        for (const [k, v] of guard(metaWhere, () => parsePax(data))) {
          if (v.length === 0) globalPax.delete(k);
          else globalPax.set(k, v);
        }
        continue;
      }
      if (h.type === 'L' || h.type === 'K') {
        const data = await readMeta(h.size, metaWhere);
        const s = cString(data, 0, data.length);
        if (h.type === 'L') longName = s;
        else longLink = s;
        continue;
      }
      const pax = new Map<string, Uint8Array>();
      for (const [k, v] of globalPax) if (!PER_FILE_KEYS.has(k)) pax.set(k, v);
      for (const [k, v] of localPax ?? []) {
        if (v.length === 0) pax.delete(k);
        else pax.set(k, v);
      }
      localPax = null;
      const path = pax.has('path') ? paxString(pax.get('path')!) : longName ?? h.name;
      const linkname = pax.has('linkpath') ? paxString(pax.get('linkpath')!) : longLink ?? h.linkname;
      longName = longLink = null;
      const where = `${label}: ${displayName(path)}`;
      const num = (key: string, fallback: number): number => (pax.has(key) ? guard(where, () => paxInteger(pax.get(key)!, key)) : fallback);
      const time = (key: string, fallback: Timestamp): Timestamp => (pax.has(key) ? guard(where, () => paxTime(pax.get(key)!, key)) : fallback);
      const size = num('size', h.size);
      const mtime = time('mtime', { sec: h.mtime, nsec: 0 });
      let type = h.type;
      if ((type === '0' || type === '\0') && path.endsWith('/')) type = '5';
      if (type === 'S' || [...pax.keys()].some((k) => k.startsWith('GNU.sparse.'))) {
        throw new UnsupportedError(where, 'sparse files in image layers are not supported yet');
      }
      if (type === '7') type = '0';
      if (type === 'D') type = '5';
      if (!['0', '\0', '1', '2', '3', '4', '5', '6'].includes(type)) throw new CorruptInputError(where, `unknown entry type ${typeName(type)}`);
      const dataStart = reader.offset;
      const isFile = type === '0' || type === '\0';
      entries.push({
        index: entries.length,
        path,
        type: isFile ? '0' : type,
        linkname,
        perm: h.mode & 0o7777,
        uid: num('uid', h.uid),
        gid: num('gid', h.gid),
        mtime,
        atime: time('atime', mtime),
        ctime: time('ctime', mtime),
        xattrs: pax.size ? collectXattrs(pax, warn) : [],
        size: isFile ? size : 0,
        major: num('SCHILY.devmajor', h.devmajor),
        minor: num('SCHILY.devminor', h.devminor),
        handle: isFile && size > 0 ? { path, headerOffset, headerSum: headerSum(block), start: dataStart, length: size } : null,
      });
      const rest = size + pad(size);
      if ((await reader.skip(rest)) < rest) throw new CorruptInputError(where, 'layer is truncated');
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
