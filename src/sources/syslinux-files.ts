// The syslinux pieces from files given whole (a browser's picked files, the CLI's
// `--syslinux E.deb,S.deb`): Debian's `extlinux` and `syslinux-common` packages (usr/bin/extlinux,
// whose embedded ldlinux.bss/.sys/.c32 bake/syslinux/extract.ts takes out, and
// usr/lib/syslinux/mbr/mbr.bin and gptmbr.bin), or the pieces themselves (ldlinux.bss,
// ldlinux.sys, ldlinux.c32, mbr.bin, gptmbr.bin, or an extlinux binary), told apart by name and content.
import type { SyslinuxPieces } from '../bake/disk.js';
import { MBR_BOOT_CODE } from '../bake/mbr/mbr.js';
import { checkSyslinuxBlobs, extractFromExtlinux } from '../bake/syslinux/extract.js';
import { type ByteFile, readAll } from '../io/byte-file.js';
import { InvalidOptionError, CorruptInputError } from '../util/errors.js';
import { debData, isDeb } from './deb.js';
import { ByteReader, maybeDecompress } from './decompress.js';
import { asSourceError } from './tar.js';
import { tarEntries } from './tar-entries.js';

/** Where the packages keep the pieces (syslinux-common; extlinux of older releases). */
const IN_PACKAGE: Record<string, string> = {
  'usr/bin/extlinux': 'extlinux',
  'usr/lib/syslinux/mbr/mbr.bin': 'mbr.bin',
  'usr/lib/syslinux/mbr/gptmbr.bin': 'gptmbr.bin',
  'usr/lib/EXTLINUX/mbr.bin': 'mbr.bin',
};

/** The pieces a package holds, by their piece name. */
async function fromPackage(file: ByteFile): Promise<Map<string, { bytes: Uint8Array; where: string }>> {
  const data = await debData(file);
  const reader = new ByteReader(maybeDecompress(data.open(), data.label));
  const found = new Map<string, { bytes: Uint8Array; where: string }>();
  try {
    for await (const e of tarEntries(reader, { label: data.label })) {
      const piece = IN_PACKAGE[e.path.replace(/^\.\//, '')];
      if (e.type !== '0' || !piece || found.has(piece)) continue;
      const b = new Uint8Array(e.dataLength);
      if ((await reader.read(b)) < b.length) throw new CorruptInputError(e.where, 'archive is truncated');
      found.set(piece, { bytes: b, where: e.where });
    }
  } catch (err) {
    throw asSourceError(err, data.label, 'the package');
  } finally {
    await reader.close().catch(() => {});
  }
  return found;
}

const baseName = (label: string) => label.slice(label.lastIndexOf('/') + 1);

export async function syslinuxFromFiles(files: ByteFile[], option = '--syslinux'): Promise<SyslinuxPieces & { source: string }> {
  const pieces = new Map<string, { bytes: Uint8Array; where: string }>();
  for (const f of files) {
    const head = await f.read(0, 8);
    if (isDeb(head)) {
      for (const [k, v] of await fromPackage(f)) if (!pieces.has(k)) pieces.set(k, v);
      continue;
    }
    const name = baseName(f.label);
    const isElf = head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
    const piece = ['ldlinux.bss', 'ldlinux.sys', 'ldlinux.c32', 'mbr.bin', 'gptmbr.bin'].includes(name) ? name : isElf ? 'extlinux' : name;
    pieces.set(piece, { bytes: await readAll(f), where: f.label });
  }
  const mbr = pieces.get('mbr.bin');
  if (!mbr) throw new InvalidOptionError(option, `no mbr.bin among ${files.map((f) => baseName(f.label)).join(', ')} (give Debian's syslinux-common .deb, or mbr.bin)`);
  if (mbr.bytes.length !== MBR_BOOT_CODE) throw new CorruptInputError(mbr.where, `mbr.bin must be exactly ${MBR_BOOT_CODE} bytes, this is ${mbr.bytes.length}`);
  const gpt = pieces.get('gptmbr.bin');
  if (gpt && gpt.bytes.length !== MBR_BOOT_CODE) throw new CorruptInputError(gpt.where, `gptmbr.bin must be exactly ${MBR_BOOT_CODE} bytes, this is ${gpt.bytes.length}`);
  // gptmbr.bin boots a hybrid GPT disk on BIOS; an MBR disk needs only mbr.bin.
  const mbrs = { mbr: mbr.bytes, ...(gpt ? { gptmbr: gpt.bytes } : {}) };
  const ext = pieces.get('extlinux');
  const source = files.map((f) => baseName(f.label)).join(' + ');
  if (ext) {
    const b = extractFromExtlinux(ext.bytes, ext.where);
    return { bootSector: b.bootSector, ldlinuxSys: b.ldlinuxSys, ldlinuxC32: b.ldlinuxC32, ...mbrs, source };
  }
  const [bss, sys, c32] = ['ldlinux.bss', 'ldlinux.sys', 'ldlinux.c32'].map((n) => pieces.get(n));
  if (!bss || !sys || !c32) throw new InvalidOptionError(option, `no extlinux among ${source} (give Debian's extlinux .deb, or ldlinux.bss, ldlinux.sys and ldlinux.c32)`);
  const b = checkSyslinuxBlobs({ bootSector: bss.bytes, ldlinuxSys: sys.bytes, ldlinuxC32: c32.bytes }, { bootSector: bss.where, ldlinuxSys: sys.where, ldlinuxC32: c32.where });
  return { bootSector: b.bootSector, ldlinuxSys: b.ldlinuxSys, ldlinuxC32: b.ldlinuxC32, ...mbrs, source };
}
