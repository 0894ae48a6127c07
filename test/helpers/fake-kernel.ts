// A file that passes for a bzImage ("HdrS" at 0x202) for bakes that are never booted:
// bake only copies the kernel into /boot, so tests of its checks need no real one.
import * as fs from 'node:fs';

export function fakeKernel(file: string): string {
  const b = Buffer.alloc(4096, 0x90);
  b.write('HdrS', 0x202, 'latin1');
  fs.writeFileSync(file, b, { mode: 0o644 });
  return file;
}
