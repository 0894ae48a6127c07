// A Debian kernel package (linux-image-*.deb) read in-process, as the browser reads it and
// with the same result the CLI gets from dpkg-deb plus depmod: boot/vmlinuz-<version>, the
// module index files made by bake/initrd/depmod.ts, and the module files a list of wanted
// modules needs, as a SourceFs for the initrd builder. The package's data.tar (400 MiB for
// Debian's 6.1 kernel) is streamed: pass 1 reads every module's ELF (for depmod) and keeps
// the bytes of modules that look needed (wanted by name, or exporting a symbol a kept one
// imports); pass 2, only if the exact closure has a module pass 1 dropped, reads the
// archive again up to the last one missing.
import { MAX_MODULE_BYTES, decompressModule, type InitrdRequest } from '../bake/initrd/builder.js';
import { type DepmodOutput, MODULE_FILE, type ScannedModule, depmod, modnameOf } from '../bake/initrd/depmod.js';
import { readModuleElf } from '../bake/initrd/module-elf.js';
import { canonical, loadModuleIndex, resolveModules } from '../bake/initrd/modules.js';
import type { ByteFile } from '../io/byte-file.js';
import { MemorySourceFs } from '../io/memory-source-fs.js';
import { CorruptInputError } from '../util/errors.js';
import { debData } from './deb.js';
import { ByteReader, maybeDecompress } from './decompress.js';
import { asSourceError } from './tar.js';
import { tarEntries } from './tar-entries.js';

export interface KernelDeb {
  version: string;
  /** boot/vmlinuz-<version>. */
  image: Uint8Array;
  /** lib/modules/<version>: index files and the modules `wanted` needs. */
  modules: MemorySourceFs;
  depmod: DepmodOutput;
  /** Load order of `wanted`'s closure (paths under lib/modules/<version>). */
  load: string[];
}

export interface KernelDebOptions {
  xz?: InitrdRequest['xzDecompress'];
  /** Bytes of data.tar read so far, and which pass. */
  onProgress?: (pass: 1 | 2, bytes: number) => void;
}

/** Files of lib/modules/<version> besides the modules that the CLI's unpacked tree has too. */
const INDEX_FILES = ['modules.order', 'modules.builtin', 'modules.builtin.modinfo'];

interface Scan {
  versions: Set<string>;
  images: Map<string, Uint8Array>;
  texts: Map<string, Uint8Array>;
  modules: ScannedModule[];
  kept: Map<string, Uint8Array>;
}

/** `./lib/modules/6.1.0/kernel/x.ko` → ['6.1.0', 'kernel/x.ko']; null outside lib/modules. */
function underModules(path: string): [string, string] | null {
  const m = /^(?:\.\/)?(?:usr\/)?lib\/modules\/([^/]+)\/(.+)$/.exec(path);
  return m ? [m[1]!, m[2]!] : null;
}

/**
 * One pass over data.tar; `each` sees every regular file and may read its bytes: `read`
 * gives a copy of its own, `peek` a view valid only until `each` returns (most modules are
 * parsed and dropped: copying and collecting 400 MB of them cost more than the parse).
 * Returning false stops.
 */
async function eachFile(data: TarInput, opts: KernelDebOptions, pass: 1 | 2, each: (path: string, read: () => Promise<Uint8Array>, peek: () => Promise<Uint8Array>) => Promise<boolean | void>): Promise<void> {
  const reader = new ByteReader(data.decompressed?.() ?? maybeDecompress(data.open(), data.label));
  let shown = 0;
  try {
    for await (const e of tarEntries(reader, { label: data.label })) {
      if (reader.offset - shown >= 4 << 20) opts.onProgress?.(pass, (shown = reader.offset));
      if (e.type !== '0') continue;
      const peek = async () => {
        if (e.runs) throw new CorruptInputError(e.where, 'a sparse file in a kernel package');
        // The size is the archive's word: no kernel, module or index file comes near this.
        if (e.dataLength > MAX_MODULE_BYTES) throw new CorruptInputError(e.where, `a file of ${e.dataLength} bytes in a kernel package (at most ${MAX_MODULE_BYTES})`);
        const b = await reader.readTransient(e.dataLength);
        if (b.length < e.dataLength) throw new CorruptInputError(e.where, 'archive is truncated');
        return b;
      };
      if ((await each(e.path, async () => (await peek()).slice(), peek)) === false) return;
    }
  } catch (err) {
    throw asSourceError(err, data.label, 'the kernel package');
  } finally {
    await reader.close().catch(() => {});
  }
}

