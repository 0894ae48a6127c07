// The values `cake-img bake` derives before planning a disk, as pure functions so the CLI
// and the browser derive the same ones: the root filesystem's ext4 options (UUID and hash
// seed from the tree and the kernel command line; never 64bit, which syslinux 6.03/6.04
// cannot boot), the time stamped on the files bake adds, and the MBR disk signature.
import type { DirNode } from '../tree/node.js';
import { forEachNode } from '../tree/transforms.js';
import { sha256 } from '../util/sha256.js';
import type { Ext4Options } from './ext4/options.js';
import type { Firmware } from './firmware.js';
import { guidFromHash } from './gpt/guid.js';
import { type LoadedTree, resolveExt4Options } from './tree-options.js';

/** The newest mtime in a tree (never before 1970). */
export function newestTime(root: DirNode): number {
  let newest = 0;
  forEachNode(root, (n) => {
    if (n.mtime.sec > newest) newest = n.mtime.sec;
  });
  return newest;
}

/**
 * The bootable root filesystem's options: label `root`, identity salted with the command
 * line and, for GPT disks, the firmware (a bios disk's salt is what it was before GPT).
 */
export function bakeExt4Options(loaded: LoadedTree, req: { size?: string; uuid?: string; options: string; firmware?: Firmware }): Ext4Options {
  const firmware = req.firmware ?? 'bios';
  const ext4 = resolveExt4Options({ size: req.size, uuid: req.uuid, label: 'root' }, loaded, `bake\0${req.options}${firmware === 'bios' ? '' : `\0${firmware}`}`);
  ext4.features = { ...ext4.features, bit64: false };
  return ext4;
}

/**
 * The files bake adds are dated SOURCE_DATE_EPOCH, else the rootfs's newest time: as
 * reproducible as 0, and it does not show /boot as made in 1970.
 */
export function bakeStamp(loaded: LoadedTree, sourceDateEpoch: number | undefined): number {
  return sourceDateEpoch ?? newestTime(loaded.tree.root);
}

/** The MBR disk signature: the first 4 bytes (little-endian) of sha256(uuid bytes, "mbr disk signature"). */
export function diskSignature(uuid: Uint8Array): number {
  const d = sha256().update(uuid).update('mbr disk signature').digest();
  return (d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24)) >>> 0;
}

/** GPT GUIDs: the disk's given or derived from the filesystem UUID (itself from the inputs); the partitions' from the disk's. */
export function gptIdentity(fsUuid: Uint8Array, diskGuid: string | undefined): { disk: string; esp: string; root: string } {
  const disk = diskGuid !== undefined ? diskGuid.toUpperCase() : guidFromHash(sha256().update(fsUuid).update('gpt disk').digest());
  const part = (name: string) => guidFromHash(sha256().update(disk).update(`gpt partition ${name}`).digest());
  return { disk, esp: part('esp'), root: part('root') };
}
