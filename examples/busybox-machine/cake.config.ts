// The original recipe's `alpine-machine`, re-created from Debian packages and without
// root: a busybox root filesystem cooked under proot, baked into a 128M disk that boots
// Debian's kernel to a login prompt on the serial console.
//
//   cake-img build examples/busybox-machine
//   cake-img boot out/busybox-machine.img --expect 'login:'
import { bake, cook, debianPackage, kernelFromDebian } from 'cake-img';

// The base tree: Debian's static busybox. `prepare` (on the host, in the build directory)
// gives it the two things the cook script itself needs: /bin/sh and /usr/bin/env.
const busybox = cook({
  name: 'busybox',
  src: debianPackage('busybox-static'),
  prepare: `
    ln -s busybox rootfs/bin/sh
    mkdir -p rootfs/usr/bin rootfs/etc
    ln -s /bin/busybox rootfs/usr/bin/env
    echo 'export PATH=/sbin:/usr/sbin:/bin:/usr/bin' > rootfs/etc/profile
  `,
  // Inside the tree, as root (proot --root-id): applets, a small /etc, a user, and a
  // getty on the serial console — the original's `sed -i 's/#ttyS0/ttyS0/' /etc/inittab`
  // and `adduser`.
  script: `
    mkdir -p /sbin /usr/sbin
    /bin/busybox --install -s
    rm -rf /usr/share/doc
    mkdir -p /proc /sys /dev /run /tmp /root /home/cake /var/log
    chmod 1777 /tmp
    echo busybox-machine > /etc/hostname
    cat > /etc/passwd <<'END'
root:x:0:0:root:/root:/bin/sh
cake:x:1000:1000:cake:/home/cake:/bin/sh
END
    cat > /etc/group <<'END'
root:x:0:
cake:x:1000:
END
    # Passwords: root has none (a console image for tests); cake's is "cake".
    printf 'root::19000:0:99999:7:::\\ncake:%s:19000:0:99999:7:::\\n' "$(mkpasswd -m sha512 cake)" > /etc/shadow
    chmod 0640 /etc/shadow
    chown -R 1000:1000 /home/cake
    cat > /etc/inittab <<'END'
::sysinit:/bin/mount -t proc proc /proc
::sysinit:/bin/mount -t sysfs sys /sys
::sysinit:/bin/mount -o remount,rw /
::sysinit:/bin/hostname -F /etc/hostname
tty1::respawn:/sbin/getty 38400 tty1
ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
END
  `,
});

export default {
  busybox,
  'busybox-machine': bake({
    image: busybox,
    kernel: kernelFromDebian('linux-image-amd64'),
    // One GPT disk that boots on BIOS (gptmbr.bin, extlinux) and UEFI (systemd-boot).
    firmware: 'hybrid',
    options: ['console=tty1', 'console=ttyS0'],
    size: '128M',
    // The original's list was virtio, virtio_ring, virtio_blk, virtio_pci, jbd2, mbcache,
    // crc16, crc32c_generic, ext4: with modules.dep the dependencies come by themselves.
    modules: ['virtio_blk', 'virtio_pci', 'ext4'],
  }),
};
