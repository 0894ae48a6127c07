// `cake-img build`: a recipe's outputs, their inputs first, independent steps in parallel
// (--jobs), every cook through the store (the same inputs never cook twice) and every
// bake into --out, skipped when the image there was baked from the same inputs.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { bake as bakeImage } from '../api/bake.js';
import { FORMAT_EXTENSION } from '../bake/image-formats/format.js';
import { cacheDir } from '../host/cache.js';
import { cook as cookTree } from '../api/cook.js';
import { debianKernel } from '../host/kernel.js';
import { sourceIdentity, hashHostDir } from '../host/source-id.js';
import { CakeError, quote } from '../util/errors.js';
import { removeOnExit } from '../host/lifecycle.js';
import { sha256File } from '../util/sha256-file.js';
import { VERSION } from '../version.js';
import { type Recipe, RecipeError } from './recipe.js';
import type { Reporter, SummaryRow } from './progress.js';
import type { BakeSpec, CookSpec, KernelSpec, Output, SourceSpec } from './spec.js';

export interface BuildOptions {
  only?: string[];
  out: string;
  rebuild?: boolean;
  explain?: boolean;
  jobs?: number;
  reporter: Reporter;
  sourceDateEpoch?: number;
}

interface Done {
  path: string;
  sha256: string;
  size: number;
  cached: boolean;
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
  // Names: an output's key; an inner cook its own `name`, else its user's name + "-src".
  const names = new Map<Output, string>();
  for (const [k, v] of recipe.outputs) names.set(v, k);
  const nameOf = (o: Output, user: string): string => {
    let n = names.get(o);
    if (!n) {
      n = o.name ?? `${user}-src`;
      names.set(o, n);
    }
    return n;
  };
  const rel = (p: string): string => nodePath.resolve(recipe.dir, p);
  const srcRef = (s: SourceSpec): string => (s.isPath ? rel(s.ref) : s.ref);
  const run = limiter(Math.max(1, opts.jobs ?? 2));
  const results = new Map<Output, Promise<Done>>();
  const rows: SummaryRow[] = [];
  const { reporter } = opts;
  const madeOut = makeOutDir(opts.out);
  // A failed build leaves no empty --out behind that it made itself.
  const forgetOut = madeOut ? removeOnExit(opts.out) : () => {};

  const wrap = async <T>(output: string, step: 'cook' | 'bake', f: () => Promise<T & Done>): Promise<Done> => {
    const t0 = Date.now();
    reporter.emit({ type: 'start', output, step });
    try {
      const d = await f();
      const ms = Date.now() - t0;
      reporter.emit({ type: 'end', output, step, cached: d.cached, ms, sha256: d.sha256, path: d.path, size: d.size });
      rows.push({ output, step, size: d.size, sha256: d.sha256, ms, cached: d.cached, path: d.path });
      return d;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      reporter.emit({ type: 'error', output, message });
      if (e instanceof CakeError && e.message.startsWith(recipe.file)) throw e;
      throw new CakeError(e instanceof CakeError ? e.code : 'EBUILD', e instanceof CakeError ? e.stage : 'tool', `${recipe.file}: output "${output}": ${message}`, { output });
    }
  };

  // A dependency is realised before this step takes a --jobs slot (a step waiting for its
  // input while holding a slot could starve the input); a plain source is identified
  // inside the step, so its errors name the output.
  const input = async (s: SourceSpec | CookSpec, user: string): Promise<() => Promise<{ path: string; id: string }>> => {
    if (s.kind === 'cook') {
      const d = await realise(s, user);
      return async () => ({ path: d.path, id: `cooked:${d.sha256}` });
    }
    return async () => ({ path: srcRef(s), id: await sourceIdentity(srcRef(s)) });
  };

  const realise = (o: Output, user: string): Promise<Done> => {
    let p = results.get(o);
    if (p) return p;
    const name = nameOf(o, user);
    p = o.kind === 'cook' ? cookOne(o, name) : bakeOne(o, name);
    results.set(o, p);
    return p;
  };

  const cookOne = async (o: CookSpec, name: string): Promise<Done> => {
    const srcOf = await input(o.src, name);
    return run(() =>
      wrap(name, 'cook', async () => {
        const src = o.src.kind === 'cook' ? await srcOf() : { path: srcRef(o.src) };
        const r = await cookTree({
          src: src.path, name: o.name ?? name, script: o.script, prepare: o.prepare, cleanup: o.cleanup,
          contents: o.contents?.map(rel), path: o.path ? [...o.path] : undefined, sha256: o.sha256,
          rebuild: opts.rebuild, explain: opts.explain, platform: o.platform, lenient: o.lenient, sourceDateEpoch: opts.sourceDateEpoch,
          log: (line) => reporter.emit({ type: 'log', output: name, line }),
          onProgress: (phase, files, bytes) => reporter.emit({ type: 'progress', output: name, phase, files, bytes }),
        });
        if (r.explanation) reporter.emit({ type: 'log', output: name, line: r.explanation });
        for (const w of r.warnings) reporter.emit({ type: 'log', output: name, line: `warning: ${w}` });
        if (!r.cached && !o.sha256) reporter.emit({ type: 'log', output: name, line: `pin it with sha256: '${r.hash}'` });
        return { path: r.storePath, sha256: r.hash, size: r.size, cached: r.cached };
      }),
    );
  };

