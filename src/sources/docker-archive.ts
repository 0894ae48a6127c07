// `docker save` archives: manifest.json names the image's layer tars (the newer layout's
// blobs/sha256/… or the older <id>/layer.tar), applied in manifest order. Also home of
// OuterTar, the member index of an image archive that the OCI loader shares. Archives are
// ByteFiles (a host file, a File picked in a browser): nothing here touches the host.
import { type ByteFile, rangeOf } from '../io/byte-file.js';
import { CorruptInputError } from '../util/errors.js';
import { sha256 } from '../util/sha256.js';
import { ByteReader, maybeDecompress } from './decompress.js';
import type { LoadedTree } from './directory.js';
import { type LayerInput, applyLayers, checkDigest, verifiedOpener } from './layers.js';
import { type SeqReader, tarEntries } from './tar-entries.js';
import { compressionOf } from './compression.js';

export interface ImageOptions {
  /** Skip hostile or broken layer entries with a warning instead of failing. */
  lenient?: boolean;
  /** `os/arch[/variant]` to pick from an OCI index (default linux/amd64). */
  platform?: string;
}

/** Metadata files (manifests, configs) bigger than this are refused. */
export const MAX_JSON = 16 << 20;

interface Member {
  type: string;
  size: number;
  dataOffset: number;
  linkname: string;
}

/** Normalises an archive member name: no leading "./" or "/", no empty or "." parts; ".." pops (never above the root). */
export function normalizeMemberName(name: string): string | null {
  const out: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (!out.length) return null;
      out.pop();
    } else out.push(p);
  }
  return out.join('/');
}

/** Sequential reads with positions, over a plain file (no data is read when skipping). */
export class FileReader {
  offset = 0;
  constructor(private readonly file: ByteFile) {}
  async read(dest: Uint8Array): Promise<number> {
    let got = 0;
    while (got < dest.length) {
      const b = await this.file.read(this.offset, dest.length - got);
      if (b.length === 0) break;
      dest.set(b, got);
      got += b.length;
      this.offset += b.length;
    }
    return got;
  }
  async skip(n: number): Promise<number> {
    const k = Math.max(0, Math.min(n, this.file.size - this.offset));
    this.offset += k;
    return k;
  }
}

/**
 * Walks the members of an image archive's outer tar, calling `visit(name, member)` for
 * each; stops early when visit returns false. The one tar reader (tar-entries.ts) does the
 * decoding, so global pax headers, long names and sparse members are handled as anywhere.
 */
export async function walkTarHeaders(r: SeqReader, label: string, visit: (name: string, m: Member) => boolean): Promise<void> {
  for await (const e of tarEntries(r, { label })) {
    // A sparse member's bytes are not one range of the archive: it cannot be a layer or a manifest.
    const m: Member = { type: e.runs ? 'S' : e.type, size: e.type === '0' ? e.dataLength : 0, dataOffset: e.dataStart, linkname: e.linkname };
    if (!visit(e.path, m)) return;
  }
}

/** Member index of an image archive (plain or gzip tar), with streaming access to each member. */
export class OuterTar {
  private constructor(
    private readonly file: ByteFile,
    private readonly gzip: boolean,
    private readonly members: Map<string, Member>,
  ) {}

  /** The archive's name, for messages. */
  get path(): string {
    return this.file.label;
  }

  static async open(file: ByteFile): Promise<OuterTar> {
    const path = file.label;
    const members = new Map<string, Member>();
    const gzip = compressionOf(await file.read(0, 8)) === 'gzip';
    const record = (name: string, m: Member): boolean => {
      const n = normalizeMemberName(name);
      if (n !== null && n !== '') members.set(n, m);
      return true;
    };
    if (gzip) {
      const r = new ByteReader(maybeDecompress(rangeOf(file), path));
      try {
        await walkTarHeaders(r, path, record);
      } finally {
        await r.close();
      }
    } else {
      await walkTarHeaders(new FileReader(file), path, record);
    }
    return new OuterTar(file, gzip, members);
  }

  /** The member behind `name`, following symlinks and hard links inside the archive. */
  private resolve(name: string): Member | null {
    let n = normalizeMemberName(name);
    for (let hops = 0; hops < 16 && n !== null; hops++) {
      const m = this.members.get(n);
      if (!m) return null;
      if (m.type === '0') return m;
      if (m.type === '1') n = normalizeMemberName(m.linkname);
      else if (m.type === '2') {
        const dir = n.split('/').slice(0, -1).join('/');
        n = normalizeMemberName(m.linkname.startsWith('/') ? m.linkname : `${dir}/${m.linkname}`);
      } else return null;
    }
    return null;
  }

  has(name: string): boolean {
    return this.resolve(name) !== null;
  }

