// Baked disks in the registry cache: an OCI artifact tagged `bake-<input key>`
// (artifactType application/vnd.cake-img.disk.v1, the empty config, the image as one
// gzip layer from the pinned compressor), with the image's sha256, size and the bake's
// inputs in annotations. A pull streams the layer, checks it against its digest, inflates
// it into the output's temporary file (zero blocks left as holes) and checks the image
// against the sha256 the entry names before it is renamed into place.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createGunzip } from 'node:zlib';
import { ANNOTATION, BlobDir, EMPTY_CONFIG, MEDIA, bakeTag } from '../cook/oci-image.js';
import { newBuildDir } from '../cook/store.js';
import { canonicalJson, canonicalJsonBytes } from '../util/canonical-json.js';
import { CorruptInputError } from '../util/errors.js';
import { removeTree } from '../util/remove-tree.js';
import { VERSION } from '../version.js';
import { gzipCompressor } from './layer-compress.js';
import { removeOnExit } from './lifecycle.js';
import { writeOutput } from './output-file.js';
import type { RemoteCache } from './remote-cache.js';
import { numberFrom, shown } from '../util/untrusted.js';

const SHA = /^sha256:[0-9a-f]{64}$/;
const BLOCK = 1 << 16;
const ZERO = Buffer.alloc(BLOCK);

/** Pushes the image `file` (sha256 known) as `bake-<key>`. */
export async function pushBaked(cache: RemoteCache, store: string, file: string, key: string, sha256: string, inputs: Record<string, unknown>, name: string, log?: (l: string) => void): Promise<void> {
  const work = newBuildDir(store, `push-${name}`);
  const forget = removeOnExit(work);
  try {
    const blobs = new BlobDir(work);
    const { descriptor: layer } = await blobs.putStream(MEDIA.diskLayer, gzipCompressor(), async (sink) => {
      for await (const c of fs.createReadStream(file, { highWaterMark: 1 << 20 })) await sink(c as Buffer);
    });
    const config = blobs.put(EMPTY_CONFIG, MEDIA.empty);
    const manifest = canonicalJsonBytes({
      schemaVersion: 2, mediaType: MEDIA.manifest, artifactType: MEDIA.disk, config,
      layers: [{ ...layer, annotations: { [ANNOTATION.title]: `${name}.img` } }],
      annotations: {
        [ANNOTATION.key]: key, [ANNOTATION.imageSha256]: sha256, [ANNOTATION.imageSize]: String(fs.statSync(file).size),
        [ANNOTATION.inputs]: canonicalJson(inputs), [ANNOTATION.name]: name, [ANNOTATION.version]: VERSION,
      },
    });
    log?.(`pushing ${bakeTag(key)} to ${cache.repo.ref.label}`);
    await Promise.all([layer, config].map((d) => cache.repo.pushBlob(d.digest, () => fs.createReadStream(blobs.path(d.digest), { highWaterMark: 1 << 20 }))));
    await cache.repo.putManifest(bakeTag(key), manifest, MEDIA.manifest);
  } finally {
    removeTree(work);
    forget();
  }
}

interface DiskEntry {
  layer: { digest: string; size: number };
  sha256: string;
  size: number;
}

/** The checked fields of a disk artifact's manifest (untrusted JSON). */
export function diskEntry(json: Record<string, unknown>, key: string, where: string): DiskEntry {
  const ann = (json.annotations ?? {}) as Record<string, unknown>;
  if (json.artifactType !== MEDIA.disk) throw new CorruptInputError(where, `not a cake-img disk (artifactType ${shown(json.artifactType)})`);
  if (ann[ANNOTATION.key] !== key) throw new CorruptInputError(where, 'the entry is for another key than the one it is tagged with');
  const layers = json.layers;
  const l = (Array.isArray(layers) && layers.length === 1 ? layers[0] : null) as { mediaType?: unknown; digest?: unknown; size?: unknown } | null;
  if (!l || l.mediaType !== MEDIA.diskLayer || typeof l.digest !== 'string' || !SHA.test(l.digest) || !Number.isSafeInteger(l.size) || (l.size as number) < 0) {
    throw new CorruptInputError(where, 'the entry does not hold one gzip disk layer with a digest and a size');
  }
  const sha256 = ann[ANNOTATION.imageSha256];
  const size = numberFrom(ann[ANNOTATION.imageSize]);
  if (typeof sha256 !== 'string' || !SHA.test(sha256) || !Number.isSafeInteger(size) || size < 0) throw new CorruptInputError(where, "the entry names no image sha256 and size");
  return { layer: { digest: l.digest, size: l.size as number }, sha256, size };
}

/** Writes a chunk stream at the file's current end, leaving all-zero blocks as holes. */
function sparseWriter(fd: number): { write: (c: Uint8Array) => void; end: () => number } {
  let pos = 0;
  let pend = Buffer.alloc(0);
  const flush = (b: Buffer): void => {
    for (let o = 0; o < b.length; o += BLOCK) {
      const piece = b.subarray(o, Math.min(b.length, o + BLOCK));
      if (!piece.equals(ZERO.subarray(0, piece.length))) for (let w = 0; w < piece.length; ) w += fs.writeSync(fd, piece, w, piece.length - w, pos + w);
      pos += piece.length;
    }
  };
  return {
    write(c) {
      pend = pend.length ? Buffer.concat([pend, c]) : Buffer.from(c);
      const whole = pend.length - (pend.length % BLOCK);
      if (whole) flush(pend.subarray(0, whole));
      pend = Buffer.from(pend.subarray(whole));
    },
    end() {
      flush(pend);
      fs.ftruncateSync(fd, pos);
      return pos;
    },
  };
}

/** Pulls `bake-<key>` into `target` (through the one temp-and-rename writer), or null when the registry has none. */
export async function pullBaked(cache: RemoteCache, key: string, target: string, log?: (l: string) => void): Promise<{ sha256: string; size: number } | null> {
  const tag = bakeTag(key);
  const m = await cache.repo.getManifest(tag);
  if (!m) return null;
  const where = `${cache.repo.ref.label}: ${tag}`;
  const e = diskEntry(m.json, key, where);
  log?.(`pulling ${tag} from ${cache.repo.ref.label}`);
  await writeOutput(target, { option: '--out' }, async (out) => {
    const w = sparseWriter(out.fd);
    const h = createHash('sha256');
    const gunzip = createGunzip();
    const inflated = (async () => {
      for await (const c of gunzip) {
        h.update(c as Buffer);
        w.write(c as Buffer);
      }
    })();
    try {
      for await (const c of cache.repo.blob(e.layer.digest, e.layer.size)) {
        if (!gunzip.write(c)) await new Promise((r) => gunzip.once('drain', r));
      }
      gunzip.end();
      await inflated;
    } catch (err) {
      gunzip.destroy();
      await inflated.catch(() => {});
      if (err instanceof Error && !(err instanceof CorruptInputError) && (err as NodeJS.ErrnoException).code?.startsWith('Z_')) throw new CorruptInputError(where, `the disk layer is not valid gzip: ${err.message}`);
      throw err;
    }
    const size = w.end();
    const sha256 = `sha256:${h.digest('hex')}`;
    if (size !== e.size || sha256 !== e.sha256) throw new CorruptInputError(where, `the pulled image is ${size} bytes with ${sha256}, the entry says ${e.size} bytes with ${e.sha256}`);
  });
  return { sha256: e.sha256, size: e.size };
}

