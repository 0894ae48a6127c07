// EXTLINUX (syslinux 6.04) installed by byte patching, as `extlinux --install DIR
// --heads 64 --sectors 32` does it on ext2/3/4 — but as a pure function of the pristine
// blobs and the sector map of the on-disk ldlinux.sys, so an image writer that placed the
// file itself can install the boot loader without mounting anything.
// Spec: docs/extlinux.md §4 (VBR), §5 (image layout), §6 (file, ADV), §7 (algorithm).
import { type StructValue, defineStruct } from '../../struct/schema.js';
import { CorruptInputError, InvalidOptionError, UnsupportedError } from '../../util/errors.js';

import { SECTOR } from '../sector.js';

export { SECTOR };
/** LDLINUX_MAGIC: starts the patch area in ldlinux.sys and sits at VBR 0x1F8. */
export const LDLINUX_MAGIC = 0x3eb202fe;
/** Two ADV copies follow the image in the on-disk file. */
export const ADV_SECTORS = 2;
export const ADV_SIZE = 512;
export const ADV_MAGIC1 = 0x5a2d2fa5;
export const ADV_MAGIC2 = 0xa3041767;
export const ADV_MAGIC3 = 0xdd28bf64;
/** A run of the extent table holds at most this many sectors ((len + 1) * 512 < 65536). */
export const MAX_EXTENT_SECTORS = 127;

/** Inode of /boot/ldlinux.sys as extlinux leaves it (as root): r--r--r--, immutable (FS_IMMUTABLE_FL). */
export const LDLINUX_SYS_MODE = 0o444;
/** /boot/ldlinux.c32: plain file, mode 0444, no immutable flag. */
export const LDLINUX_C32_MODE = 0o444;
/** The file's on-disk size: the image, then the two ADV copies. */
export const ADV_BYTES = ADV_SECTORS * ADV_SIZE;

// ---- layouts -------------------------------------------------------------------------

/** The fake FAT BPB at the head of the VBR (only the fields up to bsHugeSectors). */
export const BootSectorHead = defineStruct('extlinux boot sector', [
  ['jump', 'bytes3', 0x00],
  ['oemName', 'bytes8', 0x03],
  ['bytesPerSec', 'u16', 0x0b],
  ['secPerClust', 'u8', 0x0d],
  ['resSectors', 'u16', 0x0e],
  ['fats', 'u8', 0x10],
  ['rootDirEnts', 'u16', 0x11],
  ['sectors', 'u16', 0x13],
  ['media', 'u8', 0x15],
  ['fatSecs', 'u16', 0x16],
  ['secPerTrack', 'u16', 0x18],
  ['heads', 'u16', 0x1a],
  ['hiddenSecs', 'u32', 0x1c],
  ['hugeSectors', 'u32', 0x20],
]);
export type BootSectorHead = StructValue<typeof BootSectorHead>;

/** Boot-sector trailer: bs_magic, bs_link, 55 AA. */
export const BS_MAGIC_OFFSET = 0x1f8;

/** `struct patch_area`, at the first 4-aligned LDLINUX_MAGIC of ldlinux.sys (0x18 here). */
export const PatchArea = defineStruct('ldlinux.sys patch area', [
  ['magic', 'u32', 0],
  ['instance', 'u32', 4],
  ['dataSectors', 'u16', 8],
  ['advSectors', 'u16', 10],
  ['dwords', 'u32', 12],
  ['checksum', 'u32', 16],
  ['maxTransfer', 'u16', 20],
  ['epaOffset', 'u16', 22],
]);
export type PatchArea = StructValue<typeof PatchArea>;

/** `struct ext_patch_area`, at image offset epaOffset. The first seven are relative to
 *  ldlinux.sys (or sizes); sect1ptr0/sect1ptr1/raidPatch are offsets into the VBR. */
