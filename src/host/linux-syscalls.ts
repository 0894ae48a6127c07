// Linux system call numbers for the syscalls Node does not expose, which cake-img's perl
// helpers make through perl's syscall() (the tree scan, replacing an output). One table
// for every helper; asm-generic numbering for arm64 and riscv64. Another architecture
// gets none and the helpers are not used.
export interface LinuxSyscalls {
  statx: number;
  llistxattr: number;
  fadvise64: number;
  preadv2: number;
  renameat2: number;
}

const BY_ARCH: Partial<Record<string, LinuxSyscalls>> = {
  x64: { statx: 332, llistxattr: 194, fadvise64: 221, preadv2: 327, renameat2: 316 },
  arm64: { statx: 291, llistxattr: 12, fadvise64: 223, preadv2: 286, renameat2: 276 },
  riscv64: { statx: 291, llistxattr: 12, fadvise64: 223, preadv2: 286, renameat2: 276 },
};

/** This machine's numbers, or undefined off Linux or on another architecture. */
export function linuxSyscalls(): LinuxSyscalls | undefined {
  return process.platform === 'linux' ? BY_ARCH[process.arch] : undefined;
}
