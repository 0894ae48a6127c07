// A fixed VHD as a device: the raw disk in the file's first `size` bytes, the footer
// after them once the disk is written.
import { type BlockDevice, subDevice } from '../../../io/block-device.js';
import { VHD_FOOTER_SIZE, type VhdFooterOptions, encodeVhdFooter } from './footer.js';

export interface FixedVhd {
  /** The guest disk. */
  device: BlockDevice;
  /** Writes the footer; call when the disk is complete. */
  finish(): Promise<void>;
}

/** `file` must be `o.size` + 512 bytes. */
export function fixedVhd(file: BlockDevice, o: VhdFooterOptions): FixedVhd {
  if (file.size !== o.size + VHD_FOOTER_SIZE) throw new Error(`vhd: the file device has ${file.size} bytes, not ${o.size} + ${VHD_FOOTER_SIZE}`);
  return {
    device: subDevice(file, 0, o.size),
    async finish() {
      await file.writeAt(o.size, encodeVhdFooter(o));
      await file.flush();
    },
  };
}
