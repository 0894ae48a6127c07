// The directory source over a real host tree and over the in-memory SourceFs must agree:
// one conformance check for both SourceFs backends, every kind of entry included.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { NodeSourceFs } from '../../src/host/node-source-fs.js';
import { loadDirectory } from '../../src/sources/directory.js';
import { isRoot } from '../oracles/tools.js';
import { expectTreesEqual } from '../helpers/compare-trees.js';
import { tmpDir } from '../helpers/image.js';

const work = tmpDir();
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const xattr = createRequire(import.meta.url)('@napi-rs/xattr') as { setAttributeSync(p: string, n: string, v: Uint8Array): void };
const T = { sec: 1_600_000_000, nsec: 123_456_789 };

/** The same tree on the host and in memory. */
function makeBoth(): { host: string; mem: MemorySourceFs } {
  const host = path.join(work, 'host');
  const mem = new MemorySourceFs();
  const uid = process.getuid!();
  const gid = process.getgid!();
  const meta = (mode: number) => ({ mode, uid, gid, mtime: T, atime: T, ctime: T });
  fs.mkdirSync(path.join(host, 'dir/sub'), { recursive: true });
  mem.addDir('dir', meta(0o040755));
  mem.addDir('dir/sub', meta(0o040700));
  fs.chmodSync(path.join(host, 'dir/sub'), 0o700);
  fs.writeFileSync(path.join(host, 'dir/file'), 'content\n');
  fs.chmodSync(path.join(host, 'dir/file'), 0o640);
  mem.addFile('dir/file', new TextEncoder().encode('content\n'), meta(0o100640));
  fs.linkSync(path.join(host, 'dir/file'), path.join(host, 'dir/sub/hard'));
  mem.addHardLink('dir/sub/hard', 'dir/file');
  fs.symlinkSync('../file', path.join(host, 'dir/sub/link'));
  mem.addSymlink('dir/sub/link', '../file', meta(0o120777));
  execFileSync('mkfifo', ['-m', '0600', path.join(host, 'fifo')]);
  mem.addNode('fifo', 0o010600, meta(0o010600));
  // A unix socket that outlives its process (a listener killed before it can clean up).
  const sock = path.join(host, 'sock');
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  mem.addNode('sock', fs.lstatSync(sock).mode, meta(fs.lstatSync(sock).mode));
  fs.writeFileSync(path.join(host, 'xattrs'), 'x');
  xattr.setAttributeSync(path.join(host, 'xattrs'), 'user.one', new TextEncoder().encode('1'));
  xattr.setAttributeSync(path.join(host, 'xattrs'), 'user.bin', new Uint8Array([0, 255, 7]));
  mem.addFile('xattrs', new TextEncoder().encode('x'), meta(0o100644));
  mem.setXattrs('xattrs', [{ name: 'user.bin', value: new Uint8Array([0, 255, 7]) }, { name: 'user.one', value: new TextEncoder().encode('1') }]);
  const odd = Buffer.from([0x66, 0xff, 0x2d, 0x6e]); // "f\xff-n": not UTF-8
  fs.writeFileSync(Buffer.concat([Buffer.from(host + '/'), odd]), 'odd');
  mem.addFile(odd.toString('latin1'), new TextEncoder().encode('odd'), meta(0o100644));
  if (isRoot) {
    execFileSync('mknod', ['-m', '0666', path.join(host, 'null'), 'c', '1', '3']);
    mem.addNode('null', 0o020666, { ...meta(0o020666), rdevMajor: 1, rdevMinor: 3 });
    execFileSync('mknod', ['-m', '0660', path.join(host, 'big'), 'b', '259', '70000']);
    mem.addNode('big', 0o060660, { ...meta(0o060660), rdevMajor: 259, rdevMinor: 70000 });
  }
  fs.chmodSync(path.join(host, 'xattrs'), 0o644);
  // Nanosecond mtimes on everything (touch -h does not follow symlinks).
  execFileSync('sh', ['-c', `find . -exec touch -h -d @${T.sec}.${T.nsec} {} +`], { cwd: host });
  return { host, mem };
}

describe('directory source', () => {
  it('reads a host tree exactly as the equivalent in-memory tree', async () => {
    const { host, mem } = makeBoth();
    const a = await loadDirectory(new NodeSourceFs(host));
    const b = await loadDirectory(mem);
    // The root's own times and mode come from the host; align them before comparing.
    b.tree.root.perm = a.tree.root.perm;
    b.tree.root.uid = a.tree.root.uid;
    b.tree.root.gid = a.tree.root.gid;
    b.tree.root.mtime = a.tree.root.mtime;
    await expectTreesEqual(b.tree, b.content, a.tree, a.content, []);
    expect(a.tree.root.entries.get('sock')!.kind).toBe('socket');
    await a.content.close();
  });

  it('names the unreadable entry', async () => {
    const m = new MemorySourceFs();
    m.addDir('d');
    const broken: typeof m = Object.create(m);
    broken.readdir = (p: string) => {
      if (p === 'd') throw new Error('EACCES: permission denied');
      return m.readdir(p);
    };
    await expect(loadDirectory(broken, { label: 'src' })).rejects.toThrow(/EACCES/);
  });
});
