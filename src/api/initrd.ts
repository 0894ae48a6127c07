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
import { DepRecorder, type InitrdMemo, memoKey, readMemo, recordingFs, writeMemo } from '../host/initrd-memo.js';
import { checkOutputPath } from '../host/output-file.js';
import { CPIO_MAX_TIME } from '../bake/cpio/records.js';
import { checkEpoch } from './mkfs.js';
import { unreadable } from '../host/load-source.js';
import { optimizeFromNow } from '../host/jit-tiering.js';

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
export async function findBusybox(given?: string, rec?: DepRecorder): Promise<{ path: string; bytes: Uint8Array; fetched?: boolean }> {
  if (given) {
    rec?.touch(path.resolve(given));
    if (!fs.existsSync(given)) throw new CorruptInputError(given, 'no such file (the busybox to put in the initramfs)');
    return { path: given, bytes: readInput(given) };
  }
  if (process.env.CAKE_IMG_FETCH_TOOLS !== '1') {
    for (const p of HOST_BUSYBOX) {
      rec?.touch(p);
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
    return { path: p, bytes: readInput(p), fetched: true };
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

/**
 * Builds the initrd tree for a request (shared by `initrd` and `bake`). With `rec`, every
 * host path looked at is recorded, and `memoable` says whether those, the request and the
 * rootfs's own busybox (by its bytes) are all it depends on (not when busybox was fetched).
 */
export async function buildInitrd(req: Omit<InitrdApiRequest, 'output'>, rec?: DepRecorder, ownBusybox?: OwnBusybox) {
  optimizeFromNow(); // decoding modules and deflate are per-byte loops (host/jit-tiering.ts)
  const own = ownBusybox !== undefined ? ownBusybox : !req.busybox && req.rootfs ? await staticBusyboxIn(req.rootfs.tree, req.rootfs.content) : null;
  const found = own ? null : await findBusybox(req.busybox, rec);
  const busyboxPath = own ? `the rootfs's ${own.path}` : found!.path;
  let modules: { fs: NodeSourceFs; label: string; version: string } | undefined;
  if (req.kernelModules) {
    const dir = path.resolve(req.kernelModules);
    rec?.touch(dir);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CorruptInputError(req.kernelModules, 'is not a directory (expected lib/modules/<version>)');
    const source = new NodeSourceFs(dir, { xattrs: false });
    modules = { fs: rec ? recordingFs(source, dir, rec) : source, label: req.kernelModules, version: path.basename(dir) };
  }
  const t = { sec: req.sourceDateEpoch ?? 0, nsec: 0 };
  const built = await buildInitrdTree({
    busybox: own ? own.bytes : found!.bytes, busyboxLabel: busyboxPath, modules, names: req.modules,
    rootUuid: req.rootUuid, debug: req.debug ?? false, time: t, xzDecompress: nodeXz(),
  });
  return { ...built, memoable: !found?.fetched };
}

/** The rootfs's own static busybox, or null (undefined: not looked for yet). */
type OwnBusybox = Awaited<ReturnType<typeof staticBusyboxIn>>;

/** What the archive depends on besides host files (those the memo records). */
function requestKey(req: Omit<InitrdApiRequest, 'output'>, level: number, own: OwnBusybox): string {
  return memoKey({
    ownBusybox: own ? sha256Hex(own.bytes) : null,
    version: VERSION, level, busybox: req.busybox ? path.resolve(req.busybox) : null, fetchTools: process.env.CAKE_IMG_FETCH_TOOLS === '1',
    kernelModules: req.kernelModules ? path.resolve(req.kernelModules) : null, modules: req.modules, rootUuid: req.rootUuid,
    debug: req.debug ?? false, time: req.sourceDateEpoch ?? 0,
  });
}

/**
 * The initrd as gzip'd bytes in memory (an initrd is a few MiB). With `cache`, the
 * compressed result is kept under the sha256 of the uncompressed archive (and the level
 * and version): gzip is most of a rebake's time, and any change to busybox, the
 * modules, /init, the UUID or the times changes the archive and so misses the cache. A
 * cached entry is used only if it inflates back to exactly that archive; a cache that
 * cannot be written is a warning. A memo (host/initrd-memo.ts) names the archive of a
 * request whose host files are all as they were, so a rebake need not build it.
 */
export async function initrdBytes(req: Omit<InitrdApiRequest, 'output'>, cache?: string): Promise<{ bytes: Uint8Array; built: Pick<InitrdMemo, 'loadOrder' | 'builtin' | 'notes'>; cached: boolean; warnings: string[] }> {
  const level = req.gzipLevel ?? INITRD_GZIP_LEVEL;
  const entry = (archiveHex: string) => path.join(cache!, `${createHash('sha256').update(`cake-img ${VERSION} initrd gzip ${level}\0${archiveHex}`).digest('hex')}.gz`);
  const warnings: string[] = [];
  // A rebake with nothing changed: the memo names the archive without building it. The
  // rootfs's own busybox is looked for first (it is used instead of the host's, and its
  // bytes are part of the request).
  const ownBusybox = !req.busybox && req.rootfs ? await staticBusyboxIn(req.rootfs.tree, req.rootfs.content) : null;
  const requestId = cache ? requestKey(req, level, ownBusybox) : null;
  if (requestId) {
    const memo = readMemo(cache!, requestId);
    const hit = memo ? readCacheFile(entry(memo.archive)) : null;
    if (memo && hit && sha256Hex(hit) === memo.gz) return { bytes: hit, built: memo, cached: true, warnings };
  }
  const rec = requestId ? new DepRecorder() : undefined;
  const built = await buildInitrd(req, rec, ownBusybox);
  const cpio: Uint8Array[] = [];
  await encodeCpio(built.tree, built.content, (c) => void cpio.push(new Uint8Array(c)));
  const archive = createHash('sha256');
  for (const c of cpio) archive.update(c);
  const archiveHex = archive.digest('hex');
  const made = { loadOrder: built.loadOrder, builtin: built.builtin, notes: built.notes };
  const remember = (gz: Uint8Array) => {
    if (!requestId || !built.memoable) return;
    const w = writeMemo(cache!, requestId, { archive: archiveHex, gz: sha256Hex(gz), ...made }, rec!);
    if (w) warnings.push(w);
  };
  const file = cache ? entry(archiveHex) : null;
  const hit = file ? readCacheFile(file) : null;
  if (hit && inflatesTo(hit, archiveHex)) {
    remember(hit);
    return { bytes: hit, built: made, cached: true, warnings };
  }
  const parts: Uint8Array[] = [];
  const gz = gzipSink((c) => void parts.push(new Uint8Array(c)), level, deflateEngineFor(treeFileBytes(built.tree.root)));
  for (const c of cpio) await gz.sink(c);
  await gz.finish();
  const bytes = new Uint8Array(Buffer.concat(parts));
  if (file) {
    const w = writeCacheFile(file, bytes);
    if (w) warnings.push(w);
    else remember(bytes);
  }
  return { bytes, built: made, cached: false, warnings };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
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
