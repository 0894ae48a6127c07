// Debian packages for tests, fetched rootless with `apt-get download` and unpacked with
// `dpkg-deb -x` into a cache inside the checkout (git-ignored), once.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOL_PATH } from '../oracles/tools.js';

const CACHE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.cache/test-debs');
const env = { ...process.env, PATH: TOOL_PATH };

/** The package a virtual/meta package (linux-image-amd64) depends on, at its candidate version. */
export function resolveMeta(name: string, prefix: string): string {
  const out = execFileSync('apt-cache', ['depends', '--no-recommends', '--no-suggests', name], { encoding: 'utf8', env });
  const m = new RegExp(`Depends: (${prefix}[^\\s]+)`).exec(out);
  if (!m) throw new Error(`apt-cache depends ${name}: no ${prefix}* dependency (is apt-get update done?)`);
  return m[1]!;
}

/** Downloads and unpacks a package; returns the unpacked root. */
export function debianPackage(name: string): string {
  const root = path.join(CACHE, name);
  if (fs.existsSync(path.join(root, '.done'))) return root;
  fs.mkdirSync(CACHE, { recursive: true });
  const dl = path.join(CACHE, `${name}.dl`);
  fs.rmSync(dl, { recursive: true, force: true });
  fs.mkdirSync(dl);
  execFileSync('apt-get', ['download', name], { cwd: dl, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const deb = fs.readdirSync(dl).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${name} gave no .deb`);
  fs.rmSync(root, { recursive: true, force: true });
  execFileSync('dpkg-deb', ['-x', path.join(dl, deb), root], { env });
  fs.writeFileSync(path.join(root, '.deb'), path.join(dl, deb));
  fs.writeFileSync(path.join(root, '.done'), '');
  return root;
}

export interface DebianKernel {
  root: string;
  version: string;
  vmlinuz: string;
  modules: string;
}

/** Debian's current kernel, unpacked, with modules.dep made by depmod (a package has none). */
export function debianKernel(): DebianKernel {
  const pkg = resolveMeta('linux-image-amd64', 'linux-image-');
  const root = debianPackage(pkg);
  const version = fs.readdirSync(path.join(root, 'lib/modules'))[0]!;
  const modules = path.join(root, 'lib/modules', version);
  if (!fs.existsSync(path.join(modules, 'modules.dep'))) execFileSync('depmod', ['-b', root, version], { env });
  return { root, version, vmlinuz: path.join(root, 'boot', `vmlinuz-${version}`), modules };
}
