// `cake-img build` as uid 65534: a TypeScript recipe (a function of the builders) and the
// same recipe in JSON give the same trees; cooks chain through the store, a bake lands in
// --out, a second build is all cached; --json events; --only; errors name the recipe file
// and the output. (The busybox-machine example itself is built and booted by .ci/run.)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cakeImg, canRunAsNobody } from '../helpers/cli.js';
import { type DebianKernel, debianKernel } from '../helpers/debian.js';
import { expectFsckClean } from '../oracles/e2fsck.js';
import { hasTool } from '../oracles/tools.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-recipe-'));
fs.chmodSync(work, 0o777);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const env = { XDG_CACHE_HOME: path.join(work, 'cache'), SOURCE_DATE_EPOCH: '1700000000' };
const run = (args: string[]) => cakeImg(args, { asNobody: canRunAsNobody, env });

interface Ev { type: string; output?: string; cached?: boolean; sha256?: string; rows?: { output: string; cached: boolean; sha256: string; size: number }[]; message?: string; step?: string }
const events = (stdout: string): Ev[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);

let k: DebianKernel;
const canBuild = () => hasTool('proot') && hasTool('qemu-system-x86_64') && hasTool('apt-get') && hasTool('extlinux');

const TS = (kernel: string) => `
import type { Helpers } from 'cake-img';
export default ({ cook, bake, directory, kernelFile }: Helpers) => {
  const base = cook({ src: directory('./tree'), path: ['/opt/bin'] });
  const tuned = cook({ name: 'tuned', src: base, script: 'echo tuned > /etc/motd\\nchmod 600 /etc/motd\\n' });
  return {
    base,
    tuned,
    disk: bake({ image: tuned, kernel: kernelFile(${JSON.stringify(kernel)}), size: '64M', modules: ['virtio_blk'], options: ['console=ttyS0'], firmware: 'bios' }),
  };
};
`;

const JSON_RECIPE = (kernel: string) => ({
  base: { cook: { src: './tree', path: ['/opt/bin'] } },
  tuned: { cook: { src: 'base', script: 'echo tuned > /etc/motd\nchmod 600 /etc/motd\n' } },
  disk: { bake: { image: 'tuned', kernel: { path: kernel }, size: '64M', modules: ['virtio_blk'], options: ['console=ttyS0'], firmware: 'bios' } },
});

