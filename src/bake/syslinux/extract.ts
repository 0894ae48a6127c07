// The three syslinux blobs (ldlinux.bss, ldlinux.sys, ldlinux.c32) taken out of a
// stripped `extlinux` or `syslinux` binary, where bin2c.pl stored them verbatim.
// No distribution ships ldlinux.bss/ldlinux.sys as files, so this is how a rootless
// installer gets the exact bytes the real extlinux writes. Pure: bytes in, bytes out.
// Spec: docs/extlinux.md §1.2.
import { CorruptInputError } from '../../util/errors.js';
import { BS_MAGIC_OFFSET, LDLINUX_MAGIC, PatchArea, SECTOR, readPatchLayout } from '../extlinux/install.js';

export interface SyslinuxBlobs {
  /** ldlinux.bss: the 512-byte VBR template. */
  bootSector: Uint8Array;
  /** ldlinux.sys image, zero-padded to a multiple of 512 (as extlinux embeds it). */
  ldlinuxSys: Uint8Array;
  /** ldlinux.c32, the ELF32 module the core loads from the filesystem. */
  ldlinuxC32: Uint8Array;
  /** The build's HEXDATE = instance ^ LDLINUX_MAGIC (Debian 12: 0x60C60D8F). */
  hexdate: number;
}

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const hex = (n: number) => `0x${n.toString(16).toUpperCase()}`;
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

const SYSLINUX = ascii('SYSLINUX');
const BANNER = ascii('\r\nSYSLINUX ');
const ELF32_LE = Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 0x01, 0x01, 0x01);

function matchAt(b: Uint8Array, at: number, pat: Uint8Array): boolean {
  if (at < 0 || at + pat.length > b.length) return false;
  for (let i = 0; i < pat.length; i++) if (b[at + i] !== pat[i]) return false;
  return true;
}

function* indexesOf(b: Uint8Array, pat: Uint8Array, from = 0): Generator<number> {
  const first = pat[0]!;
  for (let i = b.indexOf(first, from); i >= 0 && i + pat.length <= b.length; i = b.indexOf(first, i + 1)) {
    if (matchAt(b, i, pat)) yield i;
  }
}

/** `EB ?? 90 "SYSLINUX"`, LDLINUX_MAGIC at +0x1F8, `55 AA` at +0x1FE. */
export function isSyslinuxBootSector(b: Uint8Array, at = 0): boolean {
  return at + SECTOR <= b.length && b[at] === 0xeb && b[at + 2] === 0x90 && matchAt(b, at + 3, SYSLINUX) &&
    u32(b, at + BS_MAGIC_OFFSET) === LDLINUX_MAGIC && b[at + 0x1fe] === 0x55 && b[at + 0x1ff] === 0xaa;
}

/** Start of an ldlinux.sys image at `at`: `0D 0A "SYSLINUX " version 00 0D 0A 1A`, zero
 *  padding, then LDLINUX_MAGIC at the first 4-aligned dword. Returns the patch area
 *  offset (relative to `at`) or -1. */
function ldlinuxSysHeaderAt(b: Uint8Array, at: number): number {
  if (!matchAt(b, at, BANNER)) return -1;
  let o = at + BANNER.length;
  const end = Math.min(b.length, at + 64);
  while (o < end && b[o] !== 0) o++;
  if (!matchAt(b, o, Uint8Array.of(0x00, 0x0d, 0x0a, 0x1a))) return -1;
  o += 4;
  while ((o - at) % 4 !== 0) { if (b[o] !== 0) return -1; o++; }
  for (let k = 0; k < 4 && o + 8 <= b.length; k++, o += 4) {
    if (u32(b, o) === LDLINUX_MAGIC) return o - at;
    if (u32(b, o) !== 0) return -1;
  }
  return -1;
}

/** The instance dword the VBR compares with ldlinux.sys offset 0x1C: the imm32 of
 *  `66 81 3E 1C 80 imm32` (cmp dword [0x801C], imm32), if the VBR has that instruction. */
