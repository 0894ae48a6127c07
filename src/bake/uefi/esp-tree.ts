// What the EFI system partition holds for systemd-boot (Boot Loader Specification, type #1
// entries; systemd-boot(7)):
//   EFI/BOOT/BOOTX64.EFI        systemd-bootx64.efi, at the firmware's fallback path, so
//                               no NVRAM boot entry is needed
//   loader/loader.conf          default entry, timeout (0: no menu), editor off
//   loader/entries/linux.conf   title, linux, initrd, options
//   linux/vmlinuz, linux/initrd the kernel (an EFI-stub PE) and the initramfs
// Entry paths are relative to the ESP's root, so the kernel lives on the ESP too.
import { BytesContent } from '../../io/content-source.js';
import { type DirNode, type FsTree, type Timestamp, newDir } from '../../tree/node.js';
import { bootFile } from '../extlinux-boot.js';
import { checkCmdline } from '../kernel-cmdline.js';
import { checkEfiApplication } from './pe.js';

export interface EspRequest {
  /** systemd-bootx64.efi. */
  loader: Uint8Array;
  kernel: Uint8Array;
  initrd: Uint8Array;
  /** The kernel command line. */
  append: string;
  time: Timestamp;
  /** Show the menu for a few seconds (with the editor still off). */
  debug?: boolean;
  /** Names for messages. */
  kernelName?: string;
}

export const ENTRY_ID = 'linux';

export function loaderConf(debug = false): string {
  return [`default ${ENTRY_ID}.conf`, `timeout ${debug ? 5 : 0}`, 'editor no', ''].join('\n');
}

export function entryConf(append: string): string {
  checkCmdline(append);
  return ['title Linux (cake-img)', `linux /${ENTRY_ID}/vmlinuz`, `initrd /${ENTRY_ID}/initrd`, `options ${append}`, ''].join('\n');
}

export function espTree(r: EspRequest): { tree: FsTree; content: BytesContent } {
  checkEfiApplication(r.kernel, r.kernelName ?? 'the kernel', 'booting on UEFI needs a kernel built with an EFI stub (CONFIG_EFI_STUB; every distribution kernel has one); for BIOS only, use --firmware bios');
  checkEfiApplication(r.loader, 'systemd-boot', 'it must be systemd-bootx64.efi');
  const content = new BytesContent();
  const t = r.time;
  const text = (s: string) => new TextEncoder().encode(s);
  const dir = (entries: Record<string, DirNode | ReturnType<typeof bootFile>>): DirNode => {
    const d = newDir(0o755, 0, 0, t);
    for (const [name, node] of Object.entries(entries)) d.entries.set(name, node);
    return d;
  };
  const file = (data: Uint8Array) => bootFile(content, t, data, 0o644);
  const root = dir({
    EFI: dir({ BOOT: dir({ 'BOOTX64.EFI': file(r.loader) }) }),
    loader: dir({ 'loader.conf': file(text(loaderConf(r.debug))), entries: dir({ [`${ENTRY_ID}.conf`]: file(text(entryConf(r.append))) }) }),
    [ENTRY_ID]: dir({ vmlinuz: file(r.kernel), initrd: file(r.initrd) }),
  });
  return { tree: { root }, content };
}
