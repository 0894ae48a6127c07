// A source's identity for the store key: a digest that changes exactly when the tree it
// yields can change, found as cheaply as that allows — the pinned digest of a registry
// image and the apt lists' SHA256 of a package need no download; a cooked directory
// carries its output hash; a file is hashed by its bytes; a plain directory by its tree.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { sourceKind } from './load-source.js';
import { sha256File } from '../util/sha256-file.js';
import { isCookedDir } from '../sources/meta-table.js';
import { INFO_NAME, readInfo } from '../cook/store.js';

/** The hash of a host directory's tree as cook sees it (content, modes, owners, links; no times). */
export async function hashHostDir(dir: string): Promise<string> {
  // Loaded here: deciding that a cook with a package source is cached needs none of it.
  const [{ NodeSourceFs }, { loadDirectory }, { hashTree }] = await Promise.all([import('./node-source-fs.js'), import('../sources/directory.js'), import('../tree/hash.js')]);
  const loaded = await loadDirectory(new NodeSourceFs(dir), { label: dir });
  try {
    return await hashTree(loaded.tree, loaded.content, () => createHash('sha256'));
  } finally {
    await loaded.content.close();
  }
}

/** A string naming exactly what `spec` (a cook --src) holds. */
export async function sourceIdentity(spec: string, opts: { platform?: string } = {}): Promise<string> {
  const what = await sourceKind(spec);
  if (what.kind === 'deb') {
    const { debRef } = await import('./debian.js');
    const ref = await debRef(what.name);
    return `deb:${ref.file}:sha256:${ref.sha256}`;
  }
  if (what.kind === 'image') {
    const r = (await import('../sources/image-names.js')).parseImageRef(spec);
    return `image:${r.registry}/${r.repository}@${r.digest}:${opts.platform ?? 'linux/amd64'}`;
  }
  const { st } = what;
  if (st.isDirectory()) {
    const info = isCookedDir(spec) && fs.existsSync(nodePath.join(spec, INFO_NAME)) ? readInfo(spec) : null;
    if (info) return `cooked:${info.hash}`;
    return `dir:${await hashHostDir(spec)}`;
  }
  return `file:${sha256File(spec)}:${opts.platform ?? ''}`;
}
