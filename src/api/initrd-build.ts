// Building the boot initramfs (shared by `initrd` and `bake`): busybox, the modules'
// closure and /init as a tree, then cpio and gzip. Loaded only when an archive must be made
// (initrd.ts keeps the memo and the cache, which is all a rebake needs).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { buildInitrdTree } from '../bake/initrd/builder.js';
import { isStaticElf, staticBusyboxIn } from '../bake/initrd/busybox.js';
import { encodeCpio } from '../bake/cpio/encoder.js';
import { gzipSink } from '../bake/cpio/gzip.js';
import { treeFileBytes } from '../tree/walk.js';
import { CorruptInputError, InvalidOptionError } from '../util/errors.js';
import { NodeSourceFs } from '../host/node-source-fs.js';
import { deflateEngineFor } from '../host/deflate-pool.js';
import { cacheDir } from '../host/cache.js';
import { debianPackage } from '../host/debian.js';
import { nodeXz } from '../host/host-decoders.js';
import { type DepRecorder, recordingFs } from '../host/initrd-memo.js';
import { unreadable } from '../host/load-source.js';
import { optimizeFromNow } from '../host/jit-tiering.js';
import type { InitrdApiRequest, InitrdApiResult, OwnBusybox } from './initrd-request.js';
import { writeInitramfs } from './initramfs.js';

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

type Built = Awaited<ReturnType<typeof buildInitrd>>;

/** The archive's cpio bytes, in the encoder's pieces, and their sha256 (the cache's key). */
export async function cpioArchive(built: Built): Promise<{ chunks: Uint8Array[]; sha256: string }> {
  const chunks: Uint8Array[] = [];
  await encodeCpio(built.tree, built.content, (c) => void chunks.push(new Uint8Array(c)));
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return { chunks, sha256: h.digest('hex') };
}

/** The cpio pieces gzip'd at `level` (on workers when the tree is large: host/deflate-pool.ts). */
export async function gzipArchive(chunks: Uint8Array[], level: number, built: Built): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const gz = gzipSink((c) => void parts.push(new Uint8Array(c)), level, deflateEngineFor(treeFileBytes(built.tree.root)));
  for (const c of chunks) await gz.sink(c);
  await gz.finish();
  return new Uint8Array(Buffer.concat(parts));
}

/** `cake-img initrd` once its request is checked: build, then write the file. */
export async function writeInitrd(req: InitrdApiRequest, level: number): Promise<InitrdApiResult> {
  const built = await buildInitrd(req);
  const r = await writeInitramfs(built.tree, built.content, req.output, true, level);
  return { loadOrder: built.loadOrder, builtin: built.builtin, notes: built.notes, bytes: r.fileBytes };
}

/** Whether gzip `bytes` inflate to data with sha256 `hex` (a cache entry is checked before use). */
export function inflatesTo(bytes: Uint8Array, hex: string): boolean {
  try {
    return createHash('sha256').update(gunzipSync(bytes)).digest('hex') === hex;
  } catch {
    return false;
  }
}
