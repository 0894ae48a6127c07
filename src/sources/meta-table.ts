// The metadata table of a cooked directory (`cake-meta.jsonl` beside `rootfs/`): what a
// rootless user cannot put on the host — owners, setuid bits, device nodes, xattrs, exact
// times — one JSON line per path, plus the host identity each entry had when the table was
// written, so a later scan can tell which entries something else changed since.
//
// Line 1: {"format":"cake-img cooked tree","version":1}
// Then, in pre-order: {"p":PATH,"k":KIND,"m":PERM,"u":UID,"g":GID,"t":[msec,mnsec,asec,ansec,csec,cnsec],
//   "x":[[NAME,BASE64]...]?, "d":[MAJOR,MINOR]?, "i":"INO:SIZE:MTIME_NS:HOSTPERM:BTIME_NS"}
// PATH is the byte-string path relative to rootfs ("" for the root); KIND one of
// f d l c b p s. Device nodes, fifos and sockets are empty regular files on the host.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { FsNode, NodeMeta } from '../tree/node.js';
import { CorruptInputError } from '../util/errors.js';
import { shown } from '../util/untrusted.js';

export const TABLE_NAME = 'cake-meta.jsonl';
export const ROOTFS_NAME = 'rootfs';

/** True when `dir` looks like a cooked directory (here, beside the names: the CLI's first lines ask it). */
export function isCookedDir(dir: string): boolean {
  try {
    return fs.statSync(nodePath.join(dir, TABLE_NAME)).isFile() && fs.statSync(nodePath.join(dir, ROOTFS_NAME)).isDirectory();
  } catch {
    return false;
  }
}
const HEADER = { format: 'cake-img cooked tree', version: 1 };

export type KindCode = 'f' | 'd' | 'l' | 'c' | 'b' | 'p' | 's';
export const KIND_CODE: Record<FsNode['kind'], KindCode> = { file: 'f', dir: 'd', symlink: 'l', chardev: 'c', blockdev: 'b', fifo: 'p', socket: 's' };

export interface TableEntry extends NodeMeta {
  kind: KindCode;
  major?: number;
  minor?: number;
  /** The host entry when the table was written. */
  identity: HostIdentity;
}

export interface HostIdentity {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  /** Permission bits on the host (what a chmod inside the script would change). */
  perm: number;
  /** Birth time (0 where the filesystem has none): tells a file deleted and re-created under the same inode number from the original. */
  btimeNs: bigint;
}

export function hostIdentity(st: fs.BigIntStats): HostIdentity {
  return { ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, perm: Number(st.mode & 0o7777n), btimeNs: st.birthtimeNs > 0n ? st.birthtimeNs : 0n };
}

function encodeIdentity(i: HostIdentity): string {
  return `${i.ino}:${i.size}:${i.mtimeNs}:${i.perm}:${i.btimeNs}`;
}

function decodeIdentity(s: unknown, where: string): HostIdentity {
  const m = typeof s === 'string' ? /^(\d+):(\d+):(-?\d+):(\d+):(\d+)$/.exec(s) : null;
  if (!m) throw new CorruptInputError(where, `bad host identity ${JSON.stringify(s)}`);
  return { ino: BigInt(m[1]!), size: BigInt(m[2]!), mtimeNs: BigInt(m[3]!), perm: Number(m[4]), btimeNs: BigInt(m[5]!) };
}

/** Whether a host entry is still the one the table saw (the same inode, not a new one that got its number). */
export function sameInode(recorded: HostIdentity, now: { ino: bigint; btimeNs: bigint }): boolean {
  if (recorded.ino !== now.ino) return false;
  return recorded.btimeNs === 0n || now.btimeNs === 0n || recorded.btimeNs === now.btimeNs;
}

/** One table line for `node` at `path`. */
export function encodeEntry(path: string, node: FsNode, identity: HostIdentity): string {
  const o: Record<string, unknown> = {
    p: path,
    k: KIND_CODE[node.kind],
    m: node.perm,
    u: node.uid,
    g: node.gid,
    t: [node.mtime.sec, node.mtime.nsec, node.atime.sec, node.atime.nsec, node.ctime.sec, node.ctime.nsec],
  };
  if (node.xattrs.length) o.x = node.xattrs.map((x) => [x.name, Buffer.from(x.value).toString('base64')]);
  if (node.kind === 'chardev' || node.kind === 'blockdev') o.d = [node.major, node.minor];
  o.i = encodeIdentity(identity);
  return JSON.stringify(o);
}

export function headerLine(): string {
  return JSON.stringify(HEADER);
}

const KINDS = new Set(['f', 'd', 'l', 'c', 'b', 'p', 's']);

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Reads a table into path → entry. Errors name the file and line. */
export function readTable(file: string): Map<string, TableEntry> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CorruptInputError(file, `cannot read the metadata table: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const lines = text.split('\n');
  let header: unknown;
  try {
    header = JSON.parse(lines[0] ?? '');
  } catch {
    header = null;
  }
  const h = header as { format?: unknown; version?: unknown } | null;
  if (h?.format !== HEADER.format) throw new CorruptInputError(file, 'not a cake-img metadata table');
  if (h.version !== HEADER.version) throw new CorruptInputError(file, `table version ${shown(h.version)} is not supported (this cake-img reads version ${HEADER.version})`);
  const out = new Map<string, TableEntry>();
  for (let n = 1; n < lines.length; n++) {
    if (lines[n] === '') continue;
    const [path, e] = decodeLine(lines[n]!, `${file}:${n + 1}`);
    out.set(path, e);
  }
  return out;
}

/** One table line: its path and entry. */
function decodeLine(line: string, where: string): [string, TableEntry] {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new CorruptInputError(where, 'not JSON');
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new CorruptInputError(where, 'entry is not a JSON object');
  const t = o.t as unknown[];
  if (typeof o.p !== 'string' || !KINDS.has(o.k as string) || !isInt(o.m) || !isInt(o.u) || !isInt(o.g) || !Array.isArray(t) || t.length !== 6 || !t.every(isInt)) {
    throw new CorruptInputError(where, 'entry lacks a path, kind, mode, owner or times');
  }
  if (Array.isArray(o.x) && !o.x.every((x) => Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string')) {
    throw new CorruptInputError(where, 'xattrs are not [name, base64] pairs');
  }
  if (Array.isArray(o.d) && !(o.d.length === 2 && o.d.every(isInt))) throw new CorruptInputError(where, 'device numbers are not [major, minor]');
  const times = t as number[];
  const e: TableEntry = {
    kind: o.k as KindCode,
    perm: o.m & 0o7777,
    uid: o.u,
    gid: o.g,
    mtime: { sec: times[0]!, nsec: times[1]! },
    atime: { sec: times[2]!, nsec: times[3]! },
    ctime: { sec: times[4]!, nsec: times[5]! },
    xattrs: Array.isArray(o.x) ? (o.x as [string, string][]).map(([name, v]) => ({ name, value: new Uint8Array(Buffer.from(v, 'base64')) })) : [],
    identity: decodeIdentity(o.i, where),
  };
  if (Array.isArray(o.d)) {
    e.major = Number(o.d[0]);
    e.minor = Number(o.d[1]);
  }
  return [o.p, e];
}