export function bootSectorInstance(bss: Uint8Array): number | undefined {
  for (const i of indexesOf(bss, Uint8Array.of(0x66, 0x81, 0x3e, 0x1c, 0x80))) {
    if (i + 9 <= bss.length) return u32(bss, i + 5);
  }
  return undefined;
}

/** §1.2 step 6: bss and sys from the same build, else the VBR stops with "Boot error". */
export function checkSameBuild(bss: Uint8Array, instance: number, where: string): void {
  const imm = bootSectorInstance(bss);
  if (imm !== undefined) {
    if (imm !== instance) {
      throw new CorruptInputError(where, `boot sector and ldlinux.sys are from different builds (VBR expects instance ${hex(imm)}, ldlinux.sys has ${hex(instance)})`);
    }
    return;
  }
  // Another build's code layout: the instance must still appear as an immediate.
  for (let o = 0x24; o + 4 <= BS_MAGIC_OFFSET; o++) if (u32(bss, o) === instance) return;
  throw new CorruptInputError(where, `boot sector does not check ldlinux.sys instance ${hex(instance)}: boot sector and ldlinux.sys are from different builds`);
}

/** Length of an ELF32 little-endian file at `at` (section table end, or the end of the
 *  furthest segment / header table), or -1 if this is not a plausible i386 ELF32. */
export function elf32Length(b: Uint8Array, at = 0): number {
  if (!matchAt(b, at, ELF32_LE) || at + 52 > b.length) return -1;
  const machine = u16(b, at + 0x12);
  const ehsize = u16(b, at + 0x28);
  if (machine !== 3 || ehsize !== 52) return -1;
  const phoff = u32(b, at + 0x1c);
  const shoff = u32(b, at + 0x20);
  const phentsize = u16(b, at + 0x2a);
  const phnum = u16(b, at + 0x2c);
  const shentsize = u16(b, at + 0x2e);
  const shnum = u16(b, at + 0x30);
  if ((phnum && phentsize !== 32) || (shnum && shentsize !== 40)) return -1;
  let len = 52;
  if (shnum) len = Math.max(len, shoff + shnum * shentsize);
  if (phnum) {
    const phEnd = phoff + phnum * phentsize;
    if (at + phEnd > b.length) return -1;
    len = Math.max(len, phEnd);
    for (let i = 0; i < phnum; i++) {
      const ph = at + phoff + i * 32;
      len = Math.max(len, u32(b, ph + 4) + u32(b, ph + 16));
    }
  }
  return at + len <= b.length ? len : -1;
}

/** End offset of the host-ELF section holding file offset `at` (the end-of-.data fallback). */
function hostSectionEnd(b: Uint8Array, at: number): number | undefined {
  if (!matchAt(b, 0, Uint8Array.of(0x7f, 0x45, 0x4c, 0x46)) || b[5] !== 1) return undefined;
  const is64 = b[4] === 2;
  if (!is64 && b[4] !== 1) return undefined;
  const num = (o: number, wide: boolean) => (wide ? u32(b, o) + u32(b, o + 4) * 2 ** 32 : u32(b, o));
  if (b.length < (is64 ? 64 : 52)) return undefined;
  const shoff = num(is64 ? 0x28 : 0x20, is64);
  const shentsize = u16(b, is64 ? 0x3a : 0x2e);
  const shnum = u16(b, is64 ? 0x3c : 0x30);
  if (!shnum || shentsize < (is64 ? 64 : 40) || shoff + shnum * shentsize > b.length) return undefined;
  for (let i = 0; i < shnum; i++) {
    const sh = shoff + i * shentsize;
    const type = u32(b, sh + 4);
    if (type === 0 || type === 8 /* NOBITS */) continue;
    const off = num(sh + (is64 ? 0x18 : 0x10), is64);
    const size = num(sh + (is64 ? 0x20 : 0x14), is64);
    if (at >= off && at < off + size) return off + size;
  }
  return undefined;
}

