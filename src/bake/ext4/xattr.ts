// Extended attributes (Documentation/filesystems/ext4/attributes.rst): in the inode after
// the extra fields, and in one xattr block when they do not fit there.
import { type StructValue, defineStruct } from '../../struct/schema.js';
const utf8 = new TextEncoder();
import type { Xattr } from '../../tree/node.js';
import { UnsupportedError } from '../../util/errors.js';

export const XATTR_BLOCK_HEADER = defineStruct('ext4 xattr block header', [
  ['h_magic', 'u32', 0x0],
  ['h_refcount', 'u32', 0x4],
  ['h_blocks', 'u32', 0x8],
  ['h_hash', 'u32', 0xc],
  ['h_checksum', 'u32', 0x10],
  ['h_reserved', 'bytes12', 0x14],
]);
export type XattrBlockHeader = StructValue<typeof XATTR_BLOCK_HEADER>;
export const XATTR_ENTRY = defineStruct('ext4 xattr entry', [
  ['e_name_len', 'u8', 0x0],
  ['e_name_index', 'u8', 0x1],
  ['e_value_offs', 'u16', 0x2],
  ['e_value_inum', 'u32', 0x4],
  ['e_value_size', 'u32', 0x8],
  ['e_hash', 'u32', 0xc],
]);
export type XattrEntryHeader = StructValue<typeof XATTR_ENTRY>;
export const XATTR_MAGIC = 0xea020000;

/** What an xattr block's checksum starts with: its block number. */
export const XATTR_BLOCK_NUMBER = defineStruct('ext4 xattr block number', [['block', 'u64', 0x0]]);

/** In-inode xattrs start with this header, after the inode's extra fields. */
export const IBODY_XATTR_HEADER = defineStruct('ext4 in-inode xattr header', [['h_magic', 'u32', 0x0]]);

// POSIX ACLs: the Linux VFS form (a version and 8-byte entries) a source gives, and
// ext4's (version 1; the entries for a named user or group keep the id, the others drop it).
const VFS_ACL_HEADER = defineStruct('POSIX ACL (VFS) header', [['a_version', 'u32', 0x0]]);
const VFS_ACL_ENTRY = defineStruct('POSIX ACL (VFS) entry', [['e_tag', 'u16', 0x0], ['e_perm', 'u16', 0x2], ['e_id', 'u32', 0x4]]);
const EXT4_ACL_HEADER = defineStruct('ext4 ACL header', [['a_version', 'u32', 0x0]]);
const EXT4_ACL_ENTRY = defineStruct('ext4 ACL entry', [['e_tag', 'u16', 0x0], ['e_perm', 'u16', 0x2], ['e_id', 'u32', 0x4]]);
const EXT4_ACL_ENTRY_SHORT = defineStruct('ext4 ACL short entry', [['e_tag', 'u16', 0x0], ['e_perm', 'u16', 0x2]]);
const ACL_USER = 0x02;
const ACL_GROUP = 0x08;

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
  const n = (value.length - VFS_ACL_HEADER.size) / VFS_ACL_ENTRY.size;
  if (!Number.isInteger(n) || n < 0 || VFS_ACL_HEADER.get(value, 0, 'a_version') !== 2) {
    throw new UnsupportedError(where, 'POSIX ACL xattr is not in the Linux VFS format (version 2)');
  }
  const entries = Array.from({ length: n }, (_, i) => VFS_ACL_ENTRY.decode(value, VFS_ACL_HEADER.size + i * VFS_ACL_ENTRY.size));
  const named = (tag: number) => tag === ACL_USER || tag === ACL_GROUP;
  const size = EXT4_ACL_HEADER.size + entries.reduce((t, e) => t + (named(e.e_tag) ? EXT4_ACL_ENTRY.size : EXT4_ACL_ENTRY_SHORT.size), 0);
  const out = EXT4_ACL_HEADER.encode({ a_version: 1 }, new Uint8Array(size), 0);
  let at = EXT4_ACL_HEADER.size;
  for (const e of entries) {
    const form = named(e.e_tag) ? EXT4_ACL_ENTRY : EXT4_ACL_ENTRY_SHORT;
    form.encode(e, out, at);
    at += form.size;
  }
  return out;
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
