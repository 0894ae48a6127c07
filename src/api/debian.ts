// Debian packages fetched rootless: `apt-get download` (works for any user with the
// machine's apt lists) into the cache, unpacked with `dpkg-deb -x`, kept by name.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CakeError, ToolError } from '../util/errors.js';

const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;

function run(cmd: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { status?: number; stderr?: string };
    if (err.code === 'ENOENT') throw new CakeError('ENOTOOL', 'tool', `${cmd} not found: fetching Debian packages needs a Debian-family host with apt`);
    throw new ToolError(`${cmd} ${args.join(' ')}`, err.status ?? null, String(err.stderr ?? err.message));
  }
}

/** The concrete package a meta package (linux-image-amd64) depends on. */
export function resolveDependency(meta: string, prefix: string): string {
  const out = run('apt-cache', ['depends', '--no-recommends', '--no-suggests', meta]);
  const m = new RegExp(`Depends: (${prefix}\\S+)`).exec(out);
  if (!m) throw new CakeError('ENOPKG', 'tool', `apt-cache depends ${meta}: no ${prefix}* package (run apt-get update?)`);
  return m[1]!;
}

/** Unpacks a .deb file into `dest` (once). */
export function unpackDeb(deb: string, dest: string): string {
  if (fs.existsSync(path.join(dest, '.cake-unpacked'))) return dest;
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  run('dpkg-deb', ['-x', deb, dest]);
  fs.writeFileSync(path.join(dest, '.cake-unpacked'), path.basename(deb));
  return dest;
}

/** Downloads and unpacks package `name` under `cache`; returns the unpacked root. */
export function debianPackage(name: string, cache: string): string {
  const root = path.join(cache, 'deb', name);
  if (fs.existsSync(path.join(root, '.cake-unpacked'))) return root;
  const dl = path.join(cache, 'deb', `${name}.download`);
  fs.rmSync(dl, { recursive: true, force: true });
  fs.mkdirSync(dl, { recursive: true });
  run('apt-get', ['download', name], dl);
  const deb = fs.readdirSync(dl).find((f) => f.endsWith('.deb'));
  if (!deb) throw new CakeError('ENOPKG', 'tool', `apt-get download ${name} gave no package`);
  unpackDeb(path.join(dl, deb), root);
  fs.rmSync(dl, { recursive: true, force: true });
  return root;
}
