// A Debian minbase with systemd, cooked and baked into a 1G disk that boots to systemd's
// login prompt on the serial console. The root filesystem comes from make-rootfs.sh
// (mmdebstrap); DEBIAN_ROOTFS points elsewhere if you have one.
//
//   examples/debian-machine/make-rootfs.sh
//   cake-img build examples/debian-machine
//   cake-img boot out/debian-machine.img --expect 'login:'
import { bake, cook, kernelFromDebian, tarball } from 'cake-img';

const debian = cook({
  name: 'debian-minbase',
  src: tarball(process.env.DEBIAN_ROOTFS ?? './rootfs.tar'),
  // Run inside the tree under proot, as root: a hostname, a root without a password (a
  // demo console), and no machine-id, so each boot makes its own.
  script: `
    echo debian-machine > /etc/hostname
    passwd -d root
    : > /etc/machine-id
    apt-get clean
  `,
});

export default {
  debian,
  'debian-machine': bake({
    image: debian,
    kernel: kernelFromDebian('linux-image-amd64'),
    // One GPT disk that boots on BIOS (gptmbr.bin, extlinux) and UEFI (systemd-boot).
    firmware: 'hybrid',
    size: '1G',
    options: ['console=ttyS0'],
    modules: ['virtio_blk', 'virtio_pci', 'ext4'],
  }),
};
