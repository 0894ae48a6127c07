// A file that passes for a kernel for bakes that are never booted: a bzImage ("HdrS" at
// 0x202) that is also a PE32+ EFI application (MZ, e_lfanew, the PE header), as a real
// x86-64 kernel with an EFI stub is, so every firmware's checks accept it. Bake only
// copies the kernel, so tests of its checks need no real one.
import * as fs from 'node:fs';

export function fakeKernel(file: string): string {
  const b = Buffer.alloc(4096, 0x90);
  b.writeUInt16LE(0x5a4d, 0); // MZ
  b.writeUInt32LE(0x40, 0x3c); // e_lfanew
  b.writeUInt32LE(0x00004550, 0x40); // PE\0\0
  b.writeUInt16LE(0x8664, 0x44); // Machine: x86-64
  b.writeUInt16LE(0xf0, 0x40 + 0x14); // SizeOfOptionalHeader
  b.writeUInt16LE(0x20b, 0x58); // PE32+
  b.writeUInt16LE(10, 0x58 + 0x44); // Subsystem: EFI application
  b.write('HdrS', 0x202, 'latin1');
  fs.writeFileSync(file, b, { mode: 0o644 });
  return file;
}
