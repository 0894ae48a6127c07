// What we need to know about a busybox binary without running it: that it is a static
// ELF (the initramfs has no C library) and which applets it has (its applet-name table is
// a run of NUL-separated names; every applet appears there as "\0name\0").
import type { ContentSource } from '../../io/content-source.js';
import { readLogical } from '../../tree/logical-read.js';
import { bytesToByteString } from '../../tree/names.js';
import type { FileNode, FsNode, FsTree } from '../../tree/node.js';
import { CorruptInputError } from '../../util/errors.js';
import { INIT_APPLETS } from './init-script.js';

export function isStaticElf(bin: Uint8Array, where: string): boolean {
  if (bin.length < 64 || bin[0] !== 0x7f || bin[1] !== 0x45 || bin[2] !== 0x4c || bin[3] !== 0x46) {
    throw new CorruptInputError(where, 'is not an ELF executable');
  }
  const is64 = bin[4] === 2;
  const le = bin[5] === 1;
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.length);
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const phoff = is64 ? Number(dv.getBigUint64(0x20, le)) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  if (phoff + phnum * phentsize > bin.length) throw new CorruptInputError(where, 'ELF program headers run past the end of the file');
  for (let i = 0; i < phnum; i++) if (u32(phoff + i * phentsize) === 3) return false; // PT_INTERP: needs a dynamic loader
  return true;
}

/**
 * Applets of `needed` that the binary does not have. (Named as a per-byte loop for
 * host/jit-tiering.ts: optimized even while other code waits.)
 */
function hotLoopMissingApplets(bin: Uint8Array, needed: readonly string[]): string[] {
  // One pass over the bytes (a 2 MB busybox decoded to a string first cost 50 ms): a name
  // becomes a string only when the run between two NULs could be one of the needed.
  const lengths = new Set(needed.map((a) => a.length));
  const firsts = new Set(needed.map((a) => a.charCodeAt(0)));
  const wanted = new Set(needed);
  const found = new Set<string>();
  let start = -1; // just after the last NUL
  for (let i = 0; i < bin.length; i++) {
    if (bin[i] !== 0) continue;
    const n = i - start - 1;
    if (start >= 0 && n > 0 && lengths.has(n) && firsts.has(bin[start + 1]!)) {
      const name = bytesToByteString(bin.subarray(start + 1, i));
      if (wanted.has(name)) found.add(name);
    }
    start = i;
  }
  return needed.filter((a) => !found.has(a));
}

export { hotLoopMissingApplets as missingApplets };

/** Where a root filesystem keeps its busybox. */
export const TREE_BUSYBOX = ['bin/busybox', 'usr/bin/busybox', 'sbin/busybox', 'usr/sbin/busybox'];

/** A file in `tree` by path, symlinks followed inside the tree (a few hops at most). */
function lookup(tree: FsTree, path: string): FileNode | null {
  let parts = path.split('/');
  for (let hops = 0; hops < 8; hops++) {
    let node: FsNode = tree.root;
    const done: string[] = [];
    let link: string | null = null;
    for (let i = 0; i < parts.length && !link; i++) {
      const p = parts[i]!;
      if (p === '' || p === '.') continue;
      if (p === '..') {
        done.pop();
        node = done.reduce<FsNode>((n, q) => (n.kind === 'dir' ? n.entries.get(q)! : n), tree.root);
        continue;
      }
      if (node.kind !== 'dir') return null;
      const next: FsNode | undefined = node.entries.get(p);
      if (!next) return null;
      if (next.kind === 'symlink') link = next.target.startsWith('/') ? [next.target, ...parts.slice(i + 1)].join('/') : [...done, next.target, ...parts.slice(i + 1)].join('/');
      else {
        node = next;
        done.push(p);
      }
    }
    if (!link) return node.kind === 'file' ? node : null;
    parts = link.split('/');
  }
  return null;
}

/** Busyboxes bigger than this are not looked at (Debian's static one is 2 MiB). */
const MAX_BUSYBOX = 32 << 20;

/**
 * The rootfs's own busybox, when it is static and has the applets /init needs: what the
 * initramfs takes unless one is given (so a rootfs built from busybox-static boots with
 * its own, on the CLI and in a browser alike). Null when there is none fit for it.
 */
export async function staticBusyboxIn(tree: FsTree, content: ContentSource): Promise<{ bytes: Uint8Array; path: string } | null> {
  for (const path of TREE_BUSYBOX) {
    const node = lookup(tree, path);
    if (!node || node.size < 64 || node.size > MAX_BUSYBOX) continue;
    const bytes = new Uint8Array(node.size);
    await readLogical(node, content, {
      data: (chunk, at) => void bytes.set(chunk, at),
      hole: () => {},
    });
    try {
      if (isStaticElf(bytes, path) && hotLoopMissingApplets(bytes, INIT_APPLETS).length === 0) return { bytes, path: `/${path}` };
    } catch {
      /* not an ELF: not a busybox to use */
    }
  }
  return null;
}