async function scan(file: TarInput, wanted: string[], opts: KernelDebOptions): Promise<Scan> {
  const s: Scan = { versions: new Set(), images: new Map(), texts: new Map(), modules: [], kept: new Map() };
  const keepNames = new Set(wanted.map(canonical));
  const needSyms = new Set<string>();
  await eachFile(file, opts, 1, async (path, read, peek) => {
    const image = /^(?:\.\/)?boot\/vmlinuz-(.+)$/.exec(path);
    if (image) return void s.images.set(image[1]!, await read());
    const under = underModules(path);
    if (!under) return;
    const [version, rel] = under;
    s.versions.add(version);
    if (INDEX_FILES.includes(rel)) return void s.texts.set(`${version}/${rel}`, await read());
    if (!MODULE_FILE.test(rel) || rel.split('/').some((p) => p === 'build' || p === 'source')) return;
    const raw = await peek();
    const elf = readModuleElf(await decompressModule(rel, raw, opts.xz), `${file.label}: ${path}`);
    s.modules.push({ path: `${version}/${rel}`, elf });
    if (keepNames.has(modnameOf(rel)) || elf.exports.some((x) => needSyms.has(x))) {
      s.kept.set(`${version}/${rel}`, raw.slice());
      for (const x of elf.imports) needSyms.add(x);
      for (const [k, v] of elf.modinfo) if (k === 'softdep') for (const t of v.split(/\s+/)) if (!t.endsWith(':') && t) keepNames.add(canonical(t));
    }
  });
  return s;
}

/** The version whose modules are present, with its image (the newest such, as the CLI's fromDirectory picks). */
function pickVersion(s: Scan, label: string): string {
  const images = [...s.images.keys()].sort();
  if (!images.length) throw new CorruptInputError(label, 'has no boot/vmlinuz-* (expected a linux-image .deb)');
  return [...images].reverse().find((v) => s.versions.has(v)) ?? images[images.length - 1]!;
}

function mkdirs(fs: MemorySourceFs, path: string): void {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const d = parts.slice(0, i).join('/');
    try {
      fs.lstat(d);
    } catch {
      fs.addDir(d);
    }
  }
}

/** A tar stream (plain or compressed) and its name. */
export interface TarInput {
  label: string;
  open: () => AsyncIterable<Uint8Array>;
  /** The tar already decompressed, when the caller can do it better (the browser: xz blocks on two workers). */
  decompressed?: () => AsyncIterable<Uint8Array> | null;
}

export async function readKernelDeb(file: ByteFile, wanted: string[], opts: KernelDebOptions = {}): Promise<KernelDeb> {
  return readKernelArchive(await debData(file), wanted, opts);
}

/**
 * A kernel from a tar holding boot/vmlinuz-<version> and lib/modules/<version> (a kernel
 * package's data.tar); or, with `image`, a bzImage given apart and a tar of its modules.
 */
export async function readKernelArchive(file: TarInput, wanted: string[], opts: KernelDebOptions = {}, image?: Uint8Array): Promise<KernelDeb> {
  const s = await scan(file, wanted, opts);
  if (image) {
    const versions = [...s.versions];
    if (versions.length !== 1) throw new CorruptInputError(file.label, `expected one lib/modules/<version>, found ${versions.join(', ') || 'none'}`);
    s.images.set(versions[0]!, image);
  }
  const version = pickVersion(s, file.label);
  const prefix = `${version}/`;
  const mine = s.modules.filter((m) => m.path.startsWith(prefix)).map((m) => ({ ...m, path: m.path.slice(prefix.length) }));
  const orderBytes = s.texts.get(`${version}/modules.order`);
  const out = depmod(mine, orderBytes && new TextDecoder().decode(orderBytes));
  const fs = new MemorySourceFs();
  const enc = new TextEncoder();
  for (const [name, text] of Object.entries(out)) fs.addFile(name, enc.encode(text));
  for (const name of INDEX_FILES) {
    const b = s.texts.get(`${version}/${name}`);
    if (b) fs.addFile(name, b);
  }
  let load: string[] = [];
  if (wanted.length && mine.length) {
    load = resolveModules(await loadModuleIndex(fs, `${file.label}: lib/modules/${version}`), wanted).load;
    const missing = new Set(load.filter((p) => !s.kept.has(prefix + p)).map((p) => prefix + p));
    if (missing.size) {
      await eachFile(file, opts, 2, async (path, read) => {
        const under = underModules(path);
        const key = under && `${under[0]}/${under[1]}`;
        if (key && missing.has(key)) {
          s.kept.set(key, await read());
          missing.delete(key);
        }
        return missing.size > 0;
      });
    }
    for (const p of load) {
      mkdirs(fs, p);
      fs.addFile(p, s.kept.get(prefix + p)!);
    }
  }
  return { version, image: s.images.get(version)!, modules: fs, depmod: out, load };
}