  const kernelOf = async (k: KernelSpec): Promise<{ path: string; id: string }> => {
    if (k.debian) {
      const d = await debianKernel(k.debian, cacheDir('kernels'));
      return { path: d.root, id: d.identity };
    }
    const p = rel(k.path!);
    if (!fs.existsSync(p)) throw new RecipeError(recipe.file, `kernel ${k.path}: no such file or directory`);
    return { path: p, id: fs.statSync(p).isDirectory() ? `dir:${await hashHostDir(p)}` : `file:${sha256File(p)}` };
  };

  const bakeOne = async (o: BakeSpec, name: string): Promise<Done> => {
    const imageOf = await input(o.image, name);
    return run(() =>
      wrap(name, 'bake', async () => {
        const image = await imageOf();
        reporter.emit({ type: 'progress', output: name, phase: o.kernel.debian ? `finding ${o.kernel.debian} in the package lists` : 'reading the kernel' });
        const kernel = await kernelOf(o.kernel);
        const inputs = {
          cakeImg: VERSION, image: image.id, kernel: kernel.id, size: o.size ?? '1G', uuid: o.uuid ?? null, debug: !!o.debug,
          options: o.options ?? [], modules: o.modules ?? [], sourceDateEpoch: opts.sourceDateEpoch ?? null, force: !!o.force,
          ...(o.format && o.format !== 'raw' ? { format: o.format } : {}),
        };
        const key = createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
        const ext = FORMAT_EXTENSION[o.format ?? 'raw'];
        const img = nodePath.resolve(opts.out, `${name}.${ext}`);
        const stampFile = nodePath.resolve(opts.out, `.${name}.${ext}.cake.json`);
        const stamp = readStamp(stampFile);
        if (!opts.rebuild && stamp?.key === key && fs.existsSync(img) && fs.statSync(img).mtimeMs === stamp.mtimeMs) {
          if (opts.explain) reporter.emit({ type: 'log', output: name, line: `${img} was baked from the same inputs` });
          return { path: img, sha256: stamp.sha256, size: fs.statSync(img).size, cached: true };
        }
        if (opts.explain) reporter.emit({ type: 'log', output: name, line: stamp ? explainBake(stamp.inputs, inputs) : `no earlier bake in ${opts.out}` });
        reporter.emit({ type: 'progress', output: name, phase: 'baking' });
        const r = await bakeImage({
          rootfs: image.path, kernel: kernel.path, modules: o.modules ? [...o.modules] : [], options: (o.options ?? []).join(' '),
          size: o.size ?? '1G', uuid: o.uuid, debug: o.debug, force: o.force, output: img, format: o.format, sourceDateEpoch: opts.sourceDateEpoch,
          onPhase: (phase, bytes) => reporter.emit({ type: 'progress', output: name, phase, bytes }),
        });
        for (const n of r.notes) reporter.emit({ type: 'log', output: name, line: n });
        reporter.emit({ type: 'log', output: name, line: `modules in load order: ${r.modules.join(' ') || '(none)'}` });
        const sha256 = sha256File(img);
        fs.writeFileSync(stampFile, JSON.stringify({ key, sha256, mtimeMs: fs.statSync(img).mtimeMs, inputs }, null, 2));
        return { path: img, sha256, size: r.fileBytes, cached: false };
      }),
    );
  };

  // Every selected output; the first failure stops the build (others finish their step).
  const settled = await Promise.allSettled(selected.map((n) => realise(recipe.outputs.get(n)!, n)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (madeOut && fs.existsSync(opts.out) && fs.readdirSync(opts.out).length === 0 && failed) fs.rmdirSync(opts.out);
  forgetOut();
  if (failed) throw failed.reason;
  const order = new Map([...names.values()].map((n, i) => [n, i]));
  rows.sort((a, b) => (order.get(a.output) ?? 0) - (order.get(b.output) ?? 0));
  return rows;
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

interface Stamp {
  key: string;
  sha256: string;
  mtimeMs: number;
  inputs: Record<string, unknown>;
}

function readStamp(file: string): Stamp | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Stamp;
  } catch {
    return null;
  }
}

function explainBake(before: Record<string, unknown>, now: Record<string, unknown>): string {
  const changed = Object.keys(now).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(now[k]));
  return changed.length ? `rebaking: ${changed.map((k) => `${k} changed`).join(', ')}` : 'rebaking: the image changed since it was baked';
}
