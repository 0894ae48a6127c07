// Fixtures the browser tests and the CLI share: Debian's kernel, extlinux, syslinux-common
// and busybox-static packages fetched with `apt-get download` (checked against the apt
// lists) into a cache in the checkout, and the busybox rootfs tarball the bake tests boot.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadDeb, resolveDependency } from '../../src/host/debian.js';
import { TOOL_PATH } from '../oracles/tools.js';

const CACHE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.cache/web-debs');

export interface WebDebs {
  kernel: string;
  extlinux: string;
  syslinuxCommon: string;
  busyboxStatic: string;
}

/** The four packages as .deb files (downloaded once). */
export async function webDebs(): Promise<WebDebs> {
  const pkg = await resolveDependency('linux-image-amd64', 'linux-image-');
  const get = async (name: string) => (await downloadDeb(name, CACHE)).path;
  return { kernel: await get(pkg), extlinux: await get('extlinux'), syslinuxCommon: await get('syslinux-common'), busyboxStatic: await get('busybox-static') };
}

/**
 * The CLI's `--syslinux` for the two packages: `E.deb,S.deb` once the CLI takes .debs (its
 * help says so); until then extlinux and syslinux-common unpacked together, whose
 * `DIR/usr/bin/extlinux` finds mbr.bin beside it (the same bytes either way).
 */
export function cliSyslinux(debs: WebDebs, dir: string, help: string): string {
  if (/syslinux-common \.debs/.test(help)) return `${debs.extlinux},${debs.syslinuxCommon}`;
  for (const d of [debs.extlinux, debs.syslinuxCommon]) execFileSync('dpkg-deb', ['-x', d, dir], { env: { ...process.env, PATH: TOOL_PATH } });
  return path.join(dir, 'usr/bin/extlinux');
}

/** The marker the rootfs's /sbin/init prints: "CAKE-BAKED-42 uid=0 <cmdline>". */
export const BOOT_MARKER = 'CAKE-BAKED-42';

/** A busybox rootfs tarball whose files belong to root in the headers only; /sbin/init prints the marker and powers off. */
export function busyboxRootfsTarball(work: string, busybox = '/bin/busybox'): string {
  const root = path.join(work, 'rootfs');
  for (const d of ['bin', 'sbin', 'dev', 'proc', 'sys', 'mnt', 'etc']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.copyFileSync(busybox, path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(root, 'bin/sh'));
  fs.writeFileSync(path.join(root, 'sbin/init'),
    '#!/bin/sh\n/bin/busybox mount -t proc proc /proc\necho "CAKE-BAKED-$((6*7)) uid=$(/bin/busybox stat -c %u /bin/busybox) $(/bin/busybox cat /proc/cmdline)"\n/bin/busybox poweroff -f\n', { mode: 0o755 });
  const tar = path.join(work, 'rootfs.tar.gz');
  execFileSync('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@1700000000', '-czf', tar, '.']);
  fs.chmodSync(tar, 0o644);
  return tar;
}
