#!/bin/sh
# The reference for `node bench/run.mjs bake`: the original recipe for a bootable disk,
# done as root with a loop device and a mount (what cake-img bake replaces).
#
#   bench/bake-loop.sh [--mkfs-d] TREE KERNEL INITRD SIZE UUID IMG
#
# default (the recipe): fallocate IMG; fdisk: one active Linux partition from sector 2048
#   to the end; syslinux mbr.bin into the first 440 bytes; losetup at the partition's
#   offset; mkfs.ext4 -U UUID on the loop device; mount; rsync --archive --chown=0:0 the
#   tree in; /boot/vmlinux, /boot/initrd, /boot/syslinux.cfg; extlinux --install; umount;
#   losetup -d; sync.
# --mkfs-d: the same disk, but the filesystem is written offline by
#   `mkfs.ext4 -E offset=1048576 -d TREE IMG SIZE-1MiB` (the tree's owners are kept, there
#   is no --chown), /boot is added with `debugfs -w` (as if the tree had had it already;
#   no copy of the tree is made or timed), and the loop device and mount are used only for
#   `extlinux --install`.
#
# The kernel and initrd are files made beforehand (not part of what is timed). Mounts and
# loop devices are always released, also on failure or interruption.
set -eu

MODE=loop
if [ "${1:-}" = "--mkfs-d" ]; then MODE=mkfs-d; shift; fi
if [ $# -ne 6 ]; then
  echo "usage: $0 [--mkfs-d] TREE KERNEL INITRD SIZE UUID IMG" >&2
  exit 2
fi
TREE=$1 KERNEL=$2 INITRD=$3 SIZE=$4 UUID=$5 IMG=$6
MBR=${MBR_BIN:-/usr/lib/syslinux/mbr/mbr.bin}
OFFSET=$((2048 * 512))
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

LOOP=
MNT=
CFG=
cleanup() {
  st=$?
  trap - EXIT INT TERM
  if [ -n "$MNT" ]; then
    if mountpoint -q "$MNT"; then umount "$MNT" || umount -l "$MNT" || true; fi
    rmdir "$MNT" 2>/dev/null || true
  fi
  if [ -n "$LOOP" ]; then losetup -d "$LOOP" 2>/dev/null || true; fi
  if [ -n "$CFG" ]; then rm -f "$CFG"; fi
  exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

syslinux_cfg() {
  printf 'DEFAULT linux\nLABEL linux\n  LINUX /boot/vmlinux\n  INITRD /boot/initrd\n  APPEND console=ttyS0\n'
}

rm -f "$IMG"
fallocate -l "$SIZE" "$IMG"
printf 'o\nn\np\n1\n2048\n\na\nw\n' | fdisk "$IMG" >/dev/null
dd bs=440 count=1 conv=notrunc if="$MBR" of="$IMG" status=none

if [ "$MODE" = loop ]; then
  LOOP=$(losetup --find --show --offset "$OFFSET" "$IMG")
  mkfs.ext4 -q -U "$UUID" "$LOOP"
  MNT=$(mktemp -d /tmp/bake-loop-mnt.XXXXXX)
  mount "$LOOP" "$MNT"
  rsync --archive --chown=0:0 "$TREE/" "$MNT/"
  mkdir -p "$MNT/boot"
  cp "$KERNEL" "$MNT/boot/vmlinux"
  cp "$INITRD" "$MNT/boot/initrd"
  syslinux_cfg > "$MNT/boot/syslinux.cfg"
else
  bytes=$(stat -c %s "$IMG")
  mkfs.ext4 -q -F -U "$UUID" -E offset="$OFFSET" -d "$TREE" "$IMG" "$(( (bytes - OFFSET) / 1024 ))k"
  CFG=$(mktemp /tmp/bake-loop-cfg.XXXXXX)
  syslinux_cfg > "$CFG"
  chmod 644 "$CFG"
  # debugfs carries on after a failing request and exits 0: the benchmark checks /boot.
  if [ -z "$(debugfs -R 'stat /boot' "$IMG?offset=$OFFSET" 2>/dev/null)" ]; then
    boot_mkdir='mkdir /boot'
  else
    boot_mkdir=
  fi
  printf '%s\ncd /boot\nwrite %s vmlinux\nwrite %s initrd\nwrite %s syslinux.cfg\n' \
    "$boot_mkdir" "$KERNEL" "$INITRD" "$CFG" | debugfs -w -f - "$IMG?offset=$OFFSET" >/dev/null 2>&1
  LOOP=$(losetup --find --show --offset "$OFFSET" "$IMG")
  MNT=$(mktemp -d /tmp/bake-loop-mnt.XXXXXX)
  mount "$LOOP" "$MNT"
fi

extlinux --install "$MNT/boot" --heads 64 --sectors 32 >/dev/null
umount "$MNT"
rmdir "$MNT"
MNT=
losetup -d "$LOOP"
LOOP=
sync
