// What depmod reads from a kernel module (a relocatable ELF, 32 or 64 bit, either byte
// order), as kmod's libkmod-elf.c reads it: the `.modinfo` strings (alias=, softdep=, ...),
// the symbols it exports (the `__crc_*` symbols of `.symtab`, else the `__ksymtab_strings`
// section) and the symbols it needs (the undefined symbols of `.symtab` in table order,
// then the `__versions` entries no symbol named). Bounds are checked before every read:
// arbitrary bytes give a ModuleElf or a CorruptInputError.
import { bytesToByteString } from '../../tree/names.js';
import { CorruptInputError } from '../../util/errors.js';

export interface ModuleElf {
  /** `.modinfo` as [key, value] pairs, in order. */
  modinfo: [string, string][];
  exports: string[];
  /** Undefined symbols in `.symtab` order, then unvisited `__versions` names. */
  imports: string[];
}

interface Section {
  name: string;
  offset: number;
  size: number;
  type: number;
  link: number;
}

const latin1 = (b: Uint8Array, from: number, to: number): string => bytesToByteString(b.subarray(from, to));

/** The NUL-terminated string at `at` (within `end`). */
function cstring(b: Uint8Array, at: number, end: number): string {
  let z = b.indexOf(0, at);
  if (z < 0 || z > end) z = end;
  return latin1(b, at, z);
}

const CRC_PREFIX = Uint8Array.from('__crc_', (c) => c.charCodeAt(0));

function startsWith(b: Uint8Array, at: number, end: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > end) return false;
  for (let i = 0; i < prefix.length; i++) if (b[at + i] !== prefix[i]) return false;
  return true;
}

/** NUL-separated strings of a byte range, empty ones skipped. */
function strings(b: Uint8Array, from: number, to: number): string[] {
  return latin1(b, from, to).split('\0').filter(Boolean);
}

function sections(b: Uint8Array, where: string): { list: Section[]; is64: boolean; le: boolean } {
  const bad = (why: string): never => {
    throw new CorruptInputError(where, `not a kernel module: ${why}`);
  };
  if (b.length < 52 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) bad('no ELF header');
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  if ((b[4] !== 1 && !is64) || (b[5] !== 1 && b[5] !== 2)) bad('unknown ELF class or byte order');
  if (is64 && b.length < 64) bad('truncated ELF header');
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const num = (o: number, wide: boolean) => (wide ? Number(dv.getBigUint64(o, le)) : dv.getUint32(o, le));
  const shoff = num(is64 ? 0x28 : 0x20, is64);
  const shentsize = dv.getUint16(is64 ? 0x3a : 0x2e, le);
  const shnum = dv.getUint16(is64 ? 0x3c : 0x30, le);
  const shstrndx = dv.getUint16(is64 ? 0x3e : 0x32, le);
  if (shentsize < (is64 ? 64 : 40) || !Number.isSafeInteger(shoff) || shoff + shnum * shentsize > b.length) bad('section headers run past the end of the file');
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    const offset = num(h + (is64 ? 0x18 : 0x10), is64);
    const size = num(h + (is64 ? 0x20 : 0x14), is64);
    const type = dv.getUint32(h + 4, le);
    if (type !== 8 /* NOBITS */ && (!Number.isSafeInteger(offset + size) || offset + size > b.length)) bad(`section ${i} runs past the end of the file`);
    raw.push({ nameOff: dv.getUint32(h, le), offset, size, type, link: dv.getUint32(h + (is64 ? 0x28 : 0x18), le) });
  }
  const names = raw[shstrndx];
  if (!names) bad('no section name table');
  const list = raw.map((s) => ({ name: s.nameOff < names!.size ? cstring(b, names!.offset + s.nameOff, names!.offset + names!.size) : '', offset: s.offset, size: s.size, type: s.type, link: s.link }));
  return { list, is64, le };
}

export function readModuleElf(b: Uint8Array, where: string): ModuleElf {
  const { list, is64, le } = sections(b, where);
  const find = (name: string) => list.find((s) => s.name === name && s.type !== 8);
  const modinfo: [string, string][] = [];
  const mi = find('.modinfo');
  if (mi) {
    for (const s of strings(b, mi.offset, mi.offset + mi.size)) {
      const eq = s.indexOf('=');
      if (eq > 0) modinfo.push([s.slice(0, eq), s.slice(eq + 1)]);
    }
  }
  const symtab = find('.symtab');
  const strtab = find('.strtab');
  const exports: string[] = [];
  const imports: string[] = [];
  const versionsSec = find('__versions');
  const verlen = is64 ? 64 : 64; // struct modversion_info: crc (unsigned long) + name[64 - sizeof(long)]
  const crclen = is64 ? 8 : 4;
  const versions: string[] = [];
  if (versionsSec && versionsSec.size % verlen === 0) {
    for (let o = versionsSec.offset; o < versionsSec.offset + versionsSec.size; o += verlen) versions.push(cstring(b, o + crclen, o + verlen));
  }
  const visited = new Set<number>();
  const versionIndex = new Map<string, number>();
  versions.forEach((name, i) => versionIndex.has(name) || versionIndex.set(name, i));
  if (symtab && strtab) {
    const symlen = is64 ? 24 : 16;
    if (symtab.size % symlen !== 0) throw new CorruptInputError(where, `.symtab is ${symtab.size} bytes, not a multiple of ${symlen}`);
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    const crcs: string[] = [];
    for (let o = symtab.offset + symlen; o < symtab.offset + symtab.size; o += symlen) {
      const nameOff = dv.getUint32(o, le);
      const shndx = dv.getUint16(o + (is64 ? 6 : 14), le);
      if (nameOff >= strtab.size) throw new CorruptInputError(where, `.symtab names offset ${nameOff}, past .strtab's ${strtab.size} bytes`);
      const at = strtab.offset + nameOff;
      const end = strtab.offset + strtab.size;
      // Only two kinds of symbol matter: undefined ones and `__crc_*`; the rest (most of
      // the table) are not decoded at all.
      if (shndx !== 0) {
        if (startsWith(b, at, end, CRC_PREFIX)) crcs.push(cstring(b, at + CRC_PREFIX.length, end));
        continue;
      }
      const name = cstring(b, at, end);
      if (name.startsWith('__crc_')) crcs.push(name.slice(6));
      if (name === '') continue;
      imports.push(name);
      const v = versionIndex.get(name);
      if (v !== undefined) visited.add(v);
    }
    exports.push(...crcs);
  }
  if (!exports.length) {
    const ks = find('__ksymtab_strings');
    if (ks) exports.push(...strings(b, ks.offset, ks.offset + ks.size));
  }
  versions.forEach((name, i) => {
    if (!visited.has(i) && name) imports.push(name);
  });
  return { modinfo, exports, imports };
}