export const ExtPatchArea = defineStruct('ldlinux.sys extended patch area', [
  ['advPtrOffset', 'u16', 0],
  ['dirOffset', 'u16', 2],
  ['dirLen', 'u16', 4],
  ['subvolOffset', 'u16', 6],
  ['subvolLen', 'u16', 8],
  ['secPtrOffset', 'u16', 10],
  ['secPtrCnt', 'u16', 12],
  ['sect1Ptr0', 'u16', 14],
  ['sect1Ptr1', 'u16', 16],
  ['raidPatch', 'u16', 18],
  ['bannerPtr', 'u16', 20],
]);
export type ExtPatchArea = StructValue<typeof ExtPatchArea>;

/** `struct syslinux_extent` (packed, 10 bytes): u64 lba split in two dwords, u16 len. */
export const Extent = defineStruct('syslinux extent', [
  ['lbaLo', 'u32', 0],
  ['lbaHi', 'u32', 4],
  ['len', 'u16', 8],
]);
export type Extent = StructValue<typeof Extent>;

/** The two u64 ADV sector pointers at advPtrOffset. */
export const AdvPointers = defineStruct('ldlinux.sys ADV pointers', [
  ['adv0Lo', 'u32', 0],
  ['adv0Hi', 'u32', 4],
  ['adv1Lo', 'u32', 8],
  ['adv1Hi', 'u32', 12],
]);
export type AdvPointers = StructValue<typeof AdvPointers>;

/** One ADV copy (512 bytes). */
export const Adv = defineStruct('syslinux ADV', [
  ['head', 'u32', 0],
  ['checksum', 'u32', 4],
  ['data', 'bytes500', 8],
  ['tail', 'u32', 508],
]);
export type Adv = StructValue<typeof Adv>;

// ---- reading the image ---------------------------------------------------------------

export interface PatchLayout {
  /** Image offset of the patch area (LDLINUX_MAGIC). */
  patchOffset: number;
  patch: PatchArea;
  epa: ExtPatchArea;
}

const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/** Finds the patch area and the extended patch area of an ldlinux.sys image and checks
 *  that every place the installer writes lies inside the image (and sector 0 for the
 *  first extent). `where` names the image in errors. */
export function readPatchLayout(image: Uint8Array, where = 'ldlinux.sys', searchLimit = image.length): PatchLayout {
  let patchOffset = -1;
  const limit = Math.min(searchLimit, image.length) - 4;
  for (let o = 0; o <= limit; o += 4) {
    if (u32(image, o) === LDLINUX_MAGIC) { patchOffset = o; break; }
  }
  if (patchOffset < 0) throw new CorruptInputError(where, 'no LDLINUX_MAGIC (0x3EB202FE) patch area: not a syslinux ldlinux.sys image');
  if (patchOffset + PatchArea.size > image.length) throw new CorruptInputError(where, 'patch area runs past the end of the image');
  const patch = PatchArea.decode(image, patchOffset);
  if (patch.epaOffset + ExtPatchArea.size > image.length || patch.epaOffset === 0) {
    throw new CorruptInputError(where, `extended patch area offset 0x${patch.epaOffset.toString(16)} is outside the image`);
  }
  const epa = ExtPatchArea.decode(image, patch.epaOffset);
  const inside = (name: string, off: number, len: number, limitTo = image.length) => {
    if (off + len > limitTo) throw new CorruptInputError(where, `extended patch area: ${name} (0x${off.toString(16)}+${len}) lies outside the image`);
  };
  inside('ADV pointers', epa.advPtrOffset, AdvPointers.size);
  inside('CurrentDirName', epa.dirOffset, epa.dirLen);
  inside('SubvolName', epa.subvolOffset, epa.subvolLen);
  inside('extent table', epa.secPtrOffset, Extent.size * epa.secPtrCnt);
  // The loader reads the first extent from sector 0 before it has loaded anything else.
  inside('first extent (must be in sector 0)', epa.secPtrOffset, Extent.size, SECTOR);
  if (epa.secPtrCnt === 0) throw new CorruptInputError(where, 'extended patch area: extent table has no slots');
  if (epa.dirLen === 0 || epa.subvolLen === 0) throw new CorruptInputError(where, 'extended patch area: zero-length name field');
  for (const [name, off] of [['sect1ptr0', epa.sect1Ptr0], ['sect1ptr1', epa.sect1Ptr1], ['raidpatch', epa.raidPatch]] as const) {
    if (off < 0x24 || off + (name === 'raidpatch' ? 2 : 4) > BS_MAGIC_OFFSET) {
      throw new CorruptInputError(where, `extended patch area: ${name} 0x${off.toString(16)} is not inside the boot code of the VBR`);
    }
  }
  return { patchOffset, patch, epa };
}

