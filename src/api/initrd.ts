// `cake-img initrd`: the boot initramfs (busybox, modules, /init) for a root found by UUID.
// This module is what a rebake loads: the memo and the cache of finished archives. The
// builder (modules, busybox, cpio, deflate) is initrd-build.ts, loaded on a miss.
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { INITRD_GZIP_LEVEL } from '../bake/initrd/gzip-level.js';
import { staticBusyboxIn } from '../bake/initrd/busybox.js';
import { CPIO_MAX_TIME } from '../bake/cpio/records.js';
import type { InitrdApiRequest, InitrdApiResult, OwnBusybox } from './initrd-request.js';
import { readCacheFile, writeCacheFile } from '../host/cache-file.js';
import { DepRecorder, type InitrdMemo, memoKey, readMemo, writeMemo } from '../host/initrd-memo.js';
import { checkOutputPath } from '../host/output-file.js';
import { VERSION } from '../version.js';
import { checkEpoch } from './mkfs.js';

export type { InitrdApiRequest, InitrdApiResult };

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
  // A miss: the builder and its compressors load only now (a rebake never needs them).
  const { buildInitrd, cpioArchive, gzipArchive, inflatesTo } = await import('./initrd-build.js');
  const rec = requestId ? new DepRecorder() : undefined;
  const built = await buildInitrd(req, rec, ownBusybox);
  const { chunks: cpio, sha256: archiveHex } = await cpioArchive(built);
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
  const bytes = await gzipArchive(cpio, level, built);
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

export async function initrd(req: InitrdApiRequest): Promise<InitrdApiResult> {
  checkEpoch(req.sourceDateEpoch, CPIO_MAX_TIME, 'cpio newc', '2106-02-07');
  checkOutputPath(req.output, { option: '-o' });
  const { writeInitrd } = await import('./initrd-build.js');
  return writeInitrd(req, req.gzipLevel ?? INITRD_GZIP_LEVEL);
}
