// Host tools cake-img runs (proot for cook scripts, QEMU for boot), found without root:
// the host's own when installed; otherwise fetched from the machine's Debian/Ubuntu
// package sources with `apt-get download` (any user can), with whatever of their
// dependencies the host lacks (as `apt-get -s install` works out), unpacked into the cache
// and run from there with their shared libraries (LD_LIBRARY_PATH) and data (qemu -L).
// CAKE_IMG_FETCH_TOOLS=1 fetches even when the host has them (tests, or to pin versions).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CakeError } from '../util/errors.js';
import { cacheDir } from './cache.js';
import { runTool } from './run-tool.js';
import { isUnpacked, unpackDebs, withDownloaded } from './debian.js';


export interface HostTool {
  /** The executable to spawn. */
  command: string;
  /** Extra environment (LD_LIBRARY_PATH for a fetched tool). */
  env: Record<string, string>;
  /** Arguments to put first (qemu's -L data directories). */
  args: string[];
  /** 'host' or the cache directory it was fetched into. */
  from: string;
}

interface ToolInfo {
  bin: string;
  pkg: string;
  /** Paths of the binary inside the package. */
  inPackage: string;
  dataDirs?: string[];
  /** Environment variables naming directories inside the package (QEMU's loadable modules). */
  envDirs?: Record<string, string>;
  /**
   * Packages fetched with it even when the host has them: QEMU finds its modules and data
   * relative to its own binary (a relocatable build), so they must sit in the same tree.
   */
  companions?: string[];
}

const TOOLS: Record<string, ToolInfo> = {
  proot: { bin: 'proot', pkg: 'proot', inPackage: 'usr/bin/proot' },
  'qemu-system-x86_64': { bin: 'qemu-system-x86_64', pkg: 'qemu-system-x86', inPackage: 'usr/bin/qemu-system-x86_64', dataDirs: ['usr/share/qemu', 'usr/share/seabios', 'usr/lib/ipxe/qemu'], envDirs: { QEMU_MODULE_DIR: 'usr/lib/x86_64-linux-gnu/qemu' },
    companions: ['qemu-system-common', 'qemu-system-data', 'seabios', 'ipxe-qemu'] },
};

const SEARCH = () => [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'].filter(Boolean);

function onPath(bin: string): string | null {
  for (const dir of SEARCH()) {
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** Directories under `root` that hold shared libraries. */
function libraryDirs(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (names.some((d) => /\.so(\.\d+)*$/.test(d.name))) out.push(dir);
    if (depth < 4) for (const d of names) if (d.isDirectory()) walk(path.join(dir, d.name), depth + 1);
  };
  for (const top of ['lib', 'usr/lib', 'lib64', 'usr/lib64']) walk(path.join(root, top), 0);
  return out;
}

async function apt(args: string[], cwd?: string): Promise<string> {
  try {
    return (await runTool('apt-get', args, { cwd, maxBuffer: 1 << 26, env: { ...process.env, LC_ALL: 'C' } })).stdout;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new CakeError('ENOTOOL', 'tool', 'apt-get not found: fetching tools needs a Debian or Ubuntu host with apt');
    throw new CakeError('ENOTOOL', 'tool', `apt-get ${args.join(' ')} failed: ${String(err.stderr || err.message).trim().split('\n').slice(-2).join(' | ')}`);
  }
}

/** The packages `pkg` needs that the host lacks (itself included), by apt's own resolution. */
async function missingPackages(pkg: string): Promise<string[]> {
  const out = await apt(['-s', '-qq', 'install', '--no-install-recommends', pkg]);
  const list = [...out.matchAll(/^Inst (\S+) /gm)].map((m) => m[1]!);
  return list.includes(pkg) ? list : [pkg, ...list];
}

/** Downloads and unpacks `info.pkg` and what the host lacks of its dependencies into the cache. */
async function fetchTool(info: ToolInfo, log?: (line: string) => void): Promise<string> {
  const base = cacheDir('tools');
  const version = (await apt(['download', '--print-uris', info.pkg]).catch(() => '')).match(/ (\S+\.deb) /)?.[1] ?? info.pkg;
  const root = path.join(base, version.replace(/\.deb$/, ''));
  if (isUnpacked(root)) return root;
  const pkgs = [...new Set([...(await missingPackages(info.pkg)), ...(info.companions ?? [])])];
  log?.(`fetching ${info.pkg} rootless with apt-get download (${pkgs.length} package${pkgs.length === 1 ? '' : 's'})`);
  return withDownloaded(pkgs, base, (debs) => unpackDebs(debs, root, pkgs.join(' ')));
}

const found = new Map<string, Promise<HostTool>>();

/**
 * `bin` (proot, qemu-system-x86_64) ready to run: the host's, else fetched. Errors say
 * what to install when fetching is impossible (not a Debian-family host, no apt lists).
 */
export function hostTool(bin: keyof typeof TOOLS, log?: (line: string) => void): Promise<HostTool> {
  let p = found.get(bin);
  if (!p) {
    p = locate(bin, log);
    found.set(bin, p);
    p.catch(() => found.delete(bin));
  }
  return p;
}

async function locate(bin: string, log?: (line: string) => void): Promise<HostTool> {
  const info = TOOLS[bin]!;
  const force = process.env.CAKE_IMG_FETCH_TOOLS === '1';
  const host = onPath(info.bin);
  if (host && !force) return { command: host, env: {}, args: [], from: 'host' };
  let root: string;
  try {
    root = await fetchTool(info, log);
  } catch (e) {
    const why = e instanceof CakeError ? e.message : String(e);
    throw new CakeError('ENOTOOL', 'tool', `${info.bin} is not installed and could not be fetched (${why}); install it: apt-get install ${info.pkg}`);
  }
  const command = path.join(root, info.inPackage);
  if (!fs.existsSync(command)) throw new CakeError('ENOTOOL', 'tool', `${info.pkg} as fetched has no ${info.inPackage}`);
  const libs = libraryDirs(root);
  const env: Record<string, string> = libs.length ? { LD_LIBRARY_PATH: [...libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } : {};
  for (const [k, d] of Object.entries(info.envDirs ?? {})) if (fs.existsSync(path.join(root, d))) env[k] = path.join(root, d);
  const args = (info.dataDirs ?? []).map((d) => path.join(root, d)).filter((d) => fs.existsSync(d)).flatMap((d) => ['-L', d]);
  return { command, env, args, from: root };
}
