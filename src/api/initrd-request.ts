// What `cake-img initrd` (and bake's initrd) is asked for and answers (initrd.ts and
// initrd-build.ts both read this).
import type { LoadedTree } from '../sources/directory.js';
import type { staticBusyboxIn } from '../bake/initrd/busybox.js';

export interface InitrdApiRequest {
  busybox?: string;
  /** bake: the rootfs, whose own static busybox the initramfs takes when --busybox is not given. */
  rootfs?: LoadedTree;
  kernelModules?: string;
  modules: string[];
  rootUuid: string;
  debug?: boolean;
  output: string;
  gzipLevel?: number;
  sourceDateEpoch?: number;
}

export interface InitrdApiResult {
  loadOrder: string[];
  builtin: string[];
  notes: string[];
  bytes: number;
}

/** The rootfs's own static busybox, or null (undefined: not looked for yet). */
export type OwnBusybox = Awaited<ReturnType<typeof staticBusyboxIn>>;