// ---- ADV -----------------------------------------------------------------------------

/** A blank ADV copy: magic, checksum, 500 zero bytes, tail magic. */
export function blankAdvCopy(): Uint8Array {
  return Adv.encode({ head: ADV_MAGIC1, checksum: ADV_MAGIC2, tail: ADV_MAGIC3 });
}

/** Both ADV copies, blank (1024 bytes). */
export function blankAdv(): Uint8Array {
  const out = new Uint8Array(ADV_SECTORS * ADV_SIZE);
  out.set(blankAdvCopy(), 0);
  out.set(blankAdvCopy(), ADV_SIZE);
  return out;
}

/** syslinux's adv_consistent: both magics and Σ dwords 4..507 == ADV_MAGIC2. */
export function isValidAdvCopy(copy: Uint8Array): boolean {
  if (copy.length < ADV_SIZE) return false;
  if (u32(copy, 0) !== ADV_MAGIC1 || u32(copy, ADV_SIZE - 4) !== ADV_MAGIC3) return false;
  let sum = 0;
  for (let o = 4; o < ADV_SIZE - 4; o += 4) sum = (sum + u32(copy, o)) >>> 0;
  return sum === ADV_MAGIC2;
}

/** syslinux_validate_adv: keep copy 0 if valid (mirrored), else copy 1 (mirrored), else blank. */
export function keptAdv(adv: Uint8Array | undefined): Uint8Array {
  if (!adv) return blankAdv();
  if (adv.length !== ADV_SECTORS * ADV_SIZE) throw new InvalidOptionError('adv', `must be ${ADV_SECTORS * ADV_SIZE} bytes (the last 1024 bytes of an old ldlinux.sys), got ${adv.length}`);
  for (const at of [0, ADV_SIZE]) {
    const copy = adv.subarray(at, at + ADV_SIZE);
    if (isValidAdvCopy(copy)) {
      const out = new Uint8Array(ADV_SECTORS * ADV_SIZE);
      out.set(copy, 0);
      out.set(copy, ADV_SIZE);
      return out;
    }
  }
  return blankAdv();
}

// ---- install -------------------------------------------------------------------------

export interface ExtlinuxInstallParams {
  /** Pristine ldlinux.bss (512 bytes). */
  bootSector: Uint8Array;
  /** Pristine ldlinux.sys image, length L a multiple of 512. */
  ldlinuxSys: Uint8Array;
  /** fs-LBA (512-byte units from the partition start) of every sector of the on-disk
   *  /boot/ldlinux.sys, in file order: L/512 + 2 entries (image, then the 2 ADV sectors). */
  sectors: number[];
  /** Partition start, disk LBA (bsHiddenSecs). */
  partitionStart: number;
  /** Partition size in sectors (bsHugeSectors, and bsSectors when < 65536). */
  partitionSectors: number;
  heads?: number;
  sectorsPerTrack?: number;
  /** Install directory as an absolute path inside the filesystem ("/boot", or "/"). */
  directory: string;
  /** --raid: INT 18h instead of INT 16h in the boot failure path. */
  raid?: boolean;
  /** --stupid: one sector per BIOS read. */
  stupid?: boolean;
  /** The last 1024 bytes of an existing ldlinux.sys, kept if a copy is valid; else blank. */
  adv?: Uint8Array;
}

export interface ExtlinuxInstall {
  /** Partition sector 0 (512 bytes). */
  vbr: Uint8Array;
  /** Full content of /boot/ldlinux.sys: patched image ‖ ADV ‖ ADV (L + 1024 bytes). */
  file: Uint8Array;
}

