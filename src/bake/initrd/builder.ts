// Assembles the boot initramfs tree: a static busybox with the applet links /init uses,
// /dev (with a console node, so the kernel can open it before devtmpfs), /proc, /sys,
// /mnt, the modules (decompressed: busybox insmod cannot read compressed ones) and /init.
import { Decompress as ZstdDecompress } from 'fzstd';
import pako from 'pako';
import { BytesContent } from '../../io/content-source.js';
import type { SourceFs } from '../../io/source-fs.js';
import { textToByteString } from '../../tree/names.js';
import { type DirNode, type FsTree, type Timestamp, newDir } from '../../tree/node.js';
import { CorruptInputError, InvalidOptionError } from '../../util/errors.js';
import { INIT_APPLETS, initScript } from './init-script.js';
import { isStaticElf, missingApplets } from './busybox.js';
import { loadModuleIndex, resolveModules } from './modules.js';
import { readWhole } from './read-file.js';
import { xzUncompressedSize } from './xz-size.js';

export interface InitrdRequest {
  busybox: Uint8Array;
  busyboxLabel: string;
  /** lib/modules/<version> as a SourceFs, and its version (the directory name). */
  modules?: { fs: SourceFs; label: string; version: string };
  names: string[];
  rootUuid: string;
  debug: boolean;
  time: Timestamp;
  /** xz is native-only; the Node layer passes a decoder. */
  xzDecompress?: (b: Uint8Array, limit: number) => Uint8Array | Promise<Uint8Array>;
}

export interface InitrdTree {
  tree: FsTree;
  content: BytesContent;
  loadOrder: string[];
  builtin: string[];
  notes: string[];
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** No kernel module comes near this decompressed; a bigger one is a decompression bomb. */
export const MAX_MODULE_BYTES = 256 << 20;

/** Collects a streaming decoder's output, refusing more than MAX_MODULE_BYTES. */
function capped(): { push(chunk: Uint8Array): void; bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  let n = 0;
  return {
    push(chunk) {
      n += chunk.length;
      if (n > MAX_MODULE_BYTES) throw new Error(`decompresses to more than ${MAX_MODULE_BYTES >> 20} MiB`);
      parts.push(chunk);
    },
    bytes() {
      const out = new Uint8Array(n);
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    },
  };
}

/** A module's bytes as busybox insmod (and depmod) reads them: .ko.gz, .ko.zst and .ko.xz decompressed, at most MAX_MODULE_BYTES. */
export async function decompressModule(path: string, data: Uint8Array, xz: InitrdRequest['xzDecompress']): Promise<Uint8Array> {
  try {
    if (path.endsWith('.gz')) {
      const out = capped();
      const inflator = new pako.Inflate();
      inflator.onData = (c: Uint8Array) => out.push(c);
      inflator.push(data, true);
      if (inflator.err) throw new Error(inflator.msg || `zlib error ${inflator.err}`);
      return out.bytes();
    }
    if (path.endsWith('.zst')) {
      const out = capped();
      const z = new ZstdDecompress((c) => out.push(c));
      z.push(data, true);
      return out.bytes();
    }
    if (path.endsWith('.xz')) {
      if (!xz) throw new Error('no xz decoder available');
      const declared = xzUncompressedSize(data);
      if (declared === null) throw new Error('not a valid .xz file (its index cannot be read)');
      if (declared > MAX_MODULE_BYTES) throw new Error(`declares ${declared} bytes, more than ${MAX_MODULE_BYTES >> 20} MiB`);
      const bytes = await xz(data, MAX_MODULE_BYTES);
      if (bytes.length > MAX_MODULE_BYTES) throw new Error(`decompresses to more than ${MAX_MODULE_BYTES >> 20} MiB`);
      return bytes;
    }
  } catch (e) {
    throw new CorruptInputError(path, `cannot decompress module: ${(e as Error).message}`);
  }
  return data;
}

export async function buildInitrdTree(r: InitrdRequest): Promise<InitrdTree> {
  if (!UUID.test(r.rootUuid)) throw new InvalidOptionError('--root-uuid', `not a UUID: ${JSON.stringify(r.rootUuid)}`);
  if (!isStaticElf(r.busybox, r.busyboxLabel)) {
    throw new CorruptInputError(r.busyboxLabel, 'is dynamically linked; the initramfs has no libraries: use a static busybox (Debian/Ubuntu: busybox-static)');
  }
  const missing = missingApplets(r.busybox, INIT_APPLETS);
  if (missing.length) throw new CorruptInputError(r.busyboxLabel, `lacks the applets /init needs: ${missing.join(', ')}`);

  const t = r.time;
  const content = new BytesContent();
  const dir = (parent: DirNode, name: string): DirNode => {
    const d = newDir(0o755, 0, 0, t);
    parent.entries.set(name, d);
    return d;
  };
  const file = (parent: DirNode, name: string, data: Uint8Array, perm: number) => {
    parent.entries.set(name, { kind: 'file', perm, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size: data.length, content: data.length ? content.add(data) : null });
  };
  const root = newDir(0o755, 0, 0, t);
  const bin = dir(root, 'bin');
  file(bin, 'busybox', r.busybox, 0o755);
  for (const a of INIT_APPLETS) bin.entries.set(a, { kind: 'symlink', perm: 0o777, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], target: 'busybox' });
  const dev = dir(root, 'dev');
  dev.entries.set('console', { kind: 'chardev', perm: 0o600, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], major: 5, minor: 1 });
  for (const d of ['proc', 'sys', 'mnt']) dir(root, d);

  let plan = { load: [] as string[], builtin: [] as string[], notes: [] as string[] };
  const inInitrd: string[] = [];
  if (r.names.length) {
    if (!r.modules) throw new InvalidOptionError('--kernel-modules', 'is needed to load --modules');
    const idx = await loadModuleIndex(r.modules.fs, r.modules.label);
    plan = resolveModules(idx, r.names);
    const libDir = dir(dir(dir(root, 'lib'), 'modules'), textToByteString(r.modules.version));
    for (const rel of plan.load) {
      const data = await decompressModule(rel, await readWhole(r.modules.fs, rel, r.modules.label), r.xzDecompress);
      const parts = rel.replace(/\.(xz|zst|gz)$/, '').split('/');
      let d = libDir;
      for (const p of parts.slice(0, -1)) d = (d.entries.get(p) as DirNode | undefined) ?? dir(d, p);
      file(d, parts[parts.length - 1]!, data, 0o644);
      inInitrd.push(`/lib/modules/${r.modules.version}/${parts.join('/')}`);
    }
  }
  const init = new TextEncoder().encode(initScript({ rootUuid: r.rootUuid.toLowerCase(), modules: inInitrd, debug: r.debug }));
  file(root, 'init', init, 0o755);
  return { tree: { root }, content, loadOrder: plan.load, builtin: plan.builtin, notes: plan.notes };
}
