// The bake stamp: what the store (store.ts) is for cooks, for images baked into a build's
// --out. Beside `NAME.img`, `.NAME.img.cake.json` records the hash of the bake's inputs,
// the image's sha256 and its mtime, so a build with the same inputs keeps the image
// instead of baking it again, unless the image was touched since.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { sha256File } from '../util/sha256-file.js';

/** Every input that can change a baked image (the stamp's key hashes this). */
export type BakeInputs = Record<string, unknown>;

interface Stamp {
  key: string;
  sha256: string;
  mtimeMs: number;
  inputs: BakeInputs;
}

function readStamp(file: string): Stamp | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Stamp;
  } catch {
    return null;
  }
}

/** The stamp of image `name` in `out`, as the last bake there left it, against the inputs of this one. */
export class BakeStamp {
  /** The image file: `out/NAME.EXT` (img, qcow2, vhd, vmdk). */
  readonly image: string;
  /** sha256 hex of the bake's inputs: the registry cache's `bake-<key>`. */
  readonly key: string;
  private readonly file: string;
  private readonly prior: Stamp | null;

  constructor(private readonly out: string, name: string, private readonly inputs: BakeInputs, ext = 'img') {
    this.key = createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
    this.image = nodePath.resolve(out, `${name}.${ext}`);
    this.file = nodePath.resolve(out, `.${name}.${ext}.cake.json`);
    this.prior = readStamp(this.file);
  }

  /** The image's sha256 and size when it was baked from the same inputs and not touched since; else null. */
  reusable(): { sha256: string; size: number } | null {
    const p = this.prior;
    if (p?.key !== this.key || !fs.existsSync(this.image) || fs.statSync(this.image).mtimeMs !== p.mtimeMs) return null;
    return { sha256: p.sha256, size: fs.statSync(this.image).size };
  }

  /** One line for --explain: which inputs changed since the last bake. */
  explain(): string {
    if (!this.prior) return `no earlier bake in ${this.out}`;
    const before = this.prior.inputs;
    const changed = Object.keys(this.inputs).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(this.inputs[k]));
    return changed.length ? `rebaking: ${changed.map((k) => `${k} changed`).join(', ')}` : 'rebaking: the image changed since it was baked';
  }

  /** The inputs the key hashes. */
  get bakeInputs(): BakeInputs {
    return this.inputs;
  }

  /** Records the image just baked (or pulled, whose sha256 is known); returns its sha256. */
  record(known?: string): string {
    const sha256 = known ?? sha256File(this.image);
    fs.writeFileSync(this.file, JSON.stringify({ key: this.key, sha256, mtimeMs: fs.statSync(this.image).mtimeMs, inputs: this.inputs }, null, 2));
    return sha256;
  }
}
