// `cake-img build`: a recipe's outputs, their inputs first, independent steps in parallel
// (--jobs), every cook through the store (the same inputs never cook twice) and every
// bake into --out, skipped when the image there was baked from the same inputs (the bake
// stamp, cook/bake-stamp.ts).
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { FORMAT_EXTENSION } from '../bake/image-formats/format.js';
import { cacheDir } from '../host/cache.js';
import { cook as cookTree } from '../api/cook.js';
import { storeName } from '../cook/store.js';
import { type BakeInputs, BakeStamp } from '../cook/bake-stamp.js';
import { debianKernel } from '../host/kernel.js';
import { sourceIdentity, hashHostDir } from '../host/source-id.js';
import { CakeError, quote } from '../util/errors.js';
import { removeOnExit } from '../host/lifecycle.js';
import { sha256File } from '../util/sha256-file.js';
import { VERSION } from '../version.js';
import { type Recipe, RecipeError } from './recipe.js';
import type { Reporter, StepStatus, SummaryRow } from './progress.js';
import type { RemoteCache } from '../host/remote-cache.js';
import { storeDir } from '../host/cache.js';
import type { BakeSpec, CookSpec, KernelSpec, Output, SourceSpec } from './spec.js';

export interface BuildOptions {
  only?: string[];
  out: string;
  rebuild?: boolean;
  explain?: boolean;
  jobs?: number;
  reporter: Reporter;
  sourceDateEpoch?: number;
  /** A registry as the shared store (`--cache`): pulled before cooking and baking, pushed after. */
  cache?: RemoteCache;
}

interface Done {
  path: string;
  sha256: string;
  size: number;
  cached: boolean;
  /** Where the output came from: made here, the local store or --out, or the registry cache. */
  status: StepStatus;
}

/** Runs at most `n` tasks at once. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= n) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

export async function build(recipe: Recipe, opts: BuildOptions): Promise<SummaryRow[]> {
  const selected = opts.only?.length ? opts.only : [...recipe.outputs.keys()];
  for (const name of selected) if (!recipe.outputs.has(name)) throw new RecipeError(recipe.file, `no output named ${JSON.stringify(name)} (it has ${[...recipe.outputs.keys()].join(', ')})`);
  const steps = new Steps(recipe, opts);
  const madeOut = makeOutDir(opts.out);
  // A failed build leaves no empty --out behind that it made itself.
  const forgetOut = madeOut ? removeOnExit(opts.out) : () => {};
  // Every selected output; the first failure stops the build (others finish their step).
  const settled = await Promise.allSettled(selected.map((n) => steps.realise(recipe.outputs.get(n)!, n)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (madeOut && fs.existsSync(opts.out) && fs.readdirSync(opts.out).length === 0 && failed) fs.rmdirSync(opts.out);
  forgetOut();
  if (failed) throw failed.reason;
  return steps.summary();
}

/** The cook and bake steps of one build: each output realised once, at most --jobs at a time. */
class Steps {
  /** Names: an output's key; an inner cook its own `name`, else its user's name + "-src". */
  private readonly names = new Map<Output, string>();
  private readonly results = new Map<Output, Promise<Done>>();
  private readonly rows: SummaryRow[] = [];
  private readonly run: <T>(task: () => Promise<T>) => Promise<T>;
  private readonly reporter: Reporter;

  constructor(private readonly recipe: Recipe, private readonly opts: BuildOptions) {
    for (const [k, v] of recipe.outputs) this.names.set(v, k);
    this.run = limiter(Math.max(1, opts.jobs ?? 2));
    this.reporter = opts.reporter;
  }

  /** The rows of the finished steps, in the recipe's order of names. */
  summary(): SummaryRow[] {
    const order = new Map([...this.names.values()].map((n, i) => [n, i]));
    return this.rows.sort((a, b) => (order.get(a.output) ?? 0) - (order.get(b.output) ?? 0));
  }

  realise(o: Output, user: string): Promise<Done> {
    let p = this.results.get(o);
    if (p) return p;
    const name = this.nameOf(o, user);
    p = o.kind === 'cook' ? this.cookOne(o, name) : this.bakeOne(o, name);
    this.results.set(o, p);
    return p;
  }

  private nameOf(o: Output, user: string): string {
    let n = this.names.get(o);
    if (!n) {
      n = o.name ?? `${user}-src`;
      this.names.set(o, n);
    }
    return n;
  }

  private rel(p: string): string {
    return nodePath.resolve(this.recipe.dir, p);
  }

  private srcRef(s: SourceSpec): string {
    return s.isPath ? this.rel(s.ref) : s.ref;
  }

