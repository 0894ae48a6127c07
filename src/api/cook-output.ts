// Where `cake-img cook -o` writes a cooked tree from the store: a cooked directory renamed
// into place whole (replacing only an empty or cooked directory), a .tar / .tar.gz, or an
// OCI image (cook/oci-image.ts): a layout directory `NAME.oci` (renamed into place whole,
// replacing only an empty directory or another layout), or one tar, `NAME.oci.tar`, or
// `NAME.docker.tar` (the same plus Docker 25's manifest.json, for `docker load`).
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { createGzip } from 'node:zlib';
import { isCookedDir, loadCookedDir } from '../host/cooked-dir.js';
import { materialise } from '../cook/materialise.js';
import { INFO_NAME } from '../cook/store.js';
import { writeTar } from '../cook/tar-writer.js';
import { removeTree } from '../util/remove-tree.js';
import { InvalidOptionError, OutputError, quote } from '../util/errors.js';
import { removeOnExit } from '../host/lifecycle.js';
import { checkOutputPath, writeFault, writeOutput } from '../host/output-file.js';
import { NodeFileSink } from '../host/node-file-sink.js';
import { BlobDir, type LayerCompression, cookCreatedBy, layoutFiles, makeImage } from '../cook/oci-image.js';
import { cookPath, readInfo } from '../cook/store.js';
import { END_OF_ARCHIVE, blockPadding, plainHeader } from '../cook/tar-writer.js';
import { compressorFor } from '../host/layer-compress.js';
import type { LoadedTree } from '../sources/directory.js';

/** Options of an OCI output. */
export interface ImageOutputOptions {
  /** `NAME[:TAG]` for the index's ref.name (the tag) and the docker archive's RepoTags; default the cook's name and `latest`. */
  tag?: string;
  layerCompression?: LayerCompression;
}

type OutKind = 'oci' | 'oci-tar' | 'docker-tar' | 'tar' | 'dir';

