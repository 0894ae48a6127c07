// Where the syslinux pieces come from: `--syslinux PATH`, else the host's extlinux, else
// Debian's `extlinux` + `syslinux-common` fetched rootless (apt-get download, dpkg-deb -x)
// into the cache. ldlinux.bss/ldlinux.sys are only shipped inside the extlinux binary, so
// they are extracted from it (src/bake/syslinux/extract.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkSyslinuxBlobs, extractFromExtlinux } from '../bake/syslinux/extract.js';
import { CakeError, CorruptInputError, InvalidOptionError } from '../util/errors.js';

export interface SyslinuxFound {
  /** ldlinux.bss, 512 bytes. */
  bootSector: Uint8Array;
  /** ldlinux.sys image, a multiple of 512 bytes. */
  ldlinuxSys: Uint8Array;
  ldlinuxC32: Uint8Array;
  /** mbr.bin, exactly 440 bytes. */
  mbr: Uint8Array;
  /** gptmbr.bin (440 bytes) from beside mbr.bin: the protective MBR's boot code on a hybrid GPT disk. */
  gptmbr?: Uint8Array;
  /** Where the pieces came from (for messages). */
  source: string;
}

export interface FindSyslinuxOptions {
  /** `--syslinux PATH`: Debian's extlinux and syslinux-common .debs (comma-separated), a
   *  directory with ldlinux.bss, ldlinux.sys, ldlinux.c32 and mbr.bin, or an
   *  extlinux/syslinux binary (mbr.bin then from beside it or the host). */
  path?: string;
  /** cake-img's cache directory; Debian packages are unpacked under `syslinux/` in it. */
  cacheDir: string;
  /** Skip the host's /usr/bin/extlinux (tests of the Debian fallback). Default true. */
  host?: boolean;
}

/** Nothing usable was found; says what to install. */
export class SyslinuxNotFoundError extends CakeError {
  constructor(tried: string[]) {
    super('ENOSYSLINUX', 'tool',
      `no syslinux found (${tried.join('; ')}): install extlinux and syslinux-common (apt-get install extlinux syslinux-common) or pass --syslinux DIR`,
      { tried });
  }
}

export const MBR_BIN_SIZE = 440;
export const HOST_EXTLINUX = '/usr/bin/extlinux';
export const HOST_MBR = ['/usr/lib/syslinux/mbr/mbr.bin', '/usr/lib/EXTLINUX/mbr.bin', '/usr/lib/SYSLINUX/mbr.bin'];
export const DEBIAN_PACKAGES = ['extlinux', 'syslinux-common'] as const;
const DIR_PIECES = ['ldlinux.bss', 'ldlinux.sys', 'ldlinux.c32', 'mbr.bin'] as const;


