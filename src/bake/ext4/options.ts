// ext4 writer options: what the caller may set, resolved into what the planner uses.
import { InvalidOptionError } from '../../util/errors.js';

export interface Ext4Features {
  /** 64-bit block numbers and 64-byte group descriptors (not bootable by syslinux 6.0x). */
  bit64: boolean;
  /** Hashed (htree) directories once they outgrow one block. */
  dirIndex: boolean;
  hasJournal: boolean;
}

export interface Ext4Options {
  /** Filesystem size in bytes; 'auto' = smallest that holds the tree plus a margin. */
  size: number | 'auto';
  blockSize: number;
  inodeSize: number;
  uuid: Uint8Array;
  hashSeed: Uint8Array;
  label: string;
  /** Journal blocks; undefined = mke2fs's default for the size. */
  journalBlocks?: number;
  features: Ext4Features;
  /** Superblock times (mkfs, write, last check): SOURCE_DATE_EPOCH or 0. No clock inside. */
  timestamp: number;
  /** Bytes per inode (mke2fs -i). */
  inodeRatio: number;
}

export const DEFAULT_FEATURES: Ext4Features = { bit64: false, dirIndex: true, hasJournal: true };

const TOGGLES: Record<string, keyof Ext4Features> = { '64bit': 'bit64', dir_index: 'dirIndex', has_journal: 'hasJournal' };
const ALWAYS_ON = ['ext_attr', 'filetype', 'extent', 'extents', 'flex_bg', 'sparse_super', 'large_file', 'huge_file', 'dir_nlink', 'extra_isize', 'metadata_csum'];
const REFUSED: Record<string, string> = {
  inline_data: 'syslinux and GRUB cannot read inline data',
  metadata_csum_seed: 'GRUB 2.06 refuses it',
  large_dir: 'GRUB 2.06 refuses it',
  orphan_file: 'older e2fsck refuses it',
  resize_inode: 'online growth reserve is not implemented',
  bigalloc: 'not implemented',
  encrypt: 'not implemented',
  casefold: 'not implemented',
};

/** Parses a mke2fs-style feature list ("64bit,^has_journal") over the defaults. */
export function parseFeatures(list: string | undefined, base: Ext4Features = DEFAULT_FEATURES): Ext4Features {
  const out = { ...base };
  if (!list) return out;
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const off = raw.startsWith('^');
    const name = off ? raw.slice(1) : raw;
    // Own keys only: "toString" or "__proto__" is an unknown feature, not a property of every object.
    const key = Object.hasOwn(TOGGLES, name) ? TOGGLES[name] : undefined;
    if (key) out[key] = !off;
    else if (ALWAYS_ON.includes(name)) {
      if (off) throw new InvalidOptionError('--features', `${name} is always on in cake-img images`);
    } else if (Object.hasOwn(REFUSED, name)) {
      if (!off) throw new InvalidOptionError('--features', `${name} is not offered: ${REFUSED[name]}`);
    } else {
      throw new InvalidOptionError('--features', `unknown feature ${JSON.stringify(name)} (can toggle: ${Object.keys(TOGGLES).join(', ')})`);
    }
  }
  return out;
}

/** Parses sizes like 128M, 1G, 512K, 4096 (bytes), or 'auto'. */
export function parseSize(spec: string, option = '--size'): number | 'auto' {
  if (spec === 'auto') return 'auto';
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?$/i.exec(spec.trim());
  if (!m) throw new InvalidOptionError(option, `cannot read size ${JSON.stringify(spec)} (examples: 128M, 1G, auto)`);
  const mult = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  const n = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidOptionError(option, `size ${JSON.stringify(spec)} is out of range`);
  return n;
}

export function parseUuid(s: string, option = '--uuid'): Uint8Array {
  const hex = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex) || !/^[0-9a-fA-F-]+$/.test(s)) throw new InvalidOptionError(option, `not a UUID: ${JSON.stringify(s)}`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function formatUuid(b: Uint8Array): string {
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
