// The initramfs /init: the original recipe's, made sturdier. It mounts devtmpfs, proc and
// sysfs; loads the modules in order (saying which fail); optionally opens a debug shell;
// waits a few seconds for the root (found by UUID) to appear; mounts it read-only; moves
// /dev over; and switches root to /sbin/init. If the root never appears it says what it
// saw and drops to a shell rather than letting the kernel panic.

export const INIT_APPLETS = ['sh', 'mount', 'umount', 'insmod', 'findfs', 'switch_root', 'sleep', 'cat', 'ls'] as const;

export interface InitOptions {
  rootUuid: string;
  /** Module paths inside the initramfs, in load order. */
  modules: string[];
  debug: boolean;
  /** Seconds to wait for the root device. */
  rootWait?: number;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function initScript(o: InitOptions): string {
  const tries = Math.max(1, Math.round((o.rootWait ?? 10) * 4));
  const uuid = o.rootUuid;
  return `#!/bin/sh
# Made by cake-img: load modules, find the root by UUID, switch to it.
export PATH=/bin
mount -t devtmpfs none /dev
mount -t proc none /proc
mount -t sysfs none /sys
${o.modules.map((m) => `insmod ${shQuote(m)} || echo "cake-img initrd: insmod ${m.slice(m.lastIndexOf('/') + 1).replace(/["$`\\]/g, '')} failed"`).join('\n')}
${o.debug ? `echo "cake-img initrd: debug shell (exit to continue booting)"\nsh +m\n` : ''}root=
i=0
while [ $i -lt ${tries} ]; do
  root="$(findfs UUID=${uuid} 2>/dev/null)" && [ -n "$root" ] && break
  root=
  sleep 0.25
  i=$((i + 1))
done
if [ -z "$root" ]; then
  echo "cake-img initrd: no block device with UUID=${uuid} after ${o.rootWait ?? 10}s. Block devices seen:"
  cat /proc/partitions
  echo "cake-img initrd: dropping to a shell"
  exec sh +m
fi
if ! mount -r "$root" /mnt; then
  echo "cake-img initrd: could not mount $root (UUID=${uuid}); dropping to a shell"
  exec sh +m
fi
mount -o move /dev /mnt/dev
umount /proc /sys
exec switch_root /mnt /sbin/init
`;
}
