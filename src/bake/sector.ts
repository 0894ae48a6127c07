// The units every partition table and boot record counts in.
/** A logical block (LBA) of the disks cake-img writes: 512 bytes. */
export const SECTOR = 512;
/** Partitions start on MiB boundaries (LBA 2048 for the first), as fdisk and sgdisk place them. */
export const MIB = 1024 * 1024;