function read(p: string): Uint8Array {
  const b = fs.readFileSync(p);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function readMbr(p: string): Uint8Array {
  const b = read(p);
  if (b.length !== MBR_BIN_SIZE) throw new CorruptInputError(p, `${path.basename(p)} must be exactly ${MBR_BIN_SIZE} bytes, this is ${b.length}`);
  return b;
}

/** mbr.bin and, when it is there (syslinux-common ships both in one directory), gptmbr.bin. */
function readMbrs(mbrPath: string): { mbr: Uint8Array; gptmbr?: Uint8Array } {
  const gpt = path.join(path.dirname(mbrPath), 'gptmbr.bin');
  return { mbr: readMbr(mbrPath), ...(isFile(gpt) ? { gptmbr: readMbr(gpt) } : {}) };
}

const isFile = (p: string) => { try { return fs.statSync(p).isFile(); } catch { return false; } };

/** mbr.bin beside a binary: in its directory, or in the package layout around usr/bin. */
function mbrNear(binary: string): string | undefined {
  const dir = path.dirname(binary);
  const near = [
    path.join(dir, 'mbr.bin'),
    path.join(dir, '../lib/syslinux/mbr/mbr.bin'),
    path.join(dir, '../lib/EXTLINUX/mbr.bin'),
    path.join(dir, '../lib/SYSLINUX/mbr.bin'),
  ];
  return near.find(isFile);
}

function fromBinary(binary: string, mbrPath: string | undefined, source: string): SyslinuxFound {
  const blobs = extractFromExtlinux(read(binary), binary);
  if (!mbrPath) throw new InvalidOptionError('--syslinux', `no mbr.bin beside ${binary} nor in ${HOST_MBR.join(', ')}: put mbr.bin (from syslinux-common) next to it`);
  return { bootSector: blobs.bootSector, ldlinuxSys: blobs.ldlinuxSys, ldlinuxC32: blobs.ldlinuxC32, ...readMbrs(mbrPath), source };
}

function fromDirectory(dir: string): SyslinuxFound {
  const missing = DIR_PIECES.filter((f) => !isFile(path.join(dir, f)));
  if (missing.length) {
    throw new InvalidOptionError('--syslinux', `${dir} lacks ${missing.join(', ')} (needs ${DIR_PIECES.join(', ')}; or pass an extlinux binary)`);
  }
  const p = (f: string) => path.join(dir, f);
  const blobs = checkSyslinuxBlobs(
    { bootSector: read(p('ldlinux.bss')), ldlinuxSys: read(p('ldlinux.sys')), ldlinuxC32: read(p('ldlinux.c32')) },
    { bootSector: p('ldlinux.bss'), ldlinuxSys: p('ldlinux.sys'), ldlinuxC32: p('ldlinux.c32') },
  );
  return { bootSector: blobs.bootSector, ldlinuxSys: blobs.ldlinuxSys, ldlinuxC32: blobs.ldlinuxC32, ...readMbrs(p('mbr.bin')), source: dir };
}

async function fromDebian(cacheDir: string): Promise<SyslinuxFound> {
  const cache = path.join(cacheDir, 'syslinux');
  const { debianPackage, unpackedFrom } = await import('./debian.js');
  const [ext, common] = [await debianPackage('extlinux', cache), await debianPackage('syslinux-common', cache)];
  const binary = path.join(ext, 'usr/bin/extlinux');
  if (!isFile(binary)) throw new CorruptInputError(ext, 'the extlinux package has no usr/bin/extlinux');
  const mbr = [path.join(common, 'usr/lib/syslinux/mbr/mbr.bin'), path.join(ext, 'usr/lib/EXTLINUX/mbr.bin')].find(isFile);
  const version = unpackedFrom(ext);
  return fromBinary(binary, mbr, `Debian package ${version} (${cache})`);
}

const oneLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

export async function findSyslinux(opts: FindSyslinuxOptions): Promise<SyslinuxFound> {
  // `--syslinux E.deb,S.deb` (Debian's extlinux and syslinux-common), read as the browser reads them.
  if (opts.path !== undefined && (opts.path.includes(',') || opts.path.endsWith('.deb'))) {
    const files = opts.path.split(',').map((p) => p.trim()).filter(Boolean);
    for (const f of files) if (!isFile(f)) throw new InvalidOptionError('--syslinux', `${f}: no such file`);
    // The package readers load only for this (a host's extlinux needs none of them).
    const [{ registerHostDecoders }, { hostByteFile }, { syslinuxFromFiles }] = await Promise.all([
      import('./host-decoders.js'), import('./archive-file.js'), import('../sources/syslinux-files.js'),
    ]);
    registerHostDecoders(); // the packages' data.tar.xz
    return syslinuxFromFiles(files.map(hostByteFile));
  }
  if (opts.path !== undefined) {
    const given = path.resolve(opts.path);
    let st: fs.Stats;
    try {
      st = fs.statSync(given);
    } catch {
      throw new InvalidOptionError('--syslinux', `${opts.path}: no such file or directory`);
    }
    if (st.isDirectory()) return fromDirectory(given);
    return fromBinary(given, mbrNear(given) ?? HOST_MBR.find(isFile), given);
  }

  const tried: string[] = [];
  if (opts.host !== false) {
    if (isFile(HOST_EXTLINUX)) {
      const mbr = HOST_MBR.find(isFile);
      if (mbr) {
        try {
          return fromBinary(HOST_EXTLINUX, mbr, `${HOST_EXTLINUX} + ${mbr}`);
        } catch (e) {
          tried.push(oneLine(e));
        }
      } else {
        tried.push(`${HOST_EXTLINUX} but no mbr.bin in ${HOST_MBR.join(', ')}`);
      }
    } else {
      tried.push(`no ${HOST_EXTLINUX}`);
    }
  }
  try {
    return await fromDebian(opts.cacheDir);
  } catch (e) {
    tried.push(`Debian packages ${DEBIAN_PACKAGES.join(', ')}: ${oneLine(e)}`);
  }
  throw new SyslinuxNotFoundError(tried);
}
