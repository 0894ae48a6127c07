// Which QEMU accelerator can actually run a guest here. /dev/kvm existing is not enough:
// nested or paravirtual hosts (the PVM flavour: kvm_pvm loaded, no kvm_intel/kvm_amd)
// expose it, yet guests abort or syslinux stops with "KVM internal error".
import * as fs from 'node:fs';

export type Accel = 'kvm' | 'tcg';

export interface AccelProbe {
  accel: Accel;
  reason: string;
}

export function detectAccel(sys = '/sys/module', dev = '/dev/kvm'): AccelProbe {
  try {
    fs.accessSync(dev, fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: `${dev} is missing or not accessible` };
  }
  const has = (m: string) => fs.existsSync(`${sys}/${m}`);
  if (has('kvm_pvm')) return { accel: 'tcg', reason: 'KVM is the PVM flavour (kvm_pvm), which cannot run full guests' };
  if (!has('kvm_intel') && !has('kvm_amd')) return { accel: 'tcg', reason: 'no kvm_intel or kvm_amd module: /dev/kvm cannot run guests here' };
  return { accel: 'kvm', reason: 'kvm_intel/kvm_amd loaded and /dev/kvm accessible' };
}
