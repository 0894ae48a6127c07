// When V8's optimizing compiler (TurboFan) starts work. A bake or mkfs of a small tree is
// over in about a second, and in that second TurboFan compiles hundreds of functions on a
// background thread: on a two-core machine it competes with the copy worker for the second
// core, and the code it makes runs too briefly to repay it. On the Debian minbase tree
// (8,742 entries) a bake without it used 0.85 of the CPU time and 0.91 of the wall time
// (farm-bench pairs). On a tree of 100,000 files the same mkfs took 1.55 times as long: per
// file code that runs a hundred thousand times needs optimizing.
// So those commands start with TurboFan only for the few functions named as per-byte loops
// (HOT_LOOP_PREFIX; when their source is a host directory, the case measured: mkfs 0.75 of
// the wall time, bake 0.85), and turn it on for all as soon as the work proves large: a walk past
// WALK_ENTRIES entries, an initrd that must be built (module decoding and deflate are
// per-byte loops), an output format that compresses. V8 reads the flag at each tier-up
// decision (its filter, --turbo-filter, too), so functions already hot are optimized at
// their next one.
// Only on the V8 this was measured on (Node 20's 11.x, as main.ts's heap flags), and never
// over a flag of the user's own.
import * as v8 from 'node:v8';

/**
 * Functions whose name starts so are optimized even while the rest waits: loops over every
 * byte of their input (the metadata checksums), where unoptimized code is ten times slower
 * and a small tree still feeds them megabytes. V8's filter takes one name or prefix.
 */
export const HOT_LOOP_PREFIX = 'hotLoop';

/** Entries walked before the optimizing compiler is turned on. */
export const WALK_ENTRIES = 20_000;

let deferred = false;
let walked = 0;

/** Starts the command without TurboFan; `given` is the user's Node flags (argv and NODE_OPTIONS). */
export function deferOptimizingCompiler(given: string): void {
  if (deferred || !/^11\./.test(process.versions.v8)) return;
  if (/--(no-)?(opt|turbofan|max-opt|maglev|turbo-filter)\b/.test(given)) return;
  v8.setFlagsFromString(`--turbo-filter=${HOT_LOOP_PREFIX}*`);
  deferred = true;
}

/** The work ahead is large enough to repay optimizing: TurboFan from now on. */
export function optimizeFromNow(): void {
  if (!deferred) return;
  deferred = false;
  v8.setFlagsFromString('--turbo-filter=*');
}

/** A directory walk read `n` more entries. */
export function countWalked(n: number): void {
  if (!deferred) return;
  walked += n;
  if (walked >= WALK_ENTRIES) optimizeFromNow();
}

/** For tests: whether TurboFan is still held back. */
export function optimizingDeferred(): boolean {
  return deferred;
}
