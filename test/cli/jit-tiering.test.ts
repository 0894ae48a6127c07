// host/jit-tiering.ts: bake and mkfs start without TurboFan (but for per-byte loops named
// hotLoop*) and turn it on once a walk passes WALK_ENTRIES entries. Judged by V8 itself (%GetOptimizationStatus in a child
// node with natives syntax): a hot function is not TurboFan code while deferred, and is
// once the count is crossed.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = path.resolve('dist/host/jit-tiering.js');
const TURBOFANNED = 1 << 6; // V8's OptimizationStatus::kTurboFanned

// Runs `body` in a child node that has the module as `t`, a hot function `hot`, and
// `tf(ms)` (whether `hot` is TurboFan code after up to `ms` of calls: 3 s where it should be,
// 0.5 s where it should not; unhindered, V8 optimizes it within milliseconds); prints its JSON result.
function child(body: string, flags: string[] = []): unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-jit-'));
  try {
    const script = path.join(dir, 'probe.mjs');
    fs.writeFileSync(script, `
import * as t from ${JSON.stringify(pathToFileURL(MODULE).href)};
function hot(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + i * i) % 1000003; return s; }
function hotLoopProbe(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + i * i) % 1000003; return s; }
function tf(ms = 3000, f = hot) {
  const end = Date.now() + ms;
  do { for (let k = 0; k < 50; k++) f(20000); } while (!(%GetOptimizationStatus(f) & ${TURBOFANNED}) && Date.now() < end);
  return (%GetOptimizationStatus(f) & ${TURBOFANNED}) !== 0;
}
${body}
`);
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', ...flags, script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const measuredV8 = /^11\./.test(process.versions.v8);

describe.skipIf(!fs.existsSync(MODULE))('jit tiering', () => {
  it.runIf(measuredV8)('deferred: no TurboFan code until the walk passes the threshold (but for hotLoop* functions), then TurboFan', () => {
    const got = child(`
t.deferOptimizingCompiler('');
const before = tf(500);
const hotLoop = tf(3000, hotLoopProbe);
t.countWalked(t.WALK_ENTRIES - 1);
const stillDeferred = t.optimizingDeferred();
const under = tf(500);
t.countWalked(1);
const after = tf();
console.log(JSON.stringify({ before, hotLoop, stillDeferred, under, deferredAfter: t.optimizingDeferred(), after }));
`);
    expect(got).toEqual({ before: false, hotLoop: true, stillDeferred: true, under: false, deferredAfter: false, after: true });
  });

  it('a user flag for the compiler wins: nothing is deferred', () => {
    for (const given of ['--turbofan', '--no-opt', '--max-opt=1', '--maglev', '--turbo-filter=x']) {
      const got = child(`t.deferOptimizingCompiler(${JSON.stringify(given)}); console.log(JSON.stringify({ deferred: t.optimizingDeferred(), tf: tf() }));`);
      expect(got, given).toEqual({ deferred: false, tf: true });
    }
  });

  it.runIf(measuredV8)('optimizeFromNow ends the deferral at once', () => {
    const got = child(`t.deferOptimizingCompiler(''); const before = tf(500); t.optimizeFromNow(); console.log(JSON.stringify({ before, after: tf() }));`);
    expect(got).toEqual({ before: false, after: true });
  });
});
