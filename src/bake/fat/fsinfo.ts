// FAT32's FSInfo sector (fatgen103, "FAT32 FSInfo Sector Structure and Backup Boot
// Sector"): the free cluster count and where to look for a free cluster, written exact.
import { type StructValue, defineStruct } from '../../struct/schema.js';
import { SECTOR } from './geometry.js';

export const FSINFO = defineStruct('FAT32 FSInfo', [
  ['FSI_LeadSig', 'u32', 0x000],
  ['FSI_Reserved1', 'bytes480', 0x004],
  ['FSI_StrucSig', 'u32', 0x1e4],
  ['FSI_Free_Count', 'u32', 0x1e8],
  ['FSI_Nxt_Free', 'u32', 0x1ec],
  ['FSI_Reserved2', 'bytes12', 0x1f0],
  ['FSI_TrailSig', 'u32', 0x1fc],
]);
export type FsInfo = StructValue<typeof FSINFO>;

export const FSI_LEAD_SIG = 0x41615252;
export const FSI_STRUC_SIG = 0x61417272;
export const FSI_TRAIL_SIG = 0xaa550000;
/** FSI_Nxt_Free when no cluster is free ("unknown" in fatgen103's words). */
export const FSI_UNKNOWN = 0xffffffff;

export function encodeFsInfo(freeClusters: number, nextFree: number): Uint8Array {
  return FSINFO.encode({
    FSI_LeadSig: FSI_LEAD_SIG,
    FSI_StrucSig: FSI_STRUC_SIG,
    FSI_Free_Count: freeClusters,
    FSI_Nxt_Free: nextFree,
    FSI_TrailSig: FSI_TRAIL_SIG,
  }, new Uint8Array(SECTOR));
}