  /** Runs one step with its start, end or error event and summary row; an error names the recipe and the output. */
  private async step(output: string, step: 'cook' | 'bake', f: () => Promise<Done>): Promise<Done> {
    const t0 = Date.now();
    this.reporter.emit({ type: 'start', output, step });
    try {
      const d = await f();
      const ms = Date.now() - t0;
      this.reporter.emit({ type: 'end', output, step, cached: d.cached, status: d.status, ms, sha256: d.sha256, path: d.path, size: d.size });
      this.rows.push({ output, step, size: d.size, sha256: d.sha256, ms, cached: d.cached, status: d.status, path: d.path });
      return d;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.reporter.emit({ type: 'error', output, message });
      const file = this.recipe.file;
      if (e instanceof CakeError && e.message.startsWith(file)) throw e;
      throw new CakeError(e instanceof CakeError ? e.code : 'EBUILD', e instanceof CakeError ? e.stage : 'tool', `${file}: output "${output}": ${message}`, { output });
    }
  }

  // A dependency is realised before this step takes a --jobs slot (a step waiting for its
  // input while holding a slot could starve the input); a plain source is identified
  // inside the step, so its errors name the output.
  private async input(s: SourceSpec | CookSpec, user: string): Promise<() => Promise<{ path: string; id: string }>> {
    if (s.kind === 'cook') {
      const d = await this.realise(s, user);
      return async () => ({ path: d.path, id: `cooked:${d.sha256}` });
    }
    return async () => ({ path: this.srcRef(s), id: await sourceIdentity(this.srcRef(s)) });
  }

  private async cookOne(o: CookSpec, name: string): Promise<Done> {
    const srcOf = await this.input(o.src, name);
    return this.run(() => this.step(name, 'cook', () => this.cook(o, name, srcOf)));
  }

  private async cook(o: CookSpec, name: string, srcOf: () => Promise<{ path: string }>): Promise<Done> {
    const { opts, reporter } = this;
    const src = o.src.kind === 'cook' ? await srcOf() : { path: this.srcRef(o.src) };
    const r = await cookTree({
      src: src.path, name: o.name ?? name, script: o.script, prepare: o.prepare, cleanup: o.cleanup,
      contents: o.contents?.map((p) => this.rel(p)), path: o.path ? [...o.path] : undefined, sha256: o.sha256,
      rebuild: opts.rebuild, explain: opts.explain, platform: o.platform, lenient: o.lenient, sourceDateEpoch: opts.sourceDateEpoch,
      cache: opts.cache,
      log: (line) => reporter.emit({ type: 'log', output: name, line }),
      onProgress: (phase, files, bytes) => reporter.emit({ type: 'progress', output: name, phase, files, bytes }),
    });
    if (r.explanation) reporter.emit({ type: 'log', output: name, line: r.explanation });
    for (const w of r.warnings) reporter.emit({ type: 'log', output: name, line: `warning: ${w}` });
    if (!r.cached && !r.pulled && !o.sha256) reporter.emit({ type: 'log', output: name, line: `pin it with sha256: '${r.hash}'` });
    if (o.output) {
      const file = nodePath.join(opts.out, `${name}.${o.output}`);
      reporter.emit({ type: 'progress', output: name, phase: `writing ${file}` });
      const { writeOut } = await import('../api/cook-output.js');
      await writeOut(r.storePath, file, { tag: o.tag ?? `${storeName(name).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'image'}:latest` });
    }
    return { path: r.storePath, sha256: r.hash, size: r.size, cached: r.cached, status: r.pulled ? 'pulled' : r.cached ? 'cached' : 'built' };
  }

  private async bakeOne(o: BakeSpec, name: string): Promise<Done> {
    const imageOf = await this.input(o.image, name);
    return this.run(() => this.step(name, 'bake', () => this.bake(o, name, imageOf)));
  }

