// The one check every fuzz property makes: a decoder given untrusted bytes gives a value
// or a CakeError (a one-line, user-facing failure), never another exception (TypeError,
// RangeError, a raw errno error, a plain Error: those are bugs), and it ends within a
// bound. Also the corpus of regression fixtures (test/fuzz/corpus/<decoder>/) and the
// runner that checks a property with the run count every decoder gets.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { CakeError } from '../../src/util/errors.js';

/** Cases per property: at least 200 (CAKE_FUZZ_RUNS raises it, never lowers it). */
export const RUNS = Math.max(200, Number(process.env.CAKE_FUZZ_RUNS ?? 200) || 200);

export const CORPUS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');

export interface Outcome<T> {
  value?: T;
  error?: CakeError | Error;
  ms: number;
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}${(e as NodeJS.ErrnoException).code ? ` (${(e as NodeJS.ErrnoException).code})` : ''}: ${e.message}\n${e.stack ?? ''}`;
  return `a thrown ${typeof e}: ${String(e)}`;
}

/**
 * Runs `fn` and returns its value or the CakeError it threw. Fails (throws an assertion
 * error naming the culprit, with its stack) when it threw anything else, or used more
 * than `boundMs` of this process's CPU time (CPU, not wall time: a loaded CI machine must
 * not make a quick decoder look slow). An async hang is cut off at 3 × the bound of wall
 * time, and never before 30 s. `alsoAccept` admits another error class where a decoder
 * documents one (the tar header decoders' HeaderError).
 */
export async function expectValueOrCakeError<T>(
  fn: () => T | Promise<T>,
  boundMs = 2000,
  alsoAccept?: (e: unknown) => boolean,
): Promise<Outcome<T>> {
  const cpu0 = process.cpuUsage();
  const hangMs = Math.max(30_000, 3 * boundMs);
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangError(`did not end within ${hangMs} ms`)), hangMs);
  });
  let value: T | undefined;
  let error: unknown;
  let threw = false;
  try {
    value = await Promise.race([Promise.resolve().then(fn), hang]);
  } catch (e) {
    threw = true;
    error = e;
  } finally {
    clearTimeout(timer);
  }
  const used = process.cpuUsage(cpu0);
  const ms = (used.user + used.system) / 1000;
  if (error instanceof HangError) throw error;
  if (threw && !(error instanceof CakeError) && !alsoAccept?.(error)) {
    throw new Error(`the decoder threw something other than a CakeError: ${describeError(error)}`);
  }
  if (ms > boundMs) throw new Error(`the decoder took ${ms.toFixed(0)} ms of CPU, over its ${boundMs} ms bound`);
  return threw ? { error: error as Error, ms } : { value, ms };
}

class HangError extends Error {}

// ---------------------------------------------------------------------------------------
// the corpus

export interface CorpusCase {
  name: string;
  bytes: Uint8Array;
}

/** Every file of corpus/<decoder>/ (README files aside), sorted by name. */
export function corpus(decoder: string): CorpusCase[] {
  const dir = path.join(CORPUS_DIR, decoder);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => !/^README/i.test(n))
    .sort()
    .map((name) => ({ name, bytes: new Uint8Array(fs.readFileSync(path.join(dir, name))) }));
}

/** Replays corpus/<decoder>/: each file must give a value or a CakeError within the bound. Returns how many ran. */
export async function replayCorpus(
  decoder: string,
  run: (c: CorpusCase) => unknown,
  boundMs = 2000,
  alsoAccept?: (e: unknown) => boolean,
): Promise<number> {
  const cases = corpus(decoder);
  if (cases.length === 0) throw new Error(`the corpus of ${decoder} (${path.join(CORPUS_DIR, decoder)}) is empty`);
  const failures: string[] = [];
  for (const c of cases) {
    try {
      await expectValueOrCakeError(() => run(c), boundMs, alsoAccept);
    } catch (e) {
      failures.push(`${decoder}/${c.name}: ${(e as Error).message}`);
    }
  }
  if (failures.length) throw new Error(`corpus cases failed:\n${failures.join('\n\n')}`);
  return cases.length;
}

// ---------------------------------------------------------------------------------------
// running a property

/** A counterexample as a corpus file: bytes (.bin), a JSON document or text (.json), or a generator form (.gen.json). */
export interface Saved {
  ext: 'bin' | 'json' | 'gen.json';
  data: Uint8Array | string;
}

export interface FuzzOptions<Ts> {
  /**
   * How the shrunk counterexample is kept as a corpus file (bytes → .bin, text → .json)
   * when CAKE_FUZZ_SAVE=1: corpus/<decoder>/found-<sha256 prefix>.<ext>.
   */
  save?: (value: Ts) => Saved | Promise<Saved>;
  params?: fc.Parameters<Ts>;
}

/**
 * Checks `prop` with RUNS cases (fast-check's random seed; CAKE_FUZZ_SEED and
 * CAKE_FUZZ_PATH replay a reported failure). On failure the report carries the seed,
 * the shrunk counterexample and the decoder's error.
 */
export async function fuzz<Ts>(decoder: string, prop: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>, opts: FuzzOptions<Ts> = {}): Promise<void> {
  const replay: fc.Parameters<Ts> = {};
  if (process.env.CAKE_FUZZ_SEED) replay.seed = Number(process.env.CAKE_FUZZ_SEED);
  if (process.env.CAKE_FUZZ_PATH) replay.path = process.env.CAKE_FUZZ_PATH;
  const out = await fc.check(prop as fc.IAsyncProperty<Ts>, { numRuns: RUNS, ...replay, ...opts.params });
  if (!out.failed) return;
  let saved = '';
  if (out.counterexample && opts.save && process.env.CAKE_FUZZ_SAVE) {
    const { ext, data } = await opts.save(out.counterexample);
    const hash = createHash('sha256').update(data).digest('hex').slice(0, 12);
    const file = path.join(CORPUS_DIR, decoder, `found-${hash}.${ext}`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
    saved = `\nthe counterexample was saved as ${path.relative(process.cwd(), file)}`;
  }
  const cause = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
  throw new Error(`${fc.defaultReportMessage(out) ?? 'property failed'}${saved}\n\nThe failure: ${cause}`);
}
