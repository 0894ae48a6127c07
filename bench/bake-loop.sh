#!/bin/sh
# The references for `jiti bench/run.ts bake`: the recipes for a bootable disk done as root
# with loop devices and mounts (what cake-img bake replaces).
#
#   bench/bake-loop.sh [--mkfs-d | --hybrid [--esp-size SIZE]] TREE KERNEL INITRD SIZE UUID IMG
#
# default (bios_loop, the original recipe): fallocate IMG; fdisk: one active Linux
#   partition from sector 2048 to the end; syslinux mbr.bin into the first 440 bytes;
#   losetup at the partition's offset; mkfs.ext4 -U UUID on the loop device; mount; rsync
#   --archive --chown=0:0 the tree in; /boot/vmlinux, /boot/initrd, /boot/syslinux.cfg;
#   extlinux --install; umount; losetup -d; sync.
# --mkfs-d (bios_mkfs_d): the same disk, but the filesystem is written offline by
#   `mkfs.ext4 -E offset=1048576 -d TREE IMG SIZE-1MiB` (the tree's owners are kept, there
#   is no --chown), /boot is added with `debugfs -w` (as if the tree had had it already;
#   no copy of the tree is made or timed), and the loop device and mount are used only for
#   `extlinux --install`.
# --hybrid (hybrid_loop): one GPT disk that boots on BIOS and UEFI, as cake-img bake
#   --firmware hybrid makes it: sgdisk (an ESP of --esp-size, default 64M, from sector 2048;
#   the root after it to the end, type root-x86-64, legacy-BIOS-bootable: -A 2:set:2);
#   syslinux gptmbr.bin into the first 440 bytes; a loop device on each partition (at its
#   offset: no partition scan needed); mkfs.vfat -F 16 and mcopy -s of the ESP's files
#   (systemd-boot as EFI/BOOT/BOOTX64.EFI, loader/loader.conf, loader/entries/linux.conf,
#   linux/vmlinuz, linux/initrd); then the root as in the default recipe (mkfs.ext4, mount,
#   rsync, /boot, extlinux --install); umount; losetup -d; sync.
#
# The kernel and initrd are files made beforehand (not part of what is timed). Mounts and
# loop devices are always released, also on failure or interruption. Boot pieces: MBR_BIN,
# GPTMBR_BIN (syslinux-common), SYSTEMD_BOOT (systemd-boot-efi) override where they are.
set -eu

MODE=bios_loop
ESP_SIZE=64M
case "${1:-}" in
  --mkfs-d) MODE=bios_mkfs_d; shift ;;
  --hybrid)
    MODE=hybrid_loop; shift
    if [ "${1:-}" = "--esp-size" ]; then ESP_SIZE=$2; shift 2; fi
    ;;
