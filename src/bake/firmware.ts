// The firmwares a disk can be baked for (disk.ts assembles each).
export type Firmware = 'bios' | 'uefi' | 'hybrid';
export const FIRMWARES: readonly Firmware[] = ['bios', 'uefi', 'hybrid'];
