// What we need to know about a busybox binary without running it: that it is a static
// ELF (the initramfs has no C library) and which applets it has (its applet-name table is
// a run of NUL-separated names; every applet appears there as "\0name\0").
import { CorruptInputError } from '../../util/errors.js';

export function isStaticElf(bin: Uint8Array, where: string): boolean {
  if (bin.length < 64 || bin[0] !== 0x7f || bin[1] !== 0x45 || bin[2] !== 0x4c || bin[3] !== 0x46) {
    throw new CorruptInputError(where, 'is not an ELF executable');
  }
  const is64 = bin[4] === 2;
  const le = bin[5] === 1;
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.length);
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const phoff = is64 ? Number(dv.getBigUint64(0x20, le)) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  if (phoff + phnum * phentsize > bin.length) throw new CorruptInputError(where, 'ELF program headers run past the end of the file');
  for (let i = 0; i < phnum; i++) if (u32(phoff + i * phentsize) === 3) return false; // PT_INTERP: needs a dynamic loader
  return true;
}

/** Applets of `needed` that the binary does not have. */
export function missingApplets(bin: Uint8Array, needed: readonly string[]): string[] {
  const text = Buffer.from(bin.buffer, bin.byteOffset, bin.length).toString('latin1');
  return needed.filter((a) => !text.includes(`\0${a}\0`));
}
