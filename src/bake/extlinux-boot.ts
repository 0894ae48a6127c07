// The root filesystem's /boot for extlinux (BIOS boot from the root partition): the
// kernel, the initrd, syslinux.cfg and ldlinux.*, added to a copy of the rootfs's top
// directories. ldlinux.sys is a placeholder of its final size until the ext4 plan says
// where it lies; then its bytes are the installer's patched image.
import type { BytesContent } from '../io/content-source.js';
import { type DirNode, type FileNode, type FsTree, type Timestamp, newDir } from '../tree/node.js';
import { CorruptInputError } from '../util/errors.js';
import type { Ext4Plan } from './ext4/planner.js';
import { inoOf } from './ext4/catalog.js';
import { ADV_BYTES, LDLINUX_C32_MODE, LDLINUX_SYS_MODE } from './extlinux/install.js';
import { checkCmdline } from './kernel-cmdline.js';
import { SECTOR } from './sector.js';

/** The files bake puts in /boot. */
export const BOOT_FILES = ['vmlinux', 'initrd', 'syslinux.cfg', 'ldlinux.c32', 'ldlinux.sys'];

/** syslinux.cfg: the original recipe's, plus a serial line when the kernel logs to ttyS*. */
export function syslinuxConfig(append: string): string {
  checkCmdline(append);
  const serial = /(?:^|\s)console=ttyS(\d+)(?:,(\d+))?/.exec(append);
  return [
    ...(serial ? [`SERIAL ${serial[1]} ${serial[2] ?? 115200}`] : []),
    'DEFAULT linux',
    'LABEL linux',
    '  LINUX /boot/vmlinux',
    '  INITRD /boot/initrd',
    `  APPEND ${append}`,
    '',
  ].join('\n');
}

export interface BootDirRequest {
  rootfs: FsTree;
  kernel: Uint8Array;
  initrd: Uint8Array;
  ldlinuxSys: Uint8Array;
  ldlinuxC32: Uint8Array;
  append: string;
  time: Timestamp;
  force?: boolean;
}

export interface BootDir {
  tree: FsTree;
  /** The placeholder to patch once the plan is known. */
  ldlinuxSys: FileNode;
  /** Entries of the rootfs's /boot that bake's own files replaced (with `force`). */
  replaced: string[];
}

/** A file node whose bytes live in `boot`. */
export function bootFile(boot: BytesContent, t: Timestamp, data: Uint8Array, perm: number, attributes?: FileNode['attributes']): FileNode {
  return {
    kind: 'file', perm, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size: data.length,
    content: data.length ? boot.add(data) : null, attributes,
  };
}

/** The rootfs with /boot added (the caller's tree is left as it was). */
export function addBootDir(r: BootDirRequest, boot: BytesContent): BootDir {
  const t = r.time;
  const file = (data: Uint8Array, perm: number, attributes?: FileNode['attributes']) => bootFile(boot, t, data, perm, attributes);
  const ldlinuxSys = file(new Uint8Array(r.ldlinuxSys.length + ADV_BYTES), LDLINUX_SYS_MODE, { immutable: true });
  const root: DirNode = { ...r.rootfs.root, entries: new Map(r.rootfs.root.entries) };
  const existing = root.entries.get('boot');
  if (existing && existing.kind !== 'dir') throw new CorruptInputError('/boot', 'exists in the rootfs but is not a directory');
  const bootDir: DirNode = existing ? { ...existing, entries: new Map(existing.entries) } : newDir(0o755, 0, 0, t);
  const replaced = BOOT_FILES.filter((n) => bootDir.entries.has(n)).map((n) => `/boot/${n}`);
  if (replaced.length && !r.force) {
    const one = replaced.length === 1;
    throw new CorruptInputError(replaced.join(', '), `${one ? 'is' : 'are'} in the rootfs already, where bake puts its own boot files; remove ${one ? 'it' : 'them'} from the tree, or pass --force to replace ${one ? 'it' : 'them'}`);
  }
  root.entries.set('boot', bootDir);
  bootDir.entries.set('vmlinux', file(r.kernel, 0o644));
  bootDir.entries.set('initrd', file(r.initrd, 0o644));
  bootDir.entries.set('syslinux.cfg', file(new TextEncoder().encode(syslinuxConfig(r.append)), 0o644));
  bootDir.entries.set('ldlinux.c32', file(r.ldlinuxC32, LDLINUX_C32_MODE));
  bootDir.entries.set('ldlinux.sys', ldlinuxSys);
  return { tree: { root }, ldlinuxSys, replaced };
}

/** The partition-relative sectors of a file, in file order, from the ext4 plan. */
export function fileSectors(fs: Ext4Plan, node: FileNode, count: number): number[] {
  const per = fs.geo.blockSize / SECTOR;
  const sectors: number[] = [];
  for (const m of fs.layout.inodes.mappings(inoOf(fs.catalog, node))) {
    for (let b = 0; b < m.length && sectors.length < count; b++) for (let k = 0; k < per; k++) sectors.push((m.physical + b) * per + k);
  }
  return sectors.slice(0, count);
}
