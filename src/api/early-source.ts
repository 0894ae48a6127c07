// Which host directory a command line will read as its source tree, guessed from argv
// alone (before commander is loaded), for the early prefetch. A wrong guess only costs a
// wasted hint, so this is deliberately simple: mkfs/initramfs SRC, bake --rootfs SRC,
// cook --src SRC; only an existing directory counts, and of a cooked directory its rootfs
// (the tree that is walked).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOTFS_NAME, isCookedDir } from '../sources/meta-table.js';

function optionValue(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === name) return args[i + 1];
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return undefined;
}

export function earlySourceDir(args: string[]): string | undefined {
  const [command, ...rest] = args;
  let src: string | undefined;
  if (command === 'mkfs' || command === 'initramfs') src = rest.find((a) => !a.startsWith('-'));
  else if (command === 'bake') src = optionValue(rest, '--rootfs');
  else if (command === 'cook') src = optionValue(rest, '--src');
  if (!src) return undefined;
  try {
    if (!fs.statSync(src).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return isCookedDir(src) ? path.join(src, ROOTFS_NAME) : src;
}
