// The central oracle check: an image read back by debugfs equals the source tree in
// content, kind, mode, owner, mtime (ns), xattrs, hard-link groups, symlink targets,
// device numbers and directory link counts.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import type { ContentSource } from '../../src/io/content-source.js';
import type { FileNode, FsNode, FsTree } from '../../src/tree/node.js';
import { walkTree } from '../../src/tree/walk.js';
import { debugfsBatch, parseLs, parseStat, q } from '../oracles/debugfs.js';

const TYPE: Record<FsNode['kind'], string> = {
  file: 'regular', dir: 'directory', symlink: 'symlink', chardev: 'character', blockdev: 'block', fifo: 'FIFO', socket: 'socket',
};

/** sha256 of each file's full logical content (holes as zeros), read through the source. */
export async function expectedDigests(tree: FsTree, content: ContentSource): Promise<Map<FsNode, string>> {
  const files: FileNode[] = [];
  const seen = new Set<FsNode>();
  for (const { node } of walkTree(tree.root)) if (node.kind === 'file' && !seen.has(node)) seen.add(node), files.push(node);
  files.sort((a, b) => (a.content?.order ?? 0) - (b.content?.order ?? 0));
  const out = new Map<FsNode, string>();
  for (const f of files) {
    const h = createHash('sha256');
    const runs = f.dataRuns ?? [{ offset: 0, length: f.size }];
    let pos = 0;
    let ri = 0;
    let inRun = 0;
    const zeros = (n: number) => {
      while (n > 0) {
        const k = Math.min(n, 1 << 20);
        h.update(new Uint8Array(k));
        n -= k;
      }
    };
    if (f.content) {
      await content.read(f.content, (chunk) => {
        let c = 0;
        while (c < chunk.length) {
          const r = runs[ri]!;
          if (inRun === 0) zeros(r.offset - pos), (pos = r.offset);
          const n = Math.min(chunk.length - c, r.length - inRun);
          h.update(chunk.subarray(c, c + n));
          c += n;
          inRun += n;
          pos += n;
          if (inRun === r.length) ri++, (inRun = 0);
        }
      });
    }
    zeros(f.size - pos);
    out.set(f, h.digest('hex'));
  }
  return out;
}

function vfsAclWithZeroIds(v: Uint8Array): Uint8Array {
  const b = Buffer.from(v);
  for (let off = 4; off + 8 <= b.length; off += 8) {
    const tag = b.readUInt16LE(off);
    if (tag !== 0x02 && tag !== 0x08) b.writeUInt32LE(0, off + 4);
  }
  return b;
}

export interface CompareOptions {
  /** Offset of the filesystem inside the image (debugfs reads a copy of that part). */
  skipContent?: boolean;
}

export async function expectImageMatchesTree(img: string, tree: FsTree, content: ContentSource, opts: CompareOptions = {}): Promise<void> {
  const digests = opts.skipContent ? new Map() : await expectedDigests(tree, content);
  const entries = [...walkTree(tree.root)];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-cmp-'));
  try {
    const cmds: string[] = [];
    const plan: { kind: 'stat' | 'ls' | 'dump' | 'ea'; i: number; file?: string; name?: string }[] = [];
    entries.forEach((e, i) => {
      const p = '/' + e.path.join('/');
      cmds.push(`stat ${q(p)}`), plan.push({ kind: 'stat', i });
      if (e.node.kind === 'dir') cmds.push(`ls -p ${q(p)}`), plan.push({ kind: 'ls', i });
      if ((e.node.kind === 'file' && !opts.skipContent) || (e.node.kind === 'symlink' && e.node.target.length >= 60)) {
        const f = path.join(dir, `c${i}`);
        cmds.push(`dump ${q(p)} ${f}`), plan.push({ kind: 'dump', i, file: f });
      }
      e.node.xattrs.forEach((x, k) => {
        const f = path.join(dir, `x${i}_${k}`);
        cmds.push(`ea_get -f ${f} ${q(p)} ${x.name}`), plan.push({ kind: 'ea', i, file: f, name: x.name });
      });
    });
    const out = debugfsBatch(img, cmds);
    const inoOf = new Map<FsNode, number>();
    out.forEach((text, k) => {
      const step = plan[k]!;
      const e = entries[step.i]!;
      const p = '/' + e.path.join('/');
      const n = e.node;
      if (step.kind === 'stat') {
        const st = parseStat(text);
        const ctx = `${p}: `;
        expect(st.type, ctx + 'type').toBe(TYPE[n.kind]);
        expect(st.mode & 0o7777, ctx + 'mode').toBe(n.perm);
        expect(st.uid, ctx + 'uid').toBe(n.uid);
        expect(st.gid, ctx + 'gid').toBe(n.gid);
        expect(st.mtime, ctx + 'mtime').toEqual({ sec: n.mtime.sec, nsec: n.mtime.nsec });
        const prev = inoOf.get(n);
        if (prev !== undefined) expect(st.ino, ctx + 'hard link shares the inode').toBe(prev);
        else {
          for (const [other, ino] of inoOf) if (ino === st.ino) throw new Error(`${p} shares inode ${ino} with a different node ${other.kind}`);
          inoOf.set(n, st.ino);
        }
        if (n.kind === 'file') expect(st.size, ctx + 'size').toBe(n.size);
        if (n.kind === 'symlink' && n.target.length < 60) expect(st.fastLink, ctx + 'fast symlink').toBe(n.target);
        if (n.kind === 'chardev' || n.kind === 'blockdev') expect(st.device, ctx + 'device').toEqual({ major: n.major, minor: n.minor });
        if (n.kind === 'dir') {
          const subdirs = [...n.entries.values()].filter((c) => c.kind === 'dir').length + (e.path.length === 0 && !n.entries.has('lost+found') ? 1 : 0);
          expect(st.links, ctx + 'dir link count').toBe(2 + subdirs > 65000 ? 1 : 2 + subdirs);
        } else {
          const names = entries.filter((x) => x.node === n).length;
          expect(st.links, ctx + 'link count').toBe(names);
        }
        expect(st.xattrNames.map((x) => x.name).sort(), ctx + 'xattr names').toEqual(n.xattrs.map((x) => x.name).sort());
      } else if (step.kind === 'ls') {
        const got = [...parseLs(text).keys()].filter((name) => !(e.path.length === 0 && name === 'lost+found' && !(n as { entries: Map<string, FsNode> }).entries.has('lost+found')));
        expect(got.sort(), `${p}: directory entries`).toEqual([...(n as { entries: Map<string, FsNode> }).entries.keys()].sort());
      } else if (step.kind === 'dump') {
        const data = fs.readFileSync(step.file!);
        if (n.kind === 'symlink') expect(data.toString('latin1'), `${p}: slow symlink target`).toBe(n.target);
        else expect(createHash('sha256').update(data).digest('hex'), `${p}: content`).toBe(digests.get(n));
        fs.rmSync(step.file!);
      } else {
        const want = n.xattrs.find((x) => x.name === step.name)!.value;
        const data = fs.readFileSync(step.file!);
        // debugfs converts ACLs back to the VFS form but writes 0, not -1, as the unused id.
        const aclWant = step.name!.startsWith('system.posix_acl') ? vfsAclWithZeroIds(want) : want;
        expect(Buffer.from(data).equals(Buffer.from(aclWant)), `${p}: xattr ${step.name} value`).toBe(true);
      }
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