/** Size of the on-disk /boot/ldlinux.sys for this image: L + 2 ADV sectors. */
export function ldlinuxSysFileSize(ldlinuxSys: Uint8Array): number {
  return ldlinuxSys.length + ADV_SECTORS * ADV_SIZE;
}

/** Runs of physically contiguous sectors, each at most 127 sectors (syslinux generate_extents). */
export function buildExtents(sectors: readonly number[]): { lba: number; len: number }[] {
  const runs: { lba: number; len: number }[] = [];
  let cur: { lba: number; len: number } | undefined;
  for (const s of sectors) {
    if (cur && s === cur.lba + cur.len && cur.len + 1 <= MAX_EXTENT_SECTORS) {
      cur.len++;
    } else {
      cur = { lba: s, len: 1 };
      runs.push(cur);
    }
  }
  return runs;
}

/** Normalises the install directory the way extlinux derives it: absolute, single
 *  slashes, no trailing slash, the fs root is "/". */
export function normaliseInstallDir(dir: string): string {
  if (!dir.startsWith('/')) throw new InvalidOptionError('directory', `${JSON.stringify(dir)} must be an absolute path inside the filesystem (like /boot)`);
  if (dir.includes('\0')) throw new InvalidOptionError('directory', 'contains a NUL byte');
  const parts = dir.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new InvalidOptionError('directory', `${JSON.stringify(dir)} must not contain ".."`);
  return '/' + parts.join('/');
}

const HI = 2 ** 32;

function checkU(name: string, v: number, max: number): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new InvalidOptionError(name, `${v} is not an integer in 0..${max}`);
}

export function installExtlinux(p: ExtlinuxInstallParams): ExtlinuxInstall {
  const { dataSectors, heads, spt, dir } = checkInstallParams(p);
  const img = p.ldlinuxSys.slice();
  const layout = readPatchLayout(img, 'ldlinux.sys');
  const vbr = patchBootSector(p, layout.epa, heads, spt);
  patchLdlinuxSys(img, layout, p, dataSectors, dir);
  const file = new Uint8Array(ldlinuxSysFileSize(p.ldlinuxSys));
  file.set(img, 0);
  file.set(keptAdv(p.adv), img.length);
  return { vbr, file };
}

/** Checks the blobs and the parameters before anything is patched; returns what the patches need. */
function checkInstallParams(p: ExtlinuxInstallParams): { dataSectors: number; heads: number; spt: number; dir: string } {
  const { bootSector: bss, ldlinuxSys: sys } = p;
  if (bss.length !== SECTOR) throw new CorruptInputError('ldlinux.bss', `boot sector template is ${bss.length} bytes, expected 512`);
  if (u32(bss, BS_MAGIC_OFFSET) !== LDLINUX_MAGIC || bss[0x1fe] !== 0x55 || bss[0x1ff] !== 0xaa) {
    throw new CorruptInputError('ldlinux.bss', 'boot sector template has no LDLINUX_MAGIC at 0x1F8 or no 55 AA signature');
  }
  if (sys.length === 0 || sys.length % SECTOR !== 0) throw new CorruptInputError('ldlinux.sys', `image is ${sys.length} bytes, not a non-zero multiple of 512`);
  const dataSectors = sys.length / SECTOR;
  if (dataSectors > 0xffff) throw new CorruptInputError('ldlinux.sys', `image of ${dataSectors} sectors is too big for the patch area`);
  const nsect = dataSectors + ADV_SECTORS;
  if (p.sectors.length !== nsect) {
    throw new InvalidOptionError('sectors', `${p.sectors.length} sector numbers given, /boot/ldlinux.sys has ${nsect} sectors (${sys.length} + 1024 bytes)`);
  }
  for (const s of p.sectors) {
    if (!Number.isSafeInteger(s) || s <= 0) throw new InvalidOptionError('sectors', `bad fs-LBA ${s} in the ldlinux.sys map (a hole or the VBR?)`);
  }
  const heads = p.heads ?? 64;
  const spt = p.sectorsPerTrack ?? 32;
  checkU('heads', heads, 0xffff);
  checkU('sectorsPerTrack', spt, 0xffff);
  checkU('partitionStart', p.partitionStart, 0xffffffff);
  checkU('partitionSectors', p.partitionSectors, Number.MAX_SAFE_INTEGER);
  return { dataSectors, heads, spt, dir: normaliseInstallDir(p.directory) };
}

