// 8.3 short names (fatgen103, "Name Matching in Short File Names" and the basis-name and
// numeric-tail generation of "FAT Long Directory Entries"). A name that is 8.3 apart from
// case is stored as its short name alone, with the NTRes bits (0x08 lower-case base,
// 0x10 lower-case extension) that Windows NT, Linux and edk2 honour. Every other name gets
// a long name and an alias: its basis name, with a numeric tail (~1, ~2, ...) unless the
// long name fits 8.3 exactly once upper-cased. Short names are ASCII only: anything else
// becomes '_', as a character the OEM code page may not have.
import { NTRES_LOWER_BASE, NTRES_LOWER_EXT } from './dirent.js';

/** The characters a short name may hold besides A-Z and 0-9 (fatgen103). */
const SPECIAL = "$%'-_@~`!(){}^#&";
const isShortChar = (c: string): boolean => (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || SPECIAL.includes(c);
const asciiUpper = (s: string): string => s.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 32));

export interface ShortForm {
  /** DIR_Name as 11 characters, space padded. */
  name: string;
  ntRes: number;
}

/** The DIR_Name bytes of an 11-character short name. */
export function shortNameBytes(name: string): Uint8Array {
  return Uint8Array.from(name, (c) => c.charCodeAt(0));
}

const pad = (base: string, ext: string): string => base.padEnd(8, ' ') + ext.padEnd(3, ' ');

/** One part (base or extension) in short form with its lower-case flag, or null when case is mixed or a character is not allowed. */
function shortPart(part: string, lowerBit: number): { up: string; bit: number } | null {
  const up = asciiUpper(part);
  for (const c of up) if (!isShortChar(c)) return null;
  const lower = part !== up;
  if (lower && part !== part.toLowerCase()) return null; // mixed case: needs a long name
  return { up, bit: lower ? lowerBit : 0 };
}

/** The short entry of a name that needs no long name: 8.3, each part all upper or all lower case. */
export function exactShortName(name: string): ShortForm | null {
  const dot = name.indexOf('.');
  const base = dot < 0 ? name : name.slice(0, dot);
  const ext = dot < 0 ? '' : name.slice(dot + 1);
  if (base.length < 1 || base.length > 8 || ext.length > 3 || (dot >= 0 && ext.length < 1) || ext.includes('.')) return null;
  const b = shortPart(base, NTRES_LOWER_BASE);
  const e = shortPart(ext, NTRES_LOWER_EXT);
  if (!b || !e) return null;
  return { name: pad(b.up, e.up), ntRes: b.bit | e.bit };
}

export interface Basis {
  base: string;
  ext: string;
  /** The long name is exactly base.ext once upper-cased: no numeric tail is needed. */
  fits: boolean;
}

/**
 * fatgen103's basis name: upper case; spaces and leading dots removed; the last dot
 * separates the extension (other dots are dropped); characters a short name cannot hold
 * become '_'; base cut to 8 and extension to 3 characters.
 */
export function basisName(longName: string): Basis {
  const up = asciiUpper(longName);
  const stripped = up.replace(/ /g, '').replace(/^\.+/, '');
  const dot = stripped.lastIndexOf('.');
  const rawBase = dot < 0 ? stripped : stripped.slice(0, dot).replace(/\./g, '');
  const rawExt = dot < 0 ? '' : stripped.slice(dot + 1);
  let lossy = false;
  const map = (s: string): string => {
    let out = '';
    for (const ch of s) {
      if (isShortChar(ch)) out += ch;
      else {
        out += '_';
        lossy = true;
      }
    }
    return out;
  };
  const base = map(rawBase);
  const ext = map(rawExt);
  const fits = !lossy && stripped === up && base.length >= 1 && base.length <= 8 && ext.length <= 3 && base + (dot < 0 ? '' : `.${ext}`) === up;
  return { base: (base || '_').slice(0, 8), ext: ext.slice(0, 3), fits };
}

/** The short names of one directory: reserves names, hands out aliases that never collide. */
export class ShortNameTable {
  private readonly taken = new Set<string>();
  /** Per basis, the highest tail handed out: every lower one is taken. */
  private readonly tails = new Map<string, number>();

  /** Takes `name`; false when it is already taken. */
  reserve(name: string): boolean {
    if (this.taken.has(name)) return false;
    this.taken.add(name);
    return true;
  }

  /** The basis itself when it fits and is free, else the basis with the lowest free numeric tail (~1 … ~999999). */
  alias(b: Basis): string {
    if (b.fits && this.reserve(pad(b.base, b.ext))) return pad(b.base, b.ext);
    const key = pad(b.base, b.ext);
    for (let n = (this.tails.get(key) ?? 0) + 1; n <= 999_999; n++) {
      const tail = `~${n}`;
      const name = pad(b.base.slice(0, 8 - tail.length) + tail, b.ext);
      if (this.reserve(name)) {
        this.tails.set(key, n);
        return name;
      }
    }
    // A directory holds at most 65,536 entries; the planner refuses more long before this.
    throw new Error(`no free short name for ${key} (planner bug)`);
  }
}
