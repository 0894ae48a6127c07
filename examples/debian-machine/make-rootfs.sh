#!/bin/sh
# Makes the Debian minbase root filesystem the debian-machine recipe cooks: systemd and
# udev on top of minbase, as a tarball (owners and device nodes live in its headers).
#
#   examples/debian-machine/make-rootfs.sh [OUT.tar]      (default: rootfs.tar beside this script)
#
# mmdebstrap picks how to get root-owned files: as root it just does; as a user it uses
# unshare mode (user namespaces and /etc/subuid entries) or fakechroot mode (apt-get
# install fakechroot fakeroot). MMDEBSTRAP_MODE=unshare|fakechroot|root forces one; DEBIAN_SUITE and DEBIAN_MIRROR
# override Debian bookworm from deb.debian.org.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/rootfs.tar}
command -v mmdebstrap >/dev/null || { echo "make-rootfs.sh: needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 1; }
# mmdebstrap chooses the output format from the name, so the partial file ends in .tar too.
part="$(dirname "$out")/.partial-$(basename "$out" .tar).tar"
trap 'rm -f "$part"' EXIT
mmdebstrap --mode="${MMDEBSTRAP_MODE:-auto}" --variant=minbase --include=systemd-sysv,udev \
  "${DEBIAN_SUITE:-bookworm}" "$part" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"}
mv "$part" "$out"
trap - EXIT
echo "$out"
