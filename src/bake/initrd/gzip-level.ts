// Its own module: the memo path (api/initrd.ts) needs the number without loading the compressor.
/**
 * The boot initrd's gzip level. For the virtio + ext4 initrd of Debian's 6.1 kernel (a
 * 4.8 MB archive, most of it busybox and already dense module code) level 1 gives 1.85 MB
 * against level 6's 1.71 and level 9's 1.70, in 124 ms of pako on one core against 297
 * ms and 1.76 s: 8% more bytes, which the kernel inflates as fast, for 2.4× less time in
 * the one step of an uncached bake or `cake-img initrd` that cannot be spread over cores
 * cheaply (a worker pool costs more to start than it saves on a few MB). The bytes stay
 * the same on any host (pako, fixed blocking).
 */
export const INITRD_GZIP_LEVEL = 1;
