// Where `cake-img cook -o` writes a cooked tree from the store: a cooked directory renamed
// into place whole (replacing only an empty or cooked directory), or a .tar / .tar.gz.
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

/** Writes a store entry to `out`: a directory (a cooked directory) or a .tar / .tar.gz. */
export async function writeOut(entry: string, out: string): Promise<void> {
  const isTar = /\.(tar|tar\.gz|tgz)$/.test(out);
  if (!isTar && /\.(tar\.(xz|zst|bz2)|txz)$/.test(out)) throw new InvalidOptionError('-o', `${quote(out)}: cook writes .tar and .tar.gz; use a directory or one of those`);
  const loaded = await loadCookedDir(entry);
  try {
    if (isTar) {
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
async function writeOutDir(entry: string, loaded: Awaited<ReturnType<typeof loadCookedDir>>, out: string): Promise<void> {
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
  if (existing && fs.readdirSync(abs).length !== 0 && !isCookedDir(abs)) {
    throw new OutputError(quote(out), 'exists and is not a cooked directory; refusing to replace it');
  }
  let tmp: string;
  try {
    tmp = fs.mkdtempSync(nodePath.join(parent, `.${nodePath.basename(abs)}.cake-`));
  } catch (e) {
    throw writeFault(out, e, 'create a directory beside it');
  }
  const forget = removeOnExit(tmp);
  try {
    const dir = nodePath.join(tmp, 'out');
    fs.mkdirSync(dir);
    await materialise(loaded, dir);
    fs.copyFileSync(nodePath.join(entry, INFO_NAME), nodePath.join(dir, INFO_NAME));
    if (existing) fs.renameSync(abs, nodePath.join(tmp, 'old'));
    fs.renameSync(dir, abs);
  } catch (e) {
    throw writeFault(out, e);
  } finally {
    removeTree(tmp);
    forget();
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
  else if (out === '' || out === '-') throw new InvalidOptionError('-o', out === '' ? 'the output name is empty' : 'cannot write a tree to standard output; name a directory or a .tar');
}
