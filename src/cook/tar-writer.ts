// A cooked tree as a pax tar (what `cook -o rootfs.tar[.gz]` writes): owners, modes,
// device nodes, hard links, nanosecond mtimes and xattrs (SCHILY.xattr.*, values as raw
// bytes) all kept, so every later stage reads back exactly the tree that was cooked.
// Entries in pre-order, children sorted by name bytes, `./`-relative names; the same
// tree always gives the same bytes. Sparse files are written whole (holes as zeros);
// sockets are left out, as GNU tar does (they are only meaningful to a running process),
// and so are xattrs with an empty value, which pax cannot express (an empty value unsets a keyword).
import type { ChunkSink, ContentSource } from '../io/content-source.js';
import { readLogical } from '../tree/logical-read.js';
import { byteStringToBytes } from '../tree/names.js';
import type { FileNode, FsNode, FsTree } from '../tree/node.js';
import { walkTree } from '../tree/walk.js';

const BLOCK = 512;
const ZEROS = new Uint8Array(1 << 16);
const ascii = new TextEncoder();
const TYPE: Record<Exclude<FsNode['kind'], 'socket'>, string> = { file: '0', dir: '5', symlink: '2', chardev: '3', blockdev: '4', fifo: '6' };

function octal(buf: Uint8Array, off: number, width: number, value: number): boolean {
  const s = value.toString(8);
  if (value < 0 || s.length > width - 1) return false;
  buf.set(ascii.encode(s.padStart(width - 1, '0')), off);
  return true;
}

function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const keyBytes = byteStringToBytes(key);
  const rest = keyBytes.length + value.length + 3; // ' ' '=' '\n'
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const part of [ascii.encode(`${len} `), keyBytes, ascii.encode('='), value, ascii.encode('\n')]) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

function header(name: Uint8Array, type: string, mode: number, uid: number, gid: number, size: number, mtime: number, link: Uint8Array, major = 0, minor = 0): Uint8Array {
  const b = new Uint8Array(BLOCK);
  b.set(name.subarray(0, 100), 0);
  octal(b, 100, 8, mode);
  if (!octal(b, 108, 8, uid)) octal(b, 108, 8, 0);
  if (!octal(b, 116, 8, gid)) octal(b, 116, 8, 0);
  if (!octal(b, 124, 12, size)) octal(b, 124, 12, 0);
  if (!octal(b, 136, 12, mtime)) octal(b, 136, 12, 0);
  b.fill(0x20, 148, 156);
  b[156] = type.charCodeAt(0);
  b.set(link.subarray(0, 100), 157);
  b.set(ascii.encode('ustar\x0000'), 257);
  octal(b, 329, 8, major);
  octal(b, 337, 8, minor);
  let sum = 0;
  for (const x of b) sum += x;
  b.set(ascii.encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
  return b;
}

const fits = (v: number, width: number): boolean => v >= 0 && v.toString(8).length <= width - 1;

/** Streams `tree` as a tar into `sink`; file bytes come from `content` in its order. */
export async function writeTar(tree: FsTree, content: ContentSource, sink: ChunkSink): Promise<void> {
  // Tar order is tree order, not necessarily the source's: sources that cannot seek
  // back spill (the tar source does); directories and cooked trees just read.
  const first = new Map<FsNode, string>();
  for (const e of walkTree(tree.root)) {
    const n = e.node;
    if (n.kind === 'socket') continue;
    const path = e.path.length ? `./${e.path.join('/')}${n.kind === 'dir' ? '/' : ''}` : './';
    const prior = first.get(n);
    if (!prior && n.kind !== 'dir') first.set(n, `./${e.path.join('/')}`);
    const type = prior ? '1' : TYPE[n.kind];
    const size = !prior && n.kind === 'file' ? n.size : 0;
    const link = prior ?? (n.kind === 'symlink' ? n.target : '');
    const pax: Uint8Array[] = [];
    const nameBytes = byteStringToBytes(path);
    const linkBytes = byteStringToBytes(link);
    if (nameBytes.length > 100 || /[^\x20-\x7e]/.test(path)) pax.push(paxRecord('path', nameBytes));
    if (linkBytes.length > 100 || /[^\x20-\x7e]/.test(link)) pax.push(paxRecord('linkpath', linkBytes));
    if (!fits(size, 12)) pax.push(paxRecord('size', ascii.encode(String(size))));
    if (!fits(n.uid, 8)) pax.push(paxRecord('uid', ascii.encode(String(n.uid))));
    if (!fits(n.gid, 8)) pax.push(paxRecord('gid', ascii.encode(String(n.gid))));
    if (n.mtime.nsec !== 0 || !fits(n.mtime.sec, 12)) {
      const t = n.mtime.sec < 0 && n.mtime.nsec ? `-${-n.mtime.sec - 1}.${String(1e9 - n.mtime.nsec).padStart(9, '0')}` : `${n.mtime.sec}.${String(n.mtime.nsec).padStart(9, '0')}`;
      pax.push(paxRecord('mtime', ascii.encode(t)));
    }
    for (const x of n.xattrs) if (x.value.length) pax.push(paxRecord(`SCHILY.xattr.${x.name}`, x.value));
    if (pax.length) {
      const body = concat(pax);
      await sink(header(ascii.encode('./PaxHeaders/entry'), 'x', 0o644, 0, 0, body.length, 0, new Uint8Array(0)));
      await sink(padded(body));
    }
    const dev = n.kind === 'chardev' || n.kind === 'blockdev' ? n : null;
    await sink(header(nameBytes, type, n.perm, n.uid, n.gid, size, Math.max(0, n.mtime.sec), linkBytes, dev?.major ?? 0, dev?.minor ?? 0));
    if (!prior && n.kind === 'file' && n.size > 0) await writeFileData(n, content, sink);
  }
  await sink(new Uint8Array(BLOCK * 2));
}

async function writeFileData(n: FileNode, content: ContentSource, sink: ChunkSink): Promise<void> {
  const zeros = async (count: number): Promise<void> => {
    for (let left = count; left > 0; left -= Math.min(left, ZEROS.length)) await sink(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  };
  await readLogical(n, content, { data: (chunk) => sink(chunk), hole: (_, length) => zeros(length) });
  await zeros((BLOCK - (n.size % BLOCK)) % BLOCK);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function padded(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + ((BLOCK - (b.length % BLOCK)) % BLOCK));
  out.set(b);
  return out;
}
