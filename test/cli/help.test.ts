// The CLI's surface: --version matches package.json, every command's --help exits 0 and
// shows an example, usage errors exit 2. And the build progress renderers.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonReporter, plainReporter, summaryTable, ttyReporter } from '../../src/recipe/progress.js';
import { VERSION } from '../../src/version.js';
import { cakeImg } from '../helpers/cli.js';

const COMMANDS = [['build'], ['cook'], ['store'], ['store', 'ls'], ['store', 'gc'], ['mkfs'], ['initramfs'], ['initrd'], ['bake'], ['boot']];

describe('command line', () => {
  it('--version is the package version', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(cakeImg(['--version']).stdout.trim()).toBe(pkg.version);
  });

  for (const c of COMMANDS) {
    it(`${c.join(' ')} --help shows an example`, () => {
      const r = cakeImg([...c, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Examples?:\n {2}cake-img /);
    });
  }

  it('usage errors exit 2, and the top-level help lists every command and the exit codes', () => {
    expect(cakeImg(['no-such-command']).status).toBe(2);
    expect(cakeImg(['mkfs']).status).toBe(2);
    const help = cakeImg(['--help']).stdout;
    for (const c of ['build', 'cook', 'store', 'mkfs', 'initramfs', 'initrd', 'bake', 'boot']) expect(help).toContain(`\n  ${c}`);
    expect(help).toMatch(/Exit codes: 0 success, 1 failure/);
  });
});

describe('build progress', () => {
  const row = { output: 'base', step: 'cook' as const, size: 2 << 20, sha256: `sha256:${'a'.repeat(64)}`, ms: 1500, cached: false, status: 'built' as const, path: '/x' };

  it('the summary table has a row per output with size, sha256, time and status', () => {
    const t = summaryTable([row, { ...row, output: 'machine', step: 'bake', cached: true, status: 'cached', size: 128 << 20 }, { ...row, output: 'remote', status: 'pulled' }]);
    expect(t).toMatch(/^output +size +sha256 +time +status$/m);
    expect(t).toMatch(/^base +2\.00 MiB +sha256:a{64} +1\.5s +built$/m);
    expect(t).toMatch(/^machine +128\.0 MiB +sha256:a{64} +1\.5s +cached$/m);
    expect(t).toMatch(/^remote +2\.00 MiB +sha256:a{64} +1\.5s +pulled$/m);
  });

  it('--json writes one parseable event per line', () => {
    let out = '';
    const r = jsonReporter((s) => (out += s));
    r.emit({ type: 'start', output: 'base', step: 'cook' });
    r.emit({ type: 'progress', output: 'base', phase: 'unpacking', files: 3, bytes: 100 });
    r.emit({ type: 'summary', rows: [row] });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; time: string });
    expect(lines.map((l) => l.type)).toEqual(['start', 'progress', 'summary']);
    expect(lines.every((l) => !Number.isNaN(Date.parse(l.time)))).toBe(true);
  });

  it('plain lines: phases once, no counters', () => {
    let out = '';
    const r = plainReporter((s) => (out += s));
    r.emit({ type: 'start', output: 'base', step: 'cook' });
    for (let i = 0; i < 5; i++) r.emit({ type: 'progress', output: 'base', phase: 'unpacking', files: i, bytes: i });
    r.emit({ type: 'end', output: 'base', step: 'cook', cached: false, status: 'built', ms: 10, sha256: row.sha256, path: '/x', size: 1 });
    expect(out).toBe(`[base] cook\n[base] unpacking\n[base] done in 0.0s: ${row.sha256}\n`);
  });

  it('on a terminal: live lines with counts, redrawn in place, cleared at the end', () => {
    let out = '';
    const r = ttyReporter((s) => (out += s), () => 80);
    r.emit({ type: 'start', output: 'base', step: 'cook' });
    r.emit({ type: 'progress', output: 'base', phase: 'unpacking', files: 12, bytes: 3 << 20 });
    r.emit({ type: 'log', output: 'base', line: 'hello from the script' });
    expect(out).toContain('base: unpacking, 12 files, 3.00 MiB');
    expect(out).toContain('\x1b[1A\x1b[J'); // the live line is replaced, not repeated
    r.emit({ type: 'end', output: 'base', step: 'cook', cached: true, status: 'cached', ms: 100, sha256: row.sha256, path: '/x', size: 1 });
    r.close();
    expect(out).toContain('= base cached in 0.1s');
    expect(out.split('\n').every((l) => l.length < 80 + 20)).toBe(true);
  });
});