  /** Streams the bytes of member `name` (as stored: a compressed layer stays compressed). */
  opener(name: string): () => AsyncIterable<Uint8Array> {
    const m = this.resolve(name);
    if (!m) throw new CorruptInputError(this.path, `archive has no file ${JSON.stringify(name)}`);
    const path = this.path;
    const file = this.file;
    if (!this.gzip) return () => rangeOf(file, m.dataOffset, m.dataOffset + m.size);
    return () =>
      (async function* () {
        const r = new ByteReader(maybeDecompress(rangeOf(file), path));
        try {
          if ((await r.skip(m.dataOffset)) < m.dataOffset) throw new CorruptInputError(path, 'archive changed since it was first read');
          const out: Uint8Array[] = [];
          let left = m.size;
          while (left > 0) {
            const n = await r.pipe(Math.min(left, 1 << 20), (c) => {
              out.push(c.slice());
            });
            if (n === 0) throw new CorruptInputError(path, 'archive changed since it was first read');
            left -= n;
            while (out.length) yield out.shift()!;
          }
        } finally {
          await r.close();
        }
      })();
  }

  /** A small member's bytes. */
  async read(name: string): Promise<Uint8Array> {
    const m = this.resolve(name);
    if (!m) throw new CorruptInputError(this.path, `archive has no file ${JSON.stringify(name)}`);
    if (m.size > MAX_JSON) throw new CorruptInputError(`${this.path}: ${name}`, `${m.size} bytes is too large for a metadata file`);
    const out = new Uint8Array(m.size);
    let o = 0;
    for await (const c of this.opener(name)()) {
      out.set(c.subarray(0, Math.min(c.length, m.size - o)), o);
      o += c.length;
    }
    return out;
  }
}

export function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new CorruptInputError(where, `not valid JSON: ${(e as Error).message}`);
  }
}

/** Loads the (first) image of a `docker save` archive. */
export async function loadDockerArchive(file: ByteFile, opts: ImageOptions = {}): Promise<LoadedTree> {
  return loadDockerFromTar(await OuterTar.open(file), opts);
}

export async function loadDockerFromTar(tar: OuterTar, opts: ImageOptions = {}): Promise<LoadedTree> {
  const where = `${tar.path}: manifest.json`;
  const manifest = parseJson(await tar.read('manifest.json'), where);
  if (!Array.isArray(manifest) || manifest.length === 0) throw new CorruptInputError(where, 'expected a non-empty array of images');
  const image = manifest[0] as { Config?: unknown; Layers?: unknown } | null;
  if (!Array.isArray(image?.Layers) || !image.Layers.every((l): l is string => typeof l === 'string')) {
    throw new CorruptInputError(where, 'the image has no "Layers" list');
  }
  const diffIds = await configDiffIds(tar, image.Config, image.Layers.length, where);
  const layers: LayerInput[] = image.Layers.map((name, i) => {
    const label = `${tar.path}: layer ${i + 1} (${name})`;
    // The newer layout names layers by the digest of their bytes: check that too.
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(normalizeMemberName(name) ?? '');
    return { label, open: m ? verifiedOpener(tar.opener(name), `sha256:${m[1]}`, label) : tar.opener(name), diffId: diffIds.ids[i] };
  });
  const loaded = await applyLayers(layers, { lenient: opts.lenient });
  if (diffIds.warning) loaded.warnings.unshift(diffIds.warning);
  if (manifest.length > 1) loaded.warnings.unshift(`${tar.path}: the archive holds ${manifest.length} images; using the first`);
  return loaded;
}

/**
 * The image config's `rootfs.diff_ids`: the digests of the uncompressed layers, in order.
 * Both layouts name the config by its own digest (`<hex>.json`, the image ID, or
 * `blobs/sha256/<hex>`), which is checked, so the layers are tied to the image's identity
 * even in the legacy `<id>/layer.tar` layout whose layer names say nothing.
 */
async function configDiffIds(tar: OuterTar, config: unknown, layerCount: number, where: string): Promise<{ ids: string[]; warning?: string }> {
  if (typeof config !== 'string' || config === '') throw new CorruptInputError(where, 'the image has no "Config" (needed to check its layers)');
  const cfgWhere = `${tar.path}: ${config}`;
  const bytes = await tar.read(config);
  let warning: string | undefined;
  const named = /^(?:blobs\/sha256\/)?([a-f0-9]{64})(?:\.json)?$/.exec(normalizeMemberName(config) ?? '');
  if (named) {
    const actual = sha256().update(bytes).hex();
    if (actual !== named[1]) throw new CorruptInputError(cfgWhere, `the image config does not match its name (its sha256 is ${actual})`);
  } else {
    warning = `${cfgWhere}: the image config is not named by its digest; its layers are checked against its diff_ids only`;
  }
  const cfg = parseJson(bytes, cfgWhere) as { rootfs?: { diff_ids?: unknown } } | null;
  const ids = cfg?.rootfs?.diff_ids;
  if (!Array.isArray(ids)) throw new CorruptInputError(cfgWhere, 'the image config has no rootfs.diff_ids (needed to check its layers)');
  if (ids.length !== layerCount) throw new CorruptInputError(cfgWhere, `the image config lists ${ids.length} diff_ids for ${layerCount} layers`);
  return { ids: ids.map((d, i) => checkDigest(d, cfgWhere, `diff_ids[${i}]`)), warning };
}
