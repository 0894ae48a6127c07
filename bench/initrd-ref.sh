#!/bin/bash
# The reference for `jiti bench/run.ts initrd`: the boot initramfs `cake-img initrd` makes,
# made by a script with the usual tools.
#
#   bench/initrd-ref.sh KDIR MODULES BUSYBOX INIT WORK OUT
#
# KDIR is a kernel's lib/modules/VERSION (with modules.dep.bin: depmod has run), MODULES a
# comma-separated list; their closure (dependencies and softdeps) comes from `modprobe
# --show-depends`, one module at a time. WORK gets what cake-img's initramfs holds: BUSYBOX
# as bin/busybox and the applet symlinks /init uses, INIT as /init, dev/console (as root),
# mnt proc sys, the modules under lib/modules/VERSION (compressed ones decompressed, since
# busybox insmod cannot load them), plus modules.dep and modules.builtin (what a
# modprobe-based /init would need); then `find | sort | cpio -o -H newc | gzip -9` into OUT.
set -euo pipefail
[ $# -eq 6 ] || { echo "usage: $0 KDIR MODULES BUSYBOX INIT WORK OUT" >&2; exit 2; }
kdir=$(cd "$1" && pwd)
modules=$2 busybox=$3 init=$4 work=$5 out=$(realpath -m "$6")
ver=$(basename "$kdir")
base=$(dirname "$(dirname "$(dirname "$kdir")")")

rm -rf "$work"
mkdir -p "$work/bin" "$work/dev" "$work/mnt" "$work/proc" "$work/sys" "$work/lib/modules/$ver"
cp "$busybox" "$work/bin/busybox"
for applet in cat findfs insmod ls mount sh sleep switch_root umount; do ln -s busybox "$work/bin/$applet"; done
cp "$init" "$work/init"
chmod 755 "$work/init"
if [ "$(id -u)" = 0 ]; then mknod -m 600 "$work/dev/console" c 5 1; fi

IFS=, read -ra names <<< "$modules"
for m in "${names[@]}"; do modprobe -d "$base" -S "$ver" --show-depends "$m"; done |
  awk '$1 == "insmod" { print $2 }' | sort -u |
  while read -r f; do
    rel=${f#"$kdir"/}
    mkdir -p "$work/lib/modules/$ver/$(dirname "$rel")"
    case $f in
      *.ko.xz) xz -dc "$f" > "$work/lib/modules/$ver/${rel%.xz}" ;;
      *.ko.zst) zstd -qdc "$f" > "$work/lib/modules/$ver/${rel%.zst}" ;;
      *.ko.gz) gzip -dc "$f" > "$work/lib/modules/$ver/${rel%.gz}" ;;
      *) cp "$f" "$work/lib/modules/$ver/$rel" ;;
    esac
  done
cp "$kdir/modules.dep" "$kdir/modules.builtin" "$work/lib/modules/$ver/"

cd "$work"
find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -9 -n > "$out"
