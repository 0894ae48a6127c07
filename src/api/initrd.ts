// `cake-img initrd`: the boot initramfs (busybox, modules, /init) for a root found by UUID.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildInitrdTree } from '../bake/initrd/builder.js';
import { NodeSourceFs } from '../host/node-source-fs.js';
import { CorruptInputError, InvalidOptionError } from '../util/errors.js';
import { writeInitramfs } from './initramfs.js';
import { createHash } from 'node:crypto';
import { encodeCpio } from '../bake/cpio/encoder.js';
import { INITRD_GZIP_LEVEL } from '../bake/initrd/archive.js';
import { VERSION } from '../version.js';
import { gzipSink } from '../bake/cpio/gzip.js';
import { deflateEngineFor } from '../host/deflate-pool.js';
import { treeFileBytes } from '../tree/walk.js';
import { isStaticElf, staticBusyboxIn } from '../bake/initrd/busybox.js';
import type { LoadedTree } from '../sources/directory.js';
import { cacheDir } from '../host/cache.js';
import { debianPackage } from '../host/debian.js';
import { nodeXz } from '../host/host-decoders.js';
import { gunzipSync } from 'node:zlib';
import { readCacheFile, writeCacheFile } from '../host/cache-file.js';
import { checkOutputPath } from '../host/output-file.js';
import { CPIO_MAX_TIME } from '../bake/cpio/records.js';
import { checkEpoch } from './mkfs.js';
import { unreadable } from '../host/load-source.js';

export interface InitrdApiRequest {
  busybox?: string;
  /** bake: the rootfs, whose own static busybox the initramfs takes when --busybox is not given. */
  rootfs?: LoadedTree;
  kernelModules?: string;
  modules: string[];
  rootUuid: string;
  debug?: boolean;
  output: string;
  gzipLevel?: number;
  sourceDateEpoch?: number;
}

export interface InitrdApiResult {
  loadOrder: string[];
  builtin: string[];
  notes: string[];
  bytes: number;
}

/** Where a static busybox usually is on Debian-family hosts (busybox-static). */
export const HOST_BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'];

/**
 * The busybox for the initramfs, path and bytes (read once): the one given; else the
 * host's if it is static (Debian's `busybox` package is dynamic, `busybox-static` is not);
 * else busybox-static fetched rootless from the package sources into the cache.
 */
export async function findBusybox(given?: string): Promise<{ path: string; bytes: Uint8Array }> {
  if (given) {
    if (!fs.existsSync(given)) throw new CorruptInputError(given, 'no such file (the busybox to put in the initramfs)');
    return { path: given, bytes: readInput(given) };
  }
  if (process.env.CAKE_IMG_FETCH_TOOLS !== '1') {
    for (const p of HOST_BUSYBOX) {
      try {
        const bytes = new Uint8Array(fs.readFileSync(p));
        if (isStaticElf(bytes, p)) return { path: p, bytes };
      } catch {
        /* missing, unreadable or not an ELF: the next place */
      }
    }
  }
  try {
    const root = await debianPackage('busybox-static', cacheDir('debian'));
    const p = path.join(root, 'bin/busybox');
    return { path: p, bytes: readInput(p) };
  } catch (e) {
    throw new InvalidOptionError('--busybox', `no static busybox on this host and fetching busybox-static failed (${(e as Error).message}): pass --busybox FILE, or install busybox-static`);
  }
}

function readInput(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw unreadable(file, e, 'it');
  }
}

/** Builds the initrd tree for a request (shared by `initrd` and `bake`). */
export async function buildInitrd(req: Omit<InitrdApiRequest, 'output'>) {
  const own = !req.busybox && req.rootfs ? await staticBusyboxIn(req.rootfs.tree, req.rootfs.content) : null;
  const found = own ? null : await findBusybox(req.busybox);
  const busyboxPath = own ? `the rootfs's ${own.path}` : found!.path;
  let modules: { fs: NodeSourceFs; label: string; version: string } | undefined;
  if (req.kernelModules) {
    const dir = path.resolve(req.kernelModules);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CorruptInputError(req.kernelModules, 'is not a directory (expected lib/modules/<version>)');
    modules = { fs: new NodeSourceFs(dir, { xattrs: false }), label: req.kernelModules, version: path.basename(dir) };
  }
  const t = { sec: req.sourceDateEpoch ?? 0, nsec: 0 };
  return buildInitrdTree({
    busybox: own ? own.bytes : found!.bytes, busyboxLabel: busyboxPath, modules, names: req.modules,
    rootUuid: req.rootUuid, debug: req.debug ?? false, time: t, xzDecompress: nodeXz(),
  });
}

/**
 * The initrd as gzip'd bytes in memory (an initrd is a few MiB). With `cache`, the
 * compressed result is kept under the sha256 of the uncompressed archive (and the level
 * and version): gzip is most of a rebake's time, and any change to busybox, the
 * modules, /init, the UUID or the times changes the archive and so misses the cache. A
 * cached entry is used only if it inflates back to exactly that archive; a cache that
 * cannot be written is a warning.
 */
export async function initrdBytes(req: Omit<InitrdApiRequest, 'output'>, cache?: string) {
  const built = await buildInitrd(req);
  const level = req.gzipLevel ?? INITRD_GZIP_LEVEL;
  const cpio: Uint8Array[] = [];
  await encodeCpio(built.tree, built.content, (c) => void cpio.push(new Uint8Array(c)));
  const archive = createHash('sha256');
  for (const c of cpio) archive.update(c);
  const archiveHex = archive.digest('hex');
  const key = createHash('sha256').update(`cake-img ${VERSION} initrd gzip ${level}\0${archiveHex}`).digest('hex');
  const file = cache ? path.join(cache, `${key}.gz`) : null;
  const warnings: string[] = [];
  const hit = file ? readCacheFile(file) : null;
  if (hit && inflatesTo(hit, archiveHex)) return { bytes: hit, built, cached: true, warnings };
  const parts: Uint8Array[] = [];
  const gz = gzipSink((c) => void parts.push(new Uint8Array(c)), level, deflateEngineFor(treeFileBytes(built.tree.root)));
  for (const c of cpio) await gz.sink(c);
  await gz.finish();
  const bytes = new Uint8Array(Buffer.concat(parts));
  if (file) {
    const w = writeCacheFile(file, bytes);
    if (w) warnings.push(w);
  }
  return { bytes, built, cached: false, warnings };
}

/** Whether gzip `bytes` inflate to data with sha256 `hex` (a cache entry is checked before use). */
function inflatesTo(bytes: Uint8Array, hex: string): boolean {
  try {
    return createHash('sha256').update(gunzipSync(bytes)).digest('hex') === hex;
  } catch {
    return false;
  }
}

export async function initrd(req: InitrdApiRequest): Promise<InitrdApiResult> {
  checkEpoch(req.sourceDateEpoch, CPIO_MAX_TIME, 'cpio newc', '2106-02-07');
  checkOutputPath(req.output, { option: '-o' });
  const built = await buildInitrd(req);
  const r = await writeInitramfs(built.tree, built.content, req.output, true, req.gzipLevel ?? INITRD_GZIP_LEVEL);
  return { loadOrder: built.loadOrder, builtin: built.builtin, notes: built.notes, bytes: r.fileBytes };
}
