// Reads an image back with debugfs: stat, directory listings, file contents, xattrs.
// One debugfs process per batch of commands (the command echo splits the output).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TOOL_PATH } from './tools.js';

export interface DebugfsStat {
  ino: number;
  type: string;
  mode: number;
  flags: number;
  uid: number;
  gid: number;
  size: number;
  links: number;
  blockcount: number;
  mtime: { sec: number; nsec: number };
  atime: { sec: number; nsec: number };
  ctime: { sec: number; nsec: number };
  fastLink?: string;
  device?: { major: number; minor: number };
  xattrNames: { name: string; size: number }[];
  extents: string;
}

export function debugfsBatch(img: string, commands: string[], writable = false): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-dbg-'));
  const cmdFile = path.join(dir, 'cmds');
  fs.writeFileSync(cmdFile, commands.join('\n') + '\n', 'latin1'); // byte-string paths
  const r = spawnSync('debugfs', [...(writable ? ['-w'] : []), '-f', cmdFile, img], {
    encoding: 'latin1', maxBuffer: 1 << 30, env: { ...process.env, PATH: TOOL_PATH },
  });
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`debugfs failed: ${r.stderr}`);
  // Output: "debugfs: CMD\n" then the command's output, for each command.
  const parts = r.stdout.split(/^debugfs: .*$/m);
  parts.shift();
  const stderrParts = r.stderr;
  if (parts.length !== commands.length) throw new Error(`debugfs output has ${parts.length} parts for ${commands.length} commands:\n${stderrParts.slice(0, 2000)}`);
  return parts;
}

function time(s: string, label: string): { sec: number; nsec: number } {
  const m = new RegExp(`${label}: 0x([0-9a-f]+):([0-9a-f]+)`).exec(s);
  if (!m) return { sec: NaN, nsec: NaN };
  const lo = parseInt(m[1]!, 16) | 0;
  const extra = parseInt(m[2]!, 16);
  return { sec: lo + (extra & 3) * 2 ** 32, nsec: extra >>> 2 };
}

export function parseStat(s: string): DebugfsStat {
  const num = (re: RegExp) => {
    const m = re.exec(s);
    if (!m) throw new Error(`debugfs stat: no ${re} in:\n${s}`);
    return Number(m[1]);
  };
  const xattrNames: { name: string; size: number }[] = [];
  const ea = /Extended attributes:\n((?: {2}.*\n)*)/.exec(s);
  if (ea) for (const line of ea[1]!.split('\n')) {
    const m = /^ {2}(\S+) \((\d+)\)/.exec(line);
    if (m) xattrNames.push({ name: m[1]!, size: Number(m[2]) });
  }
  const dev = /Device major\/minor number: (\d+):(\d+)/.exec(s);
  const fl = /Fast link dest: "(.*)"/.exec(s);
  const ext = /EXTENTS:\n(.*)/.exec(s);
  return {
    ino: num(/Inode: (\d+)/),
    type: /Type: (\S+)/.exec(s)![1]!,
    mode: parseInt(/Mode: +(\d+)/.exec(s)![1]!, 8),
    flags: parseInt(/Flags: 0x([0-9a-f]+)/.exec(s)![1]!, 16),
    uid: num(/User: +(-?\d+)/) >>> 0, // debugfs prints owners as signed ints
    gid: num(/Group: +(-?\d+)/) >>> 0,
    size: num(/Size: (\d+)\n/),
    links: num(/Links: (\d+)/),
    blockcount: num(/Blockcount: (\d+)/),
    mtime: time(s, ' mtime'),
    atime: time(s, ' atime'),
    ctime: time(s, ' ctime'),
    fastLink: fl ? fl[1] : undefined,
    device: dev ? { major: Number(dev[1]), minor: Number(dev[2]) } : undefined,
    xattrNames,
    extents: ext ? ext[1]! : '',
  };
}

/** `ls -p` entries of a directory: name → inode (without . and ..). */
export function parseLs(s: string): Map<string, { ino: number; mode: number }> {
  const out = new Map<string, { ino: number; mode: number }>();
  for (const line of s.split('\n')) {
    const m = /^\/(\d+)\/(\d+)\/-?\d+\/-?\d+\/(.*)\/\d*\/$/.exec(line);
    // Skip . and .., and inode-0 records (the fake dirents of htree index blocks).
    if (!m || m[3] === '.' || m[3] === '..' || m[1] === '0') continue;
    out.set(m[3]!, { ino: Number(m[1]), mode: parseInt(m[2]!, 8) });
  }
  return out;
}

/** Quotes a path for a debugfs command line. */
export function q(p: string): string {
  return `"${p.replace(/(["\\])/g, '\\$1')}"`;
}
