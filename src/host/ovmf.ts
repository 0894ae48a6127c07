// UEFI firmware for `boot --firmware uefi`: OVMF from Debian's `ovmf` package on the host
// (/usr/share/OVMF), else the package fetched rootless into the cache, or `--ovmf DIR`.
// The code is attached read-only; each boot gets a fresh copy of the variable store (a
// stale NVRAM slows booting, and the store must be writable).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CakeError, InvalidOptionError } from '../util/errors.js';
import { debianPackage } from './debian.js';

export const HOST_OVMF_DIR = '/usr/share/OVMF';
/** Code and variable store pairs, preferred first: the 4 MiB build Debian ships since bookworm, then the 2 MiB one. */
const PAIRS = [['OVMF_CODE_4M.fd', 'OVMF_VARS_4M.fd'], ['OVMF_CODE.fd', 'OVMF_VARS.fd']] as const;

export interface OvmfFound {
  code: string;
  vars: string;
}

function inDir(dir: string): OvmfFound | undefined {
  for (const [code, vars] of PAIRS) {
    const c = path.join(dir, code), v = path.join(dir, vars);
    if (fs.existsSync(c) && fs.existsSync(v)) return { code: c, vars: v };
  }
  return undefined;
}

export async function findOvmf(opts: { path?: string; cacheDir: string; host?: boolean }): Promise<OvmfFound> {
  if (opts.path !== undefined) {
    const found = inDir(path.resolve(opts.path));
    if (!found) throw new InvalidOptionError('--ovmf', `${opts.path} holds neither ${PAIRS.map((p) => p.join(' + ')).join(' nor ')}`);
    return found;
  }
  const tried: string[] = [];
  if (opts.host !== false) {
    const found = inDir(HOST_OVMF_DIR);
    if (found) return found;
    tried.push(`nothing in ${HOST_OVMF_DIR}`);
  }
  try {
    const root = await debianPackage('ovmf', path.join(opts.cacheDir, 'ovmf'));
    const found = inDir(path.join(root, HOST_OVMF_DIR));
    if (found) return found;
    tried.push(`the ovmf package has no firmware in ${HOST_OVMF_DIR}`);
  } catch (e) {
    tried.push(`Debian package ovmf: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
  throw new CakeError('ENOOVMF', 'tool', `no UEFI firmware found (${tried.join('; ')}): install ovmf (apt-get install ovmf) or pass --ovmf DIR`, { tried });
}
