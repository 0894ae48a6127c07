// Extended attributes (Documentation/filesystems/ext4/attributes.rst): in the inode after
// the extra fields, and in one xattr block when they do not fit there.
import { defineStruct } from '../../struct/schema.js';
const utf8 = new TextEncoder();
import type { Xattr } from '../../tree/node.js';
import { UnsupportedError } from '../../util/errors.js';

export interface XattrBlockHeader { h_magic: number; h_refcount: number; h_blocks: number; h_hash: number; h_checksum: number; h_reserved: Uint8Array }
export const XATTR_BLOCK_HEADER = defineStruct<XattrBlockHeader>('ext4 xattr block header', [
  ['h_magic', 'u32', 0x0],
  ['h_refcount', 'u32', 0x4],
  ['h_blocks', 'u32', 0x8],
  ['h_hash', 'u32', 0xc],
  ['h_checksum', 'u32', 0x10],
  ['h_reserved', 'bytes12', 0x14],
]);
export interface XattrEntryHeader { e_name_len: number; e_name_index: number; e_value_offs: number; e_value_inum: number; e_value_size: number; e_hash: number }
export const XATTR_ENTRY = defineStruct<XattrEntryHeader>('ext4 xattr entry', [
  ['e_name_len', 'u8', 0x0],
  ['e_name_index', 'u8', 0x1],
  ['e_value_offs', 'u16', 0x2],
  ['e_value_inum', 'u32', 0x4],
  ['e_value_size', 'u32', 0x8],
  ['e_hash', 'u32', 0xc],
]);
export const XATTR_MAGIC = 0xea020000;

// Name prefixes ext4 stores as an index byte. Exact names first: the ACLs have no suffix.
const EXACT: [string, number][] = [['system.posix_acl_access', 2], ['system.posix_acl_default', 3], ['system.richacl', 8]];
const PREFIXES: [string, number][] = [['user.', 1], ['trusted.', 4], ['security.', 6], ['system.', 7]];

/** An xattr ready for ext4: index, suffix bytes, and the value in on-disk form. */
export interface DiskXattr {
  index: number;
  name: Uint8Array;
  value: Uint8Array;
  hash: number;
}

export function entryLen(nameLen: number): number {
  return (nameLen + 16 + 3) & ~3;
}
export function valueLen(size: number): number {
  return (size + 3) & ~3;
}

/** Converts the VFS ACL form (version 2, 8-byte entries) to ext4's (version 1, short entries for the *_OBJ/MASK/OTHER tags). */
export function aclToDisk(value: Uint8Array, where: string): Uint8Array {
  const dv = new DataView(value.buffer, value.byteOffset, value.length);
  if (value.length < 4 || (value.length - 4) % 8 !== 0 || dv.getUint32(0, true) !== 2) {
    throw new UnsupportedError(where, 'POSIX ACL xattr is not in the Linux VFS format (version 2)');
  }
  const n = (value.length - 4) / 8;
  const out: number[] = [1, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const tag = dv.getUint16(4 + i * 8, true);
    const perm = dv.getUint16(6 + i * 8, true);
    const id = dv.getUint32(8 + i * 8, true);
    out.push(tag & 0xff, tag >> 8, perm & 0xff, perm >> 8);
    if (tag === 0x02 || tag === 0x08) out.push(id & 0xff, (id >>> 8) & 0xff, (id >>> 16) & 0xff, id >>> 24);
  }
  return new Uint8Array(out);
}

/** ext2fs_ext_attr_hash_entry (unsigned name bytes). */
export function xattrEntryHash(name: Uint8Array, value: Uint8Array): number {
  let hash = 0;
  for (const c of name) hash = ((hash << 5) ^ (hash >>> 27) ^ c) >>> 0;
  if (value.length) {
    const padded = new Uint8Array(valueLen(value.length));
    padded.set(value);
    const dv = new DataView(padded.buffer);
    for (let i = 0; i < padded.length; i += 4) hash = ((hash << 16) ^ (hash >>> 16) ^ dv.getUint32(i, true)) >>> 0;
  }
  return hash;
}

/** Block hash over the entry hashes (ext4_xattr_rehash). */
export function xattrBlockHash(entries: DiskXattr[]): number {
  let hash = 0;
  for (const e of entries) {
    if (!e.hash) return 0;
    hash = ((hash << 16) ^ (hash >>> 16) ^ e.hash) >>> 0;
  }
  return hash;
}

export function toDiskXattrs(xattrs: Xattr[], where: string): DiskXattr[] {
  const out: DiskXattr[] = [];
  for (const x of xattrs) {
    let index = 0;
    let suffix = '';
    const exact = EXACT.find(([n]) => n === x.name);
    if (exact) index = exact[1];
    else {
      const p = PREFIXES.find(([pre]) => x.name.startsWith(pre) && x.name.length > pre.length);
      if (!p) throw new UnsupportedError(where, `xattr ${JSON.stringify(x.name)} has a namespace ext4 cannot store`);
      index = p[1];
      suffix = x.name.slice(p[0].length);
    }
    const name = utf8.encode(suffix);
    if (name.length > 255) throw new UnsupportedError(where, `xattr name ${JSON.stringify(x.name)} is longer than 255 bytes`);
    const value = index === 2 || index === 3 ? aclToDisk(x.value, where) : x.value;
    out.push({ index, name, value, hash: xattrEntryHash(name, value) });
  }
  // Sorted by (index, name length, name) like the kernel keeps xattr blocks, for stable bytes.
  return out.sort((a, b) => a.index - b.index || a.name.length - b.name.length || cmpBytes(a.name, b.name));
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Bytes a set of entries needs in a region (entries + 4-byte terminator + values). */
export function xattrSpace(entries: DiskXattr[]): number {
  let n = 4;
  for (const e of entries) n += entryLen(e.name.length) + valueLen(e.value.length);
  return n;
}

/**
 * Encodes entries into `region` (entries from the front, values from the back).
 * `valueBase` is what e_value_offs is relative to (the region start for the inode body,
 * the block start for a block, where the region begins after the 32-byte header).
 */
export function encodeXattrRegion(entries: DiskXattr[], buf: Uint8Array, regionStart: number, regionEnd: number, valueBase: number): void {
  let eoff = regionStart;
  let voff = regionEnd;
  for (const e of entries) {
    const vl = valueLen(e.value.length);
    voff -= vl;
    buf.set(e.value, voff);
    XATTR_ENTRY.encode(
      { e_name_len: e.name.length, e_name_index: e.index, e_value_offs: e.value.length ? voff - valueBase : 0, e_value_inum: 0, e_value_size: e.value.length, e_hash: e.hash },
      buf,
      eoff,
    );
    buf.set(e.name, eoff + 16);
    eoff += entryLen(e.name.length);
  }
  if (eoff + 4 > voff) throw new Error('xattr region overflow (planner bug)');
}
