// npm run build:web: the page (main.ts) and its worker (worker.ts) bundled for the browser
// with esbuild into dist/web beside index.html and style.css. No CDN: everything the page
// loads is in that folder (the xz decoder's WebAssembly is inside the worker bundle).
// Any Node builtin reachable from the page fails the build (platform: browser).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../dist/web');

export async function buildWeb({ quiet = false } = {}) {
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const r = await build({
    entryPoints: { main: path.join(here, 'main.ts'), worker: path.join(here, 'worker.ts'), 'xz-worker': path.join(here, 'xz-worker.ts') },
    bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outdir: out, minify: true, sourcemap: true,
    metafile: true, logLevel: quiet ? 'silent' : 'warning', legalComments: 'linked',
  });
  for (const f of ['index.html', 'style.css']) fs.copyFileSync(path.join(here, f), path.join(out, f));
  const sizes = Object.entries(r.metafile.outputs).filter(([f]) => f.endsWith('.js')).map(([f, o]) => `${path.basename(f)} ${(o.bytes / 1024).toFixed(0)} KiB`);
  if (!quiet) console.log(`dist/web: index.html, style.css, ${sizes.join(', ')}`);
  return r.metafile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildWeb().catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