/** The smallest image that holds every field the installer patches, in whole sectors. */
function minimumImageLength(b: Uint8Array, start: number, where: string): number {
  // readPatchLayout bounds-checks against the slice it is given; give it the rest of the binary.
  const { epa, patch, patchOffset } = readPatchLayout(b.subarray(start), where, 64);
  const ends = [
    patchOffset + PatchArea.size, patch.epaOffset + 22, epa.advPtrOffset + 16, epa.dirOffset + epa.dirLen,
    epa.subvolOffset + epa.subvolLen, epa.secPtrOffset + 10 * epa.secPtrCnt,
  ];
  return Math.ceil(Math.max(...ends) / SECTOR) * SECTOR;
}

export function extractFromExtlinux(binary: Uint8Array, where: string): SyslinuxBlobs {
  const b = binary;
  const pick = pairBootSectorAndImage(b, where);
  const bootSector = b.slice(pick.bss, pick.bss + SECTOR);
  const sysStart = pick.sys.at;
  const instance = pick.sys.instance;
  checkSameBuild(bootSector, instance, where);

  // 3. HEXDATE.
  const hexdate = (instance ^ LDLINUX_MAGIC) >>> 0;
  const neighbours = hexdateNeighbours(b, hexdate);
  const c32 = findC32(b, neighbours, where);
  const sysLen = ldlinuxSysLength(b, sysStart, neighbours, c32.len, where);
  return { bootSector, ldlinuxSys: b.slice(sysStart, sysStart + sysLen), ldlinuxC32: b.slice(c32.at, c32.at + c32.len), hexdate };
}

/** Steps 1 and 2: the boot sector template and the ldlinux.sys image of one build, paired by the instance the VBR checks (§1.2 step 6). */
function pairBootSectorAndImage(b: Uint8Array, where: string): { bss: number; sys: { at: number; instance: number } } {
  const bssAt: number[] = [];
  for (const i of indexesOf(b, Uint8Array.of(0xeb))) if (isSyslinuxBootSector(b, i)) bssAt.push(i);
  if (bssAt.length === 0) throw new CorruptInputError(where, 'not an extlinux binary: no boot sector template');

  // ldlinux.sys start(s): banner + magic + instance.
  const sysAt: { at: number; instance: number }[] = [];
  for (const i of indexesOf(b, BANNER)) {
    const p = ldlinuxSysHeaderAt(b, i);
    if (p >= 0 && i + p + 8 <= b.length) sysAt.push({ at: i, instance: u32(b, i + p + 4) });
  }
  if (sysAt.length === 0) throw new CorruptInputError(where, 'not an extlinux binary: no ldlinux.sys image (banner + LDLINUX_MAGIC)');

  for (const sys of sysAt) {
    for (const bs of bssAt) {
      const imm = bootSectorInstance(b.subarray(bs, bs + SECTOR));
      if (imm === sys.instance) return { bss: bs, sys };
    }
  }
  if (bssAt.length === 1 && sysAt.length === 1) return { bss: bssAt[0]!, sys: sysAt[0]! };
  throw new CorruptInputError(where, `${bssAt.length} boot sector templates and ${sysAt.length} ldlinux.sys images, none matching by instance`);
}

/** bin2c's X_len dwords sit next to X_mtime dwords (= HEXDATE under SOURCE_DATE_EPOCH): the dwords beside each HEXDATE. */
function hexdateNeighbours(b: Uint8Array, hexdate: number): Set<number> {
  const neighbours = new Set<number>();
  for (let o = 0; o + 4 <= b.length; o += 4) {
    if (u32(b, o) !== hexdate) continue;
    if (o >= 4) neighbours.add(u32(b, o - 4));
    if (o + 8 <= b.length) neighbours.add(u32(b, o + 4));
  }
  return neighbours;
}