/** What `-o NAME` writes, by its name. */
export function outputKind(out: string): OutKind {
  if (/\.oci\.tar$/.test(out)) return 'oci-tar';
  if (/\.docker\.tar$/.test(out)) return 'docker-tar';
  if (/\.oci\/*$/.test(out)) return 'oci';
  if (/\.(tar|tar\.gz|tgz)$/.test(out)) return 'tar';
  return 'dir';
}

/** Writes a store entry to `out`: a directory (a cooked directory), a .tar / .tar.gz, or an OCI image. */
export async function writeOut(entry: string, out: string, image: ImageOutputOptions = {}): Promise<void> {
  const kind = outputKind(out);
  const isTar = kind === 'tar';
  if (kind === 'dir' && /\.(tar\.(xz|zst|bz2)|txz)$/.test(out)) throw new InvalidOptionError('-o', `${quote(out)}: cook writes .tar and .tar.gz; use a directory or one of those`);
  const loaded = await loadCookedDir(entry);
  try {
    if (kind === 'oci' || kind === 'oci-tar' || kind === 'docker-tar') {
      await writeImage(entry, loaded, out, kind, image);
    } else if (isTar) {
      await writeOutput(out, { option: '-o' }, async (file) => {
        const sink = new NodeFileSink(file.fd);
        if (/\.(tar\.gz|tgz)$/.test(out)) await gzipTo(sink, (s) => writeTar(loaded.tree, loaded.content, s));
        else await writeTar(loaded.tree, loaded.content, sink.write);
        sink.close();
      });
    } else {
      await writeOutDir(entry, loaded, out);
    }
  } finally {
    await loaded.content.close();
  }
}

/** `-o DIR`: a fresh cooked directory renamed into place (replacing only an empty or cooked directory). */
async function writeOutDir(entry: string, loaded: LoadedTree, out: string): Promise<void> {
  await intoPlace(out, isCookedDir, 'a cooked directory', async (dir) => {
    await materialise(loaded, dir);
    fs.copyFileSync(nodePath.join(entry, INFO_NAME), nodePath.join(dir, INFO_NAME));
  });
}

/**
 * The OCI image of a store entry: its blobs made in a private directory beside `out`, then
 * that directory renamed into place (`.oci`) or archived into one tar through writeOutput.
 */
async function writeImage(entry: string, loaded: LoadedTree, out: string, kind: 'oci' | 'oci-tar' | 'docker-tar', o: ImageOutputOptions): Promise<void> {
  const info = readInfo(entry);
  const name = info?.name ?? nodePath.basename(entry);
  const compression = o.layerCompression ?? 'gzip';
  const make = async (dir: string): Promise<[string, Uint8Array][]> => {
    const image = await makeImage(loaded.tree, loaded.content, new BlobDir(dir), {
      epoch: info?.epoch, path: info ? cookPath(info.inputs) : [],
      createdBy: cookCreatedBy(name), compression, compress: compressorFor(compression),
    });
    return layoutFiles(image, o.tag ?? `${name}:latest`, kind === 'docker-tar');
  };
  if (kind === 'oci') {
    await intoPlace(out, (p) => fs.existsSync(nodePath.join(p, 'oci-layout')), 'an OCI layout', async (dir) => {
      for (const [f, bytes] of await make(dir)) fs.writeFileSync(nodePath.join(dir, f), bytes);
    });
    return;
  }
  checkOutputPath(out, { option: '-o' });
  const tmp = privateDirBeside(out);
  try {
    let files: [string, Uint8Array][];
    try {
      files = await make(tmp.dir);
    } catch (e) {
      throw writeFault(out, e, 'write the image beside it');
    }
    await writeOutput(out, { option: '-o' }, async (file) => {
      const sink = new NodeFileSink(file.fd);
      for (const [f, bytes] of files) sink.write(plainHeader(f, bytes.length)), sink.write(bytes), sink.write(blockPadding(bytes.length));
      sink.write(plainHeader('blobs/', 0, true));
      sink.write(plainHeader('blobs/sha256/', 0, true));
      for (const hex of fs.readdirSync(nodePath.join(tmp.dir, 'blobs/sha256')).sort()) {
        const p = nodePath.join(tmp.dir, 'blobs/sha256', hex);
        const size = fs.statSync(p).size;
        sink.write(plainHeader(`blobs/sha256/${hex}`, size));
        for await (const c of fs.createReadStream(p, { highWaterMark: 1 << 20 })) sink.write(c as Buffer);
        sink.write(blockPadding(size));
      }
      sink.write(END_OF_ARCHIVE);
      sink.close();
    });
  } finally {
    tmp.remove();
  }
}

/** A fresh directory beside `out` (same filesystem, so a rename can place it), removed on a signal. */
function privateDirBeside(out: string): { dir: string; remove: () => void } {
  const abs = nodePath.resolve(out.replace(/\/+$/, ''));
  let dir: string;
  try {
    dir = fs.mkdtempSync(nodePath.join(nodePath.dirname(abs), `.${nodePath.basename(abs)}.cake-`));
  } catch (e) {
    throw writeFault(out, e, 'create a directory beside it');
  }
  const forget = removeOnExit(dir);
  return { dir, remove: () => (removeTree(dir), forget()) };
}

/**
 * Fills a fresh directory and renames it over `out`, which may be absent, empty, or (by
 * `replaceable`) `what`; anything else is refused before any work.
 */
async function intoPlace(out: string, replaceable: (abs: string) => boolean, what: string, fill: (dir: string) => Promise<void>): Promise<void> {
  if (out === '' || out === '-') throw new InvalidOptionError('-o', out === '' ? 'the output name is empty' : 'cannot write a tree to standard output; name a directory or a .tar');
  const abs = nodePath.resolve(out);
  const parent = nodePath.dirname(abs);
  let pst: fs.Stats;
  try {
    pst = fs.statSync(parent);
  } catch {
    throw new OutputError(quote(out), `the directory ${quote(parent)} does not exist; create it first`);
  }
  if (!pst.isDirectory()) throw new OutputError(quote(out), `${quote(parent)} is not a directory`);
  const existing = (() => {
    try {
      return fs.lstatSync(abs);
    } catch {
      return null;
    }
  })();
  if (existing && !existing.isDirectory()) {
    throw new OutputError(quote(out), `exists and is ${existing.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; refusing to replace it (name a new directory, or a .tar)`);
  }
  if (existing && fs.readdirSync(abs).length !== 0 && !replaceable(abs)) {
    throw new OutputError(quote(out), `exists and is not ${what}; refusing to replace it`);
  }
  const tmp = privateDirBeside(out);
  try {
    const dir = nodePath.join(tmp.dir, 'out');
    fs.mkdirSync(dir);
    await fill(dir);
    if (existing) fs.renameSync(abs, nodePath.join(tmp.dir, 'old'));
    fs.renameSync(dir, abs);
  } catch (e) {
    throw writeFault(out, e);
  } finally {
    tmp.remove();
  }
}

/** gzip (level 6, Node's zlib: a cook's tar.gz is a convenience, not a reproducible artefact like the initramfs) into `sink`. */
async function gzipTo(sink: NodeFileSink, produce: (sink: (chunk: Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  const gz = createGzip({ level: 6 });
  const done = new Promise<void>((resolve, reject) => {
    gz.on('data', (d: Buffer) => sink.write(d));
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  await produce(async (chunk) => {
    if (!gz.write(Buffer.from(chunk))) await new Promise((r) => gz.once('drain', r));
  });
  gz.end();
  await done;
}

/** Refuses an output that cannot be written, before any work. */
export function checkCookOutput(out: string): void {
  if (/\.(tar|tar\.gz|tgz)$/.test(out)) checkOutputPath(out, { option: '-o' });
  else if (outputKind(out) === 'oci' && fs.existsSync(out) && !fs.lstatSync(out).isDirectory()) throw new OutputError(quote(out), 'exists and is not a directory; an OCI layout is a directory');
  else if (out === '' || out === '-') throw new InvalidOptionError('-o', out === '' ? 'the output name is empty' : 'cannot write a tree to standard output; name a directory or a .tar');
}