  /** Bakes into --out, unless the image there was baked from the same inputs (BakeStamp). */
  private async bake(o: BakeSpec, name: string, imageOf: () => Promise<{ path: string; id: string }>): Promise<Done> {
    const { opts, reporter } = this;
    const image = await imageOf();
    reporter.emit({ type: 'progress', output: name, phase: o.kernel.debian ? `finding ${o.kernel.debian} in the package lists` : 'reading the kernel' });
    const kernel = await this.kernelOf(o.kernel);
    const stamp = new BakeStamp(opts.out, name, bakeInputs(o, image.id, kernel.id, opts.sourceDateEpoch), FORMAT_EXTENSION[o.format ?? 'raw']);
    const hit = opts.rebuild ? null : stamp.reusable();
    if (hit) {
      if (opts.explain) reporter.emit({ type: 'log', output: name, line: `${stamp.image} was baked from the same inputs` });
      return { path: stamp.image, sha256: hit.sha256, size: hit.size, cached: true, status: 'cached' };
    }
    const pulled = opts.rebuild ? null : await this.pullBake(stamp, name);
    if (pulled) return pulled;
    if (opts.explain) reporter.emit({ type: 'log', output: name, line: stamp.explain() });
    reporter.emit({ type: 'progress', output: name, phase: 'baking' });
    // Loaded only to bake: a build with nothing to do never loads the disk writers.
    const { bake: bakeImage } = await import('../api/bake.js');
    const r = await bakeImage({
      rootfs: image.path, kernel: kernel.path, modules: o.modules ? [...o.modules] : [], options: (o.options ?? []).join(' '),
      size: o.size ?? '1G', uuid: o.uuid, debug: o.debug, force: o.force, output: stamp.image, sourceDateEpoch: opts.sourceDateEpoch,
      firmware: o.firmware, espSize: o.espSize, diskGuid: o.diskGuid, format: o.format,
      onPhase: (phase, bytes) => reporter.emit({ type: 'progress', output: name, phase, bytes }),
    });
    for (const n of r.notes) reporter.emit({ type: 'log', output: name, line: n });
    reporter.emit({ type: 'log', output: name, line: `modules in load order: ${r.modules.join(' ') || '(none)'}` });
    const sha256 = stamp.record();
    await this.pushBake(stamp, name, sha256);
    return { path: stamp.image, sha256, size: r.fileBytes, cached: false, status: 'built' };
  }

  /** The bake from the registry cache (`bake-<input key>`) into --out, or null (no cache, a miss, or a failure said as a warning). */
  private async pullBake(stamp: BakeStamp, name: string): Promise<Done | null> {
    const c = this.opts.cache;
    if (!c) return null;
    const log = (line: string): void => this.reporter.emit({ type: 'log', output: name, line });
    const { tolerate } = await import('../host/remote-cache.js');
    const { pullBaked } = await import('../host/remote-bake.js');
    const got = await tolerate(c, 'pull', `pulling ${name}`, () => pullBaked(c, stamp.key, stamp.image, log));
    if (got.warning) log(`warning: ${got.warning}`);
    if (!got.value) return null;
    if (this.opts.explain) log(`${stamp.image} pulled from ${c.repo.ref.label} (same inputs)`);
    return { path: stamp.image, sha256: stamp.record(got.value.sha256), size: got.value.size, cached: false, status: 'pulled' };
  }

  private async pushBake(stamp: BakeStamp, name: string, sha256: string): Promise<void> {
    const c = this.opts.cache;
    if (!c?.push) return;
    const log = (line: string): void => this.reporter.emit({ type: 'log', output: name, line });
    const { tolerate } = await import('../host/remote-cache.js');
    const { pushBaked } = await import('../host/remote-bake.js');
    const done = await tolerate(c, 'push', `pushing ${name}`, () => pushBaked(c, storeDir(), stamp.image, stamp.key, sha256, stamp.bakeInputs, name, log));
    if (done.warning) log(`warning: ${done.warning}`);
  }

  private async kernelOf(k: KernelSpec): Promise<{ path: string; id: string }> {
    if (k.debian) {
      const d = await debianKernel(k.debian, cacheDir('kernels'));
      return { path: d.root, id: d.identity };
    }
    const p = this.rel(k.path!);
    if (!fs.existsSync(p)) throw new RecipeError(this.recipe.file, `kernel ${k.path}: no such file or directory`);
    return { path: p, id: fs.statSync(p).isDirectory() ? `dir:${await hashHostDir(p)}` : `file:${sha256File(p)}` };
  }
}

/** What a bake's image depends on: the stamp's key hashes this. */
function bakeInputs(o: BakeSpec, image: string, kernel: string, sourceDateEpoch: number | undefined): BakeInputs {
  return {
    cakeImg: VERSION, image, kernel, size: o.size ?? '1G', uuid: o.uuid ?? null, debug: !!o.debug,
    options: o.options ?? [], modules: o.modules ?? [], sourceDateEpoch: sourceDateEpoch ?? null, force: !!o.force,
    firmware: o.firmware ?? 'hybrid', espSize: o.espSize ?? null, diskGuid: o.diskGuid ?? null,
    ...(o.format && o.format !== 'raw' ? { format: o.format } : {}),
  };
}

/** --out: a directory (made when missing); a file there is a one-line error, not a crash. */
function makeOutDir(out: string): boolean {
  const existed = fs.existsSync(out);
  try {
    fs.mkdirSync(out, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'exists and is not a directory' : code === 'EACCES' ? 'permission denied' : code ?? String(e);
    throw new CakeError('EOUTPUT', 'write', `--out ${quote(out)}: ${why}; images are written into a directory`);
  }
  if (!fs.statSync(out).isDirectory()) throw new CakeError('EOUTPUT', 'write', `--out ${quote(out)}: exists and is not a directory; images are written into a directory`);
  return !existed;
}
