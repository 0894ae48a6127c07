// Just enough of the PE/COFF format (Microsoft PE Format, "MS-DOS Stub", "COFF File
// Header", "Optional Header") to tell whether a file is an x86-64 EFI application: a
// kernel with an EFI stub, or systemd-boot. Decodes untrusted bytes: lengths are checked
// before every read, and anything else is a CorruptInputError naming the file.
import { defineStruct } from '../../struct/schema.js';
import { CorruptInputError } from '../../util/errors.js';

export const DOS_HEADER = defineStruct('MS-DOS header', [
  ['e_magic', 'u16', 0x0], // "MZ"
  ['e_reserved', 'bytes58', 0x2],
  ['e_lfanew', 'u32', 0x3c], // file offset of the PE signature
]);

/** The PE signature and COFF file header, at e_lfanew. */
export const PE_HEADER = defineStruct('PE header', [
  ['Signature', 'u32', 0x0], // "PE\0\0"
  ['Machine', 'u16', 0x4],
  ['NumberOfSections', 'u16', 0x6],
  ['TimeDateStamp', 'u32', 0x8],
  ['PointerToSymbolTable', 'u32', 0xc],
  ['NumberOfSymbols', 'u32', 0x10],
  ['SizeOfOptionalHeader', 'u16', 0x14],
  ['Characteristics', 'u16', 0x16],
]);

/** The start of the PE32+ optional header, up to Subsystem. */
export const OPTIONAL_HEADER_64 = defineStruct('PE32+ optional header', [
  ['Magic', 'u16', 0x0], // 0x20b
  ['Linker', 'bytes2', 0x2],
  ['SizeOfCode', 'u32', 0x4],
  ['SizeOfInitializedData', 'u32', 0x8],
  ['SizeOfUninitializedData', 'u32', 0xc],
  ['AddressOfEntryPoint', 'u32', 0x10],
  ['BaseOfCode', 'u32', 0x14],
  ['ImageBase', 'u64', 0x18],
  ['SectionAlignment', 'u32', 0x20],
  ['FileAlignment', 'u32', 0x24],
  ['Versions', 'bytes12', 0x28],
  ['Win32VersionValue', 'u32', 0x34],
  ['SizeOfImage', 'u32', 0x38],
  ['SizeOfHeaders', 'u32', 0x3c],
  ['CheckSum', 'u32', 0x40],
  ['Subsystem', 'u16', 0x44],
]);

export const MZ = 0x5a4d;
export const PE_SIGNATURE = 0x00004550;
export const MACHINE_X86_64 = 0x8664;
export const PE32_PLUS = 0x20b;
export const SUBSYSTEM_EFI_APPLICATION = 10;

export interface PeInfo {
  machine: number;
  subsystem: number;
}

/** Reads the headers, or says why the bytes are not a PE32+ image. */
export function readPe(bytes: Uint8Array, where: string): PeInfo {
  const bad = (why: string): never => {
    throw new CorruptInputError(where, why, { format: 'PE' });
  };
  if (bytes.length < DOS_HEADER.size || DOS_HEADER.get(bytes, 0, 'e_magic') !== MZ) bad('is not a PE image (no MZ header)');
  const pe = DOS_HEADER.get(bytes, 0, 'e_lfanew');
  if (pe + PE_HEADER.size + OPTIONAL_HEADER_64.size > bytes.length) bad('is not a PE image (its PE header is past the end)');
  if (PE_HEADER.get(bytes, pe, 'Signature') !== PE_SIGNATURE) bad('is not a PE image (no PE signature)');
  const opt = pe + PE_HEADER.size;
  if (PE_HEADER.get(bytes, pe, 'SizeOfOptionalHeader') < OPTIONAL_HEADER_64.size || OPTIONAL_HEADER_64.get(bytes, opt, 'Magic') !== PE32_PLUS) {
    bad('is not a 64-bit (PE32+) image');
  }
  return { machine: PE_HEADER.get(bytes, pe, 'Machine'), subsystem: OPTIONAL_HEADER_64.get(bytes, opt, 'Subsystem') };
}

/** Checks that `bytes` is an x86-64 EFI application; `what` says what it should have been. */
export function checkEfiApplication(bytes: Uint8Array, where: string, what: string): void {
  let info: PeInfo;
  try {
    info = readPe(bytes, where);
  } catch (e) {
    if (e instanceof CorruptInputError) throw new CorruptInputError(where, `${e.message.slice(where.length + 2)}: ${what}`, { format: 'PE' });
    throw e;
  }
  if (info.machine !== MACHINE_X86_64) throw new CorruptInputError(where, `is built for machine 0x${info.machine.toString(16)}, not x86-64: ${what}`);
  if (info.subsystem !== SUBSYSTEM_EFI_APPLICATION) throw new CorruptInputError(where, `is not an EFI application (PE subsystem ${info.subsystem}): ${what}`);
}