/** Step 5, ldlinux.c32: an i386 ELF32 past the host's own header (the one whose length is a _len, when several). */
function findC32(b: Uint8Array, neighbours: Set<number>, where: string): { at: number; len: number } {
  const c32s: { at: number; len: number }[] = [];
  for (const i of indexesOf(b, ELF32_LE, 1)) {
    const len = elf32Length(b, i);
    if (len > 0) c32s.push({ at: i, len });
  }
  if (c32s.length === 0) throw new CorruptInputError(where, 'not an extlinux binary: no ldlinux.c32 (embedded i386 ELF32)');
  return c32s.find((c) => neighbours.has(c.len)) ?? c32s[0]!;
}

/**
 * Step 4, the ldlinux.sys length: the multiple-of-512 _len next to a HEXDATE, else the end
 * of the host section that holds the array (it is the last thing in .data).
 */
function ldlinuxSysLength(b: Uint8Array, sysStart: number, neighbours: Set<number>, c32Len: number, where: string): number {
  const minLen = minimumImageLength(b, sysStart, where);
  const fits = (len: number) => len % SECTOR === 0 && len >= minLen && sysStart + len <= b.length;
  let cands = [...neighbours].filter((n) => n !== SECTOR && fits(n));
  if (cands.length > 1) cands = cands.filter((n) => n !== c32Len);
  const sectionEnd = hostSectionEnd(b, sysStart);
  const fromSection = sectionEnd !== undefined && fits(sectionEnd - sysStart) ? sectionEnd - sysStart : undefined;
  if (cands.length > 1 && fromSection !== undefined && cands.includes(fromSection)) cands = [fromSection];
  let sysLen: number | undefined;
  if (cands.length === 1) sysLen = cands[0];
  else if (cands.length === 0) sysLen = fromSection;
  if (sysLen === undefined) {
    throw new CorruptInputError(where, cands.length > 1
      ? `ldlinux.sys length is ambiguous (${cands.join(', ')} bytes)`
      : 'not an extlinux binary: cannot find the ldlinux.sys length (no _len next to HEXDATE, no section end)');
  }
  return sysLen;
}

/** Checks blobs given as separate files (ldlinux.bss, ldlinux.sys, ldlinux.c32), pads
 *  ldlinux.sys to whole sectors like bin2c does, and checks they are from one build. */
export function checkSyslinuxBlobs(
  blobs: { bootSector: Uint8Array; ldlinuxSys: Uint8Array; ldlinuxC32: Uint8Array },
  where: { bootSector: string; ldlinuxSys: string; ldlinuxC32: string },
): SyslinuxBlobs {
  const { bootSector, ldlinuxC32 } = blobs;
  if (bootSector.length !== SECTOR || !isSyslinuxBootSector(bootSector)) {
    throw new CorruptInputError(where.bootSector, `not a syslinux boot sector (need 512 bytes: EB xx 90 "SYSLINUX", magic at 0x1F8, 55 AA; got ${bootSector.length} bytes)`);
  }
  let sys = blobs.ldlinuxSys;
  const { patch } = readPatchLayout(sys, where.ldlinuxSys, 64);
  if (sys.length % SECTOR !== 0) {
    const padded = new Uint8Array(Math.ceil(sys.length / SECTOR) * SECTOR);
    padded.set(sys);
    sys = padded;
  }
  const c32Len = elf32Length(ldlinuxC32);
  if (c32Len <= 0 || c32Len > ldlinuxC32.length) {
    throw new CorruptInputError(where.ldlinuxC32, 'not an i386 ELF32 module (ldlinux.c32)');
  }
  checkSameBuild(bootSector, patch.instance, `${where.bootSector} + ${where.ldlinuxSys}`);
  return { bootSector, ldlinuxSys: sys, ldlinuxC32, hexdate: (patch.instance ^ LDLINUX_MAGIC) >>> 0 };
}
