// npm run build, second step: the CLI and the library entry bundled by esbuild over what
// tsc emitted. Loading some 200 modules one by one (resolve, read, compile, link each) was
// about 0.2 s of CPU before a command began; a few chunks load in a fraction of that.
// Both entries share their chunks, so a recipe's `import 'cake-img'` (dist/index.js)
// gets the very classes the CLI checks errors against. The other files tsc emitted stay
// for deep imports and their .d.ts. The pure-JS packages are bundled too: resolving and
// loading commander, pako, @noble/hashes and the rest from node_modules, CJS parsing
// included, was 60-70 ms of a 0.43 s `mkfs` of the busybox tree (A/B 0.82x wall). Native
// addons (@napi-rs/*) and jiti (recipes are loaded through it, with its own resolver)
// stay in node_modules. The code is not minified, so stack traces still read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(root, process.argv[2] ?? 'dist');

// One level below dist, as every emitted module was: recipe/load.ts finds dist/index.js
// as '../index.js' from its own file.
const CHUNKS = 'chunks';

fs.rmSync(path.join(out, CHUNKS), { recursive: true, force: true });
await build({
  entryPoints: { 'cli/main': path.join(root, 'src/cli/main.ts'), index: path.join(root, 'src/index.ts') },
  bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node20',
  external: ['@napi-rs/*', 'jiti'],
  // CJS packages in an ESM bundle call require() for Node's modules; ESM has none.
  banner: { js: "import { createRequire as __cakeRequire } from 'node:module'; const require = __cakeRequire(import.meta.url);" },
  outdir: out, chunkNames: `${CHUNKS}/[name]-[hash]`, logLevel: 'warning',
});
fs.chmodSync(path.join(out, 'cli/main.js'), 0o755);
// tsc's source maps of the two files just replaced describe code that is no longer there.
for (const f of ['cli/main.js.map', 'index.js.map']) fs.rmSync(path.join(out, f), { force: true });