describe.skipIf(!canBuild())('cake-img build', () => {
  const tsDir = path.join(work, 'ts');
  const jsonDir = path.join(work, 'json');
  beforeAll(async () => {
    k = await debianKernel();
    for (const dir of [tsDir, jsonDir]) {
      fs.mkdirSync(path.join(dir, 'tree/bin'), { recursive: true });
      fs.mkdirSync(path.join(dir, 'tree/etc'));
      fs.mkdirSync(path.join(dir, 'tree/usr/bin'), { recursive: true });
      fs.copyFileSync('/bin/busybox', path.join(dir, 'tree/bin/busybox'));
      fs.symlinkSync('busybox', path.join(dir, 'tree/bin/sh'));
      fs.symlinkSync('/bin/busybox', path.join(dir, 'tree/usr/bin/env'));
      fs.symlinkSync('/bin/busybox', path.join(dir, 'tree/bin/chmod'));
      fs.writeFileSync(path.join(dir, 'tree/etc/profile'), 'export PATH=/bin\n');
    }
    fs.writeFileSync(path.join(tsDir, 'cake.config.ts'), TS(k.root));
    fs.writeFileSync(path.join(jsonDir, 'cake.config.json'), JSON.stringify(JSON_RECIPE(k.root)));
    fs.mkdirSync(env.XDG_CACHE_HOME, { mode: 0o777 });
    fs.chmodSync(env.XDG_CACHE_HOME, 0o777);
    for (const d of [tsDir, jsonDir]) fs.chmodSync(d, 0o777);
  }, 300_000);

  it('builds a TypeScript recipe: cooks chain, the bake lands in --out, events and summary on --json', () => {
    const out = path.join(work, 'out-ts');
    const r = run(['build', tsDir, '--out', out, '--json']);
    expect(r.status, r.stderr + r.stdout.slice(-2000)).toBe(0);
    const ev = events(r.stdout);
    const order = ev.filter((e) => e.type === 'end').map((e) => e.output);
    expect(order).toEqual(['base', 'tuned', 'disk']); // inputs first
    expect(ev.filter((e) => e.type === 'start').map((e) => e.output).sort()).toEqual(['base', 'disk', 'tuned']);
    expect(ev.some((e) => e.type === 'progress' && e.output === 'disk')).toBe(true);
    const summary = ev.at(-1)!;
    expect(summary.type).toBe('summary');
    expect(summary.rows!.map((x) => [x.output, x.cached])).toEqual([['base', false], ['tuned', false], ['disk', false]]);
    expect(summary.rows!.every((x) => /^sha256:[0-9a-f]{64}$/.test(x.sha256))).toBe(true);
    const img = path.join(out, 'disk.img');
    expect(fs.statSync(img).size).toBe(64 * 1024 * 1024);
    // The partition at 1 MiB is the tuned tree: e2fsck is clean and /etc/motd is there.
    const part = path.join(work, 'part.ext4');
    fs.writeFileSync(part, fs.readFileSync(img).subarray(1 << 20));
    expectFsckClean(part);
    const again = run(['build', tsDir, '--out', out, '--json']);
    expect(again.status, again.stderr).toBe(0);
    const rows = events(again.stdout).at(-1)!.rows!;
    expect(rows.map((x) => [x.output, x.cached])).toEqual([['base', true], ['tuned', true], ['disk', true]]);
    expect(rows.map((x) => x.sha256)).toEqual(summary.rows!.map((x) => x.sha256));
  });

  it('the JSON form of the same recipe gives the same trees and the same image', () => {
    const out = path.join(work, 'out-json');
    const r = run(['build', path.join(jsonDir, 'cake.config.json'), '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const rows = events(r.stdout).at(-1)!.rows!;
    const ts = events(run(['build', tsDir, '--out', path.join(work, 'out-ts'), '--json']).stdout).at(-1)!.rows!;
    expect(rows.map((x) => x.sha256)).toEqual(ts.map((x) => x.sha256));
  });

  it('--only builds an output and what it needs; plain log lines and a summary table when not on a terminal', () => {
    const out = path.join(work, 'out-only');
    const r = run(['build', tsDir, '--out', out, '--only', 'tuned', '--explain']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^\[tuned\] cook$/m);
    expect(r.stderr).toMatch(/^\[tuned\] tuned: cached in /m);
    expect(r.stderr).toMatch(/^output +size +sha256 +time +status$/m);
    expect(r.stderr).toMatch(/^tuned +\S+ \S+ +sha256:[0-9a-f]{64} +\S+ +cached$/m);
    expect(fs.existsSync(path.join(out, 'disk.img'))).toBe(false);
  });

  it('errors name the recipe file and the output', () => {
    const bad = path.join(work, 'bad');
    fs.mkdirSync(bad, { mode: 0o777 });
    fs.chmodSync(bad, 0o777);
    const write = (name: string, text: string) => {
      fs.writeFileSync(path.join(bad, name), text);
      return path.join(bad, name);
    };
    const failing = write('fail.ts', `import { cook, directory } from 'cake-img';\nexport default { broken: cook({ src: directory(${JSON.stringify(path.join(tsDir, 'tree'))}), script: 'exit 7' }) };\n`);
    let r = run(['build', failing, '--out', path.join(work, 'out-bad')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cake-img: error: ${failing}: output "broken": the cook script failed (exit 7)`);
    const syntax = write('syntax.ts', 'export default { oops: ');
    r = run(['build', syntax]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^cake-img: error: ${syntax.replace(/[.]/g, '\\.')}:1:\\d+: cannot load`, 'm'));
    const notOutput = write('not.mjs', 'export default { thing: 42 };\n');
    r = run(['build', notOutput]);
    expect(r.stderr).toContain(`${notOutput}: output "thing": is not a cook(...) or bake(...)`);
    r = run(['build', tsDir, '--only', 'nope']);
    expect(r.stderr).toMatch(/no output named "nope" \(it has base, tuned, disk\)/);
    const json = write('cake.config.json', JSON.stringify({ a: { bake: { image: 'missing-output-or-path', kernel: { path: k.root } } } }));
    r = run(['build', json, '--out', path.join(work, 'out-bad2')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${json.replace(/[.]/g, '\\.')}: output "a": .*missing-output-or-path`));
  });

  it('store gc --recipe keeps what the recipe pins and removes the rest', () => {
    const rows = events(run(['build', tsDir, '--out', path.join(work, 'out-ts'), '--json']).stdout).at(-1)!.rows!;
    const base = rows.find((x) => x.output === 'base')!.sha256;
    const tuned = rows.find((x) => x.output === 'tuned')!.sha256;
    const pin = path.join(work, 'pin.json');
    fs.writeFileSync(pin, JSON.stringify({ base: { cook: { src: './ts/tree', sha256: base } } }));
    const listed = () => run(['store', 'ls', '--json']).stdout.trim().split('\n').map((l) => (JSON.parse(l) as { hash: string }).hash);
    expect(listed()).toContain(tuned);
    const dry = run(['store', 'gc', '--recipe', pin, '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would remove .*-tuned$/m);
    expect(dry.stdout).not.toMatch(/would remove .*-base$/m);
    expect(run(['store', 'gc', '--recipe', pin]).status).toBe(0);
    expect(new Set(listed())).toEqual(new Set([base]));
  });

  it('--jobs: independent cooks run side by side with 2, one after the other with 1', () => {
    // No sleeps: each cook's prepare step (on the host) looks for the other one running.
    // With 2 jobs each waits (bounded) until it sees the other; with 1 neither ever does.
    const dir = path.join(work, 'jobs');
    const shared = path.join(work, 'jobs-shared');
    for (const d of [dir, shared]) {
      fs.mkdirSync(d, { mode: 0o777 });
      fs.chmodSync(d, 0o777);
    }
    const tree = JSON.stringify(path.join(tsDir, 'tree'));
    const prepare = (me: string, other: string, wait: boolean) => JSON.stringify(
      `touch ${shared}/${me}.running; i=0; ` +
      (wait ? `while [ ! -e ${shared}/${other}.running ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; ` : '') +
      `if [ -e ${shared}/${other}.running ]; then echo together; else echo alone; fi > ${shared}/${me}.saw; ` +
      (wait ? `while [ ! -e ${shared}/${other}.saw ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; ` : '') +
      `rm -f ${shared}/${me}.running`,
    );
    const order = (jobs: string) => {
      for (const f of fs.readdirSync(shared)) fs.rmSync(path.join(shared, f));
      const wait = jobs !== '1';
      fs.writeFileSync(path.join(dir, 'cake.config.mjs'), `import { cook, directory } from 'cake-img';
export default {
  a: cook({ src: directory(${tree}), prepare: ${prepare('a', 'b', wait)} }),
  b: cook({ src: directory(${tree}), prepare: ${prepare('b', 'a', wait)} }),
};
`);
      const r = run(['build', dir, '--json', '--rebuild', '--jobs', jobs, '--out', path.join(work, 'out-jobs')]);
      expect(r.status, r.stderr).toBe(0);
      const saw = ['a', 'b'].map((n) => fs.readFileSync(path.join(shared, `${n}.saw`), 'utf8').trim());
      return { saw, events: events(r.stdout).filter((e) => e.type === 'start' || e.type === 'end').map((e) => e.type) };
    };
    expect(order('2')).toEqual({ saw: ['together', 'together'], events: ['start', 'start', 'end', 'end'] });
    expect(order('1')).toEqual({ saw: ['alone', 'alone'], events: ['start', 'end', 'start', 'end'] });
    expect(run(['build', dir, '--jobs', '0']).stderr).toMatch(/--jobs: must be a whole number >= 1/);
  });
});