esac
if [ $# -ne 6 ]; then
  echo "usage: $0 [--mkfs-d | --hybrid [--esp-size SIZE]] TREE KERNEL INITRD SIZE UUID IMG" >&2
  exit 2
fi
TREE=$1 KERNEL=$2 INITRD=$3 SIZE=$4 UUID=$5 IMG=$6
MBR=${MBR_BIN:-/usr/lib/syslinux/mbr/mbr.bin}
GPTMBR=${GPTMBR_BIN:-/usr/lib/syslinux/mbr/gptmbr.bin}
SYSTEMD_BOOT=${SYSTEMD_BOOT:-/usr/lib/systemd/boot/efi/systemd-bootx64.efi}
OFFSET=$((2048 * 512))
CMDLINE='console=ttyS0'
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

LOOP=
ESP_LOOP=
MNT=
CFG=
STAGE=
cleanup() {
  st=$?
  trap - EXIT INT TERM
  if [ -n "$MNT" ]; then
    if mountpoint -q "$MNT"; then umount "$MNT" || umount -l "$MNT" || true; fi
    rmdir "$MNT" 2>/dev/null || true
  fi
  for l in $LOOP $ESP_LOOP; do losetup -d "$l" 2>/dev/null || true; done
  if [ -n "$CFG" ]; then rm -f "$CFG"; fi
  if [ -n "$STAGE" ]; then rm -rf "$STAGE"; fi
  exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

syslinux_cfg() {
  printf 'DEFAULT linux\nLABEL linux\n  LINUX /boot/vmlinux\n  INITRD /boot/initrd\n  APPEND %s\n' "$CMDLINE"
}

# mkfs.ext4 on a loop device of the root partition (its byte offset and, optionally, size),
# mounted; the tree copied in with rsync; /boot's kernel, initrd and syslinux.cfg.
root_by_rsync() {
  LOOP=$(losetup --find --show --offset "$1" ${2:+--sizelimit "$2"} "$IMG")
  mkfs.ext4 -q -U "$UUID" "$LOOP"
  MNT=$(mktemp -d /tmp/bake-loop-mnt.XXXXXX)
  mount "$LOOP" "$MNT"
  rsync --archive --chown=0:0 "$TREE/" "$MNT/"
  mkdir -p "$MNT/boot"
  cp "$KERNEL" "$MNT/boot/vmlinux"
  cp "$INITRD" "$MNT/boot/initrd"
  syslinux_cfg > "$MNT/boot/syslinux.cfg"
}

# extlinux into the mounted root's /boot, then everything released and synced.
extlinux_and_release() {
  extlinux --install "$MNT/boot" --heads 64 --sectors 32 >/dev/null
  umount "$MNT"
  rmdir "$MNT"
  MNT=
  for l in $LOOP $ESP_LOOP; do losetup -d "$l"; done
  LOOP= ESP_LOOP=
  sync
}

# An MBR disk: one active Linux partition from sector 2048 to the end, mbr.bin's boot code.
mbr_disk() {
  rm -f "$IMG"
  fallocate -l "$SIZE" "$IMG"
  printf 'o\nn\np\n1\n2048\n\na\nw\n' | fdisk "$IMG" >/dev/null
  dd bs=440 count=1 conv=notrunc if="$MBR" of="$IMG" status=none
}

bios_loop() {
  mbr_disk
  root_by_rsync "$OFFSET"
  extlinux_and_release
}

bios_mkfs_d() {
  mbr_disk
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
  extlinux_and_release
}

# Byte offset and size of partition $1 of IMG.
part_offset() { echo $(( $(partx -g -o START -n "$1" "$IMG") * 512 )); }
part_bytes() { echo $(( $(partx -g -o SECTORS -n "$1" "$IMG") * 512 )); }

hybrid_loop() {
  rm -f "$IMG"
  fallocate -l "$SIZE" "$IMG"
  sgdisk -o -n "1:2048:+$ESP_SIZE" -t 1:EF00 -c 1:esp -n 2:0:0 -t 2:8304 -c 2:root-x86-64 -A 2:set:2 "$IMG" >/dev/null 2>&1
  dd bs=440 count=1 conv=notrunc if="$GPTMBR" of="$IMG" status=none

  # The ESP: FAT16, systemd-boot at the firmware's fallback path, its loader entry, the kernel and initrd.
  STAGE=$(mktemp -d /tmp/bake-loop-esp.XXXXXX)
  mkdir -p "$STAGE/EFI/BOOT" "$STAGE/loader/entries" "$STAGE/linux"
  cp "$SYSTEMD_BOOT" "$STAGE/EFI/BOOT/BOOTX64.EFI"
  printf 'default linux.conf\ntimeout 0\neditor no\n' > "$STAGE/loader/loader.conf"
  printf 'title Linux (cake-img)\nlinux /linux/vmlinuz\ninitrd /linux/initrd\noptions %s\n' "$CMDLINE" > "$STAGE/loader/entries/linux.conf"
  cp "$KERNEL" "$STAGE/linux/vmlinuz"
  cp "$INITRD" "$STAGE/linux/initrd"
  ESP_LOOP=$(losetup --find --show --offset "$(part_offset 1)" --sizelimit "$(part_bytes 1)" "$IMG")
  mkfs.vfat -F 16 -n ESP "$ESP_LOOP" >/dev/null
  MTOOLS_SKIP_CHECK=1 mcopy -s -i "$ESP_LOOP" "$STAGE"/* ::/

  root_by_rsync "$(part_offset 2)" "$(part_bytes 2)"
  extlinux_and_release
}

"$MODE"
