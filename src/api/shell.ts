// `cake-img shell`: the original recipe's last step, "serve up the system": a shell (or a
// command) inside a tree under proot, rootless:
//   proot --cwd=/ --rootfs=ROOTFS --bind=/proc --bind=/dev [--bind=HOST:GUEST]... \
//     /usr/bin/env - /bin/sh -c '. /etc/profile && sh'
// The tree is any source (a cooked directory, a store entry by name, a tarball, an image),
// materialised into a scratch directory that is removed at the end, or into --keep DIR,
// which is then a cooked directory other commands take (its table records the owners the
// host cannot hold; what the shell changed is merged in when it is read, as after a cook).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { materialise } from '../cook/materialise.js';
import { listEntries } from '../cook/store.js';
import { storeDir } from '../host/cache.js';
import { removeOnExit, spawnTracked, withForegroundChild } from '../host/lifecycle.js';
import { loadSource } from '../host/load-source.js';
import { probeProot, prootTool } from '../host/proot.js';
import { resolveInRoot } from '../cook/in-root.js';
import { ROOTFS_NAME } from '../sources/meta-table.js';
import { CakeError, InvalidOptionError, OutputError, quote } from '../util/errors.js';
import { removeTree } from '../util/remove-tree.js';

export interface ShellRequest {
  /** A source path, or the name of a store entry. */
  src: string;
  /** HOST or HOST:GUEST (GUEST absolute; default the same path). */
  binds?: string[];
  /** Seem to be root inside (proot --root-id). */
  rootId?: boolean;
  /** Keep the tree here (a new directory) as a cooked directory. */
  keep?: string;
  /** Run this instead of an interactive shell; its exit code is the result. */
  command?: string[];
  platform?: string;
  lenient?: boolean;
  /** Progress lines (what is being prepared). */
  log?: (line: string) => void;
}

export interface ShellResult {
  exitCode: number;
  /** The kept cooked directory (with --keep). */
  kept?: string;
}

const CONTROL = /[\x00-\x1f\x7f]/;

/** proot's --bind value for HOST[:GUEST]; the host path must exist. */
export function bindArg(spec: string): string {
  const colon = spec.indexOf(':');
  const host = colon < 0 ? spec : spec.slice(0, colon);
  const guest = colon < 0 ? nodePath.resolve(host) : spec.slice(colon + 1);
  if (!host || CONTROL.test(spec)) throw new InvalidOptionError('--bind', `expected HOST[:GUEST], not ${JSON.stringify(spec)}`);
  if (!guest.startsWith('/')) throw new InvalidOptionError('--bind', `the guest path ${JSON.stringify(guest)} must be absolute`);
  if (!fs.existsSync(host)) throw new InvalidOptionError('--bind', `${quote(host)}: no such file or directory on the host`);
  return `--bind=${nodePath.resolve(host)}:${guest}`;
}

/** A store entry's cooked directory by its name (the newest one), when SRC is no path. */
function storeEntry(src: string): string | undefined {
  if (src.includes('/') || fs.existsSync(src)) return undefined;
  const hits = listEntries(storeDir()).filter((e) => e.info.name === src).sort((a, b) => b.lastUsed - a.lastUsed);
  return hits[0]?.path;
}

/** The directory the tree goes into: --keep DIR (new or empty), else a scratch one removed at the end. */
interface WorkDir {
  dir: string;
  scratch: boolean;
  /** Removes what the run put there (the directory too, unless it was the user's own empty one). */
  discard(): void;
  /** The run ended: nothing to remove on a signal any more. */
  forget(): void;
}

function workDir(keep: string | undefined): WorkDir {
  if (keep === undefined) {
    const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'cake-shell-'));
    const forget = removeOnExit(dir);
    return { dir, scratch: true, discard: () => removeTree(dir), forget };
  }
  const dir = nodePath.resolve(keep);
  let made = true;
  try {
    fs.mkdirSync(dir, { mode: 0o755 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw new OutputError(quote(keep), `cannot create the directory (${code}); --keep takes a new directory`);
    if (!fs.statSync(dir).isDirectory() || fs.readdirSync(dir).length) throw new OutputError(quote(keep), 'exists and is not an empty directory; --keep takes a new directory');
    made = false;
  }
  // A signal removes what is inside; an empty directory the user made stays.
  const inner = nodePath.join(dir, ROOTFS_NAME);
  const forget = removeOnExit(made ? dir : inner);
  const discard = () => {
    if (made) removeTree(dir);
    else for (const e of fs.readdirSync(dir)) removeTree(nodePath.join(dir, e));
  };
  return { dir, scratch: false, discard, forget };
}

export async function shell(req: ShellRequest): Promise<ShellResult> {
  const binds = (req.binds ?? []).map(bindArg);
  if (req.command && req.command.some((a) => a.includes('\0'))) throw new InvalidOptionError('COMMAND', 'an argument holds a NUL byte');
  const proot = await prootTool(req.log);
  probeProot(proot);
  const source = storeEntry(req.src) ?? req.src;
  const work = workDir(req.keep);
  const { dir } = work;
  let kept = false;
  try {
    req.log?.(`unpacking ${source}`);
    const loaded = await loadSource(source, { platform: req.platform, lenient: req.lenient });
    try {
      await materialise(loaded, dir);
    } finally {
      await loaded.content.close();
    }
    const rootfs = nodePath.join(dir, ROOTFS_NAME);
    for (const need of ['/bin/sh', '/usr/bin/env']) {
      let there = false;
      try {
        there = fs.existsSync(resolveInRoot(rootfs, need, { followLast: true }));
      } catch {
        /* a missing or odd directory on the way: not there */
      }
      if (!there) throw new CakeError('ESCRIPT', 'tool', `${quote(req.src)} has no ${need}, which a shell inside it needs`);
    }
    const inner = req.command?.length
      ? ['/bin/sh', '-c', '. /etc/profile 2>/dev/null; exec "$@"', 'sh', ...req.command]
      : ['/bin/sh', '-c', '. /etc/profile 2>/dev/null; exec sh'];
    // The environment is emptied as the original does (env -), but for the terminal type.
    const envKeep = process.env.TERM ? [`TERM=${process.env.TERM}`] : [];
    const args = ['--cwd=/', ...(req.rootId ? ['--root-id'] : []), `--rootfs=${rootfs}`, '--bind=/proc', '--bind=/dev', ...binds, '/usr/bin/env', '-', ...envKeep, ...inner];
    const exitCode = await withForegroundChild(() => new Promise<number>((resolve, reject) => {
      // In our process group: the shell reads the terminal (a background group would be stopped).
      const child = spawnTracked(proot.command, args, { stdio: 'inherit', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...proot.env }, group: false });
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
    }));
    kept = !work.scratch;
    return { exitCode, kept: kept ? dir : undefined };
  } finally {
    if (!kept) work.discard();
    work.forget();
  }
}
