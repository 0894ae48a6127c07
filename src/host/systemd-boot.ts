// Where systemd-boot comes from: `--systemd-boot PATH` (the .efi itself, or a directory
// holding systemd-bootx64.efi), else the host's systemd-boot-efi package, else Debian's
// `systemd-boot-efi` fetched rootless (apt-get download, dpkg-deb -x) into the cache, as
// syslinux is. The file must be an x86-64 EFI application.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkEfiApplication } from '../bake/uefi/pe.js';
import { CakeError, InvalidOptionError } from '../util/errors.js';

export const SYSTEMD_BOOT_EFI = 'systemd-bootx64.efi';
export const HOST_SYSTEMD_BOOT = `/usr/lib/systemd/boot/efi/${SYSTEMD_BOOT_EFI}`;
export const DEBIAN_PACKAGE = 'systemd-boot-efi';

export interface SystemdBootFound {
  efi: Uint8Array;
  /** Where it came from (for messages). */
  source: string;
}

const isFile = (p: string) => {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};

function load(file: string, source: string): SystemdBootFound {
  const efi = new Uint8Array(fs.readFileSync(file));
  checkEfiApplication(efi, file, 'systemd-boot must be systemd-bootx64.efi (Debian: systemd-boot-efi)');
  return { efi, source };
}

export async function findSystemdBoot(opts: { path?: string; cacheDir: string; host?: boolean }): Promise<SystemdBootFound> {
  if (opts.path !== undefined) {
    const given = path.resolve(opts.path);
    const file = isFile(given) ? given : path.join(given, SYSTEMD_BOOT_EFI);
    if (!isFile(file)) throw new InvalidOptionError('--systemd-boot', `${opts.path}: neither ${SYSTEMD_BOOT_EFI} nor a directory holding it`);
    return load(file, file);
  }
  const tried: string[] = [];
  if (opts.host !== false) {
    if (isFile(HOST_SYSTEMD_BOOT)) return load(HOST_SYSTEMD_BOOT, HOST_SYSTEMD_BOOT);
    tried.push(`no ${HOST_SYSTEMD_BOOT}`);
  }
  try {
    const { debianPackage, unpackedFrom } = await import('./debian.js');
    const root = await debianPackage(DEBIAN_PACKAGE, path.join(opts.cacheDir, 'systemd-boot'));
    const file = path.join(root, HOST_SYSTEMD_BOOT);
    if (!isFile(file)) throw new CakeError('ENOPKG', 'tool', `the ${DEBIAN_PACKAGE} package has no ${HOST_SYSTEMD_BOOT}`);
    return load(file, `Debian package ${unpackedFrom(root)}`);
  } catch (e) {
    tried.push(`Debian package ${DEBIAN_PACKAGE}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
  throw new CakeError('ENOSYSTEMDBOOT', 'tool',
    `no systemd-boot found (${tried.join('; ')}): install systemd-boot-efi (apt-get install systemd-boot-efi) or pass --systemd-boot FILE`, { tried });
}
