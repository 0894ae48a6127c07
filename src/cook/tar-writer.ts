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
import { BLOCK, USTAR_HEADER, ustarField } from '../sources/tar-struct.js';

const ZEROS = new Uint8Array(1 << 16);
const ascii = new TextEncoder();
const TYPE: Record<Exclude<FsNode['kind'], 'socket'>, string> = { file: '0', dir: '5', symlink: '2', chardev: '3', blockdev: '4', fifo: '6' };

type NumberField = 'mode' | 'uid' | 'gid' | 'size' | 'mtime' | 'devmajor' | 'devminor';

/** Writes `value` as zero-padded octal with a NUL; false when it does not fit (pax carries it). */
function octal(buf: Uint8Array, field: NumberField, value: number): boolean {
  const [off, width] = ustarField(field);
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
  const H = USTAR_HEADER;
  const b = new Uint8Array(BLOCK);
  // Values that do not fit go in pax records; the header then holds 0 (as GNU tar does).
  H.encode({
    name: name.subarray(0, ustarField('name')[1]),
    linkname: link.subarray(0, ustarField('linkname')[1]),
    typeflag: ascii.encode(type),
    magic: ascii.encode('ustar\0'),
    version: ascii.encode('00'),
    chksum: ascii.encode(' '.repeat(ustarField('chksum')[1])),
  }, b);
  octal(b, 'mode', mode);
  const fields: [NumberField, number][] = [['uid', uid], ['gid', gid], ['size', size], ['mtime', mtime], ['devmajor', major], ['devminor', minor]];
  for (const [f, v] of fields) if (!octal(b, f, v)) octal(b, f, 0);
  let sum = 0;
  for (const x of b) sum += x;
  H.set(b, 0, 'chksum', ascii.encode(`${sum.toString(8).padStart(6, '0')}\0 `));
  return b;
}

/** A plain ustar header (owner 0:0, mtime 0) for archives of generated files: `name` must fit the name field. */
export function plainHeader(name: string, size: number, dir = false): Uint8Array {
  const bytes = ascii.encode(name);
  if (bytes.length > ustarField('name')[1] || /[^\x20-\x7e]/.test(name)) throw new Error(`plainHeader: ${JSON.stringify(name)} does not fit a ustar name`);
  return header(bytes, dir ? '5' : '0', dir ? 0o755 : 0o644, 0, 0, size, 0, new Uint8Array(0));
}

/** Zeros that pad `size` bytes of data to the 512-byte block. */
export const blockPadding = (size: number): Uint8Array => ZEROS.subarray(0, (BLOCK - (size % BLOCK)) % BLOCK);

/** The end of an archive: two zero blocks. */
export const END_OF_ARCHIVE = new Uint8Array(BLOCK * 2);

const fits = (v: number, field: NumberField): boolean => v >= 0 && v.toString(8).length <= ustarField(field)[1] - 1;

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
    if (nameBytes.length > ustarField('name')[1] || /[^\x20-\x7e]/.test(path)) pax.push(paxRecord('path', nameBytes));
    if (linkBytes.length > ustarField('linkname')[1] || /[^\x20-\x7e]/.test(link)) pax.push(paxRecord('linkpath', linkBytes));
    if (!fits(size, 'size')) pax.push(paxRecord('size', ascii.encode(String(size))));
    if (!fits(n.uid, 'uid')) pax.push(paxRecord('uid', ascii.encode(String(n.uid))));
    if (!fits(n.gid, 'gid')) pax.push(paxRecord('gid', ascii.encode(String(n.gid))));
    if (n.mtime.nsec !== 0 || !fits(n.mtime.sec, 'mtime')) {
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