/** §7.1: the VBR from the pristine boot sector: disk geometry, the partition, where ldlinux.sys starts, --raid. */
function patchBootSector(p: ExtlinuxInstallParams, epa: ExtPatchArea, heads: number, spt: number): Uint8Array {
  const vbr = p.bootSector.slice();
  const PN = p.partitionSectors;
  BootSectorHead.encode({
    bytesPerSec: SECTOR,
    sectors: PN < 65536 ? PN : 0,
    secPerTrack: spt,
    heads,
    hiddenSecs: p.partitionStart,
    hugeSectors: PN % HI,
  }, vbr);
  const s0 = p.sectors[0]!;
  const dv = new DataView(vbr.buffer, vbr.byteOffset, vbr.length);
  dv.setUint32(epa.sect1Ptr0, s0 % HI, true);
  dv.setUint32(epa.sect1Ptr1, Math.floor(s0 / HI), true);
  if (p.raid) { vbr[epa.raidPatch] = 0xcd; vbr[epa.raidPatch + 1] = 0x18; }
  return vbr;
}

/** §7.2: ldlinux.sys told where it lies: totals, the extent table, the ADV pointers, the install directory, then the checksum. */
function patchLdlinuxSys(img: Uint8Array, layout: PatchLayout, p: ExtlinuxInstallParams, dataSectors: number, dir: string): void {
  const { patchOffset, epa } = layout;
  const S = p.sectors;
  PatchArea.encode({
    dataSectors,
    advSectors: ADV_SECTORS,
    dwords: img.length / 4,
    ...(p.stupid ? { maxTransfer: 1 } : {}),
  }, img, patchOffset);

  // Extent table for sectors 1 .. dataSectors-1 (sector 0 is the VBR's to load).
  const runs = buildExtents(S.slice(1, dataSectors));
  if (runs.length > epa.secPtrCnt) {
    throw new UnsupportedError('/boot/ldlinux.sys', `is in ${runs.length} fragments, the loader's extent table holds ${epa.secPtrCnt}`);
  }
  img.fill(0, epa.secPtrOffset, epa.secPtrOffset + Extent.size * epa.secPtrCnt);
  runs.forEach((r, i) => Extent.encode({ lbaLo: r.lba % HI, lbaHi: Math.floor(r.lba / HI), len: r.len }, img, epa.secPtrOffset + i * Extent.size));

  const a0 = S[S.length - 2]!;
  const a1 = S[S.length - 1]!;
  AdvPointers.encode({ adv0Lo: a0 % HI, adv0Hi: Math.floor(a0 / HI), adv1Lo: a1 % HI, adv1Hi: Math.floor(a1 / HI) }, img, epa.advPtrOffset);

  // CurrentDirName (strlen + 1 bytes copied) and an empty SubvolName.
  const dirBytes = new TextEncoder().encode(dir);
  if (dirBytes.length + 1 > epa.dirLen) {
    throw new InvalidOptionError('directory', `${JSON.stringify(dir.length > 40 ? dir.slice(0, 40) + '…' : dir)} is ${dirBytes.length} bytes, ldlinux.sys holds at most ${epa.dirLen - 1}`);
  }
  img.set(dirBytes, epa.dirOffset);
  img[epa.dirOffset + dirBytes.length] = 0;
  img[epa.subvolOffset] = 0;

  // Checksum: Σ of all L/4 dwords ≡ LDLINUX_MAGIC.
  const idv = new DataView(img.buffer, img.byteOffset, img.length);
  idv.setUint32(patchOffset + PatchArea.offsets.checksum, 0, true);
  let csum = LDLINUX_MAGIC;
  for (let o = 0; o < img.length; o += 4) csum = (csum - idv.getUint32(o, true)) >>> 0;
  idv.setUint32(patchOffset + PatchArea.offsets.checksum, csum, true);
}
