// `cake-img boot IMG`: the image in QEMU on the serial console. Under BIOS, SeaBIOS's own
// output is copied to the serial port so boot-loader errors ("Boot error", "Missing
// operating system") are visible too. Under UEFI, OVMF on a q35 machine: its code as a
// read-only flash, a fresh copy of its variable store per boot. The default firmware
// follows the disk: UEFI for a GPT disk with an ESP and no BIOS boot code, else BIOS.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Accel, detectAccel } from '../run/accel.js';
import { type QemuResult, qemuOptionValue, runQemu } from '../run/qemu.js';
import { hostTool } from '../host/host-tools.js';
import { removeOnExit, spawnTracked } from '../host/lifecycle.js';
import { faultPoint } from '../host/fault.js';
import { unreadable } from '../host/load-source.js';
import { CorruptInputError, InvalidOptionError, quote } from '../util/errors.js';
import { defaultFirmware, probeDisk } from '../bake/gpt/probe.js';
import { findOvmf } from '../host/ovmf.js';
import { cacheDir } from '../host/cache.js';
import { type ImageFormat, QEMU_FORMAT } from '../bake/image-formats/format.js';
import { readImageFile } from '../host/image-file.js';

export type Firmware = 'bios' | 'uefi';

export interface BootRequest {
  image: string;
  expect?: string;
  timeoutSec?: number;
  memory?: string;
  accel?: Accel | 'auto';
  extraArgs?: string[];
  onOutput?: (text: string) => void;
  /** Default: from the disk (see probeDisk). */
  firmware?: Firmware;
  /** `--ovmf DIR`: where OVMF_CODE*.fd and OVMF_VARS*.fd are. */
  ovmf?: string;
}

/**
 * The format from the image's bytes (a name can lie), told to QEMU so it never guesses;
 * and the guest disk's first 34 sectors (protective MBR, GPT header and entries) read
 * through that format, from which the default firmware follows.
 */
async function inspect(image: string): Promise<{ format: ImageFormat; head: Uint8Array }> {
  const { file, reader } = await readImageFile(image);
  try {
    return { format: reader.format, head: await reader.readAt(0, Math.min(reader.size, 34 * 512)) };
  } finally {
    file.close();
  }
}

/** Guest memory as QEMU's -m takes it: a number of MiB, or with a K/M/G/T suffix. */
const MEMORY = /^[1-9]\d*(?:[KMGT]i?B?)?$/i;

export async function boot(req: BootRequest): Promise<QemuResult & { accelReason: string; firmware: Firmware }> {
  let st: fs.Stats;
  try {
    st = fs.statSync(req.image);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptInputError(quote(req.image), 'no such image');
    throw unreadable(req.image, e, 'the image');
  }
  if (!st.isFile() && !st.isBlockDevice()) throw new CorruptInputError(quote(req.image), 'is not a disk image (a directory?); boot takes an image file');
  try {
    fs.accessSync(req.image, fs.constants.R_OK);
  } catch (e) {
    throw unreadable(req.image, e, 'the image');
  }
  if (req.accel && !['auto', 'kvm', 'tcg'].includes(req.accel)) throw new InvalidOptionError('--accel', `must be auto, kvm or tcg, not ${JSON.stringify(req.accel)}`);
  if (req.memory !== undefined && !MEMORY.test(req.memory)) throw new InvalidOptionError('--memory', `expected a size such as 512M or 2G, not ${JSON.stringify(req.memory)}`);
  if (req.firmware !== undefined && req.firmware !== 'bios' && req.firmware !== 'uefi') {
    throw new InvalidOptionError('--firmware', `must be bios or uefi, not ${JSON.stringify(req.firmware)}`);
  }
  const seen = st.isFile() ? await inspect(req.image) : { format: 'raw' as ImageFormat, head: new Uint8Array(0) };
  const format = seen.format;
  const firmware = req.firmware ?? defaultFirmware(probeDisk(seen.head));
  const ovmf = firmware === 'uefi' ? await findOvmf({ path: req.ovmf, cacheDir: cacheDir() }) : undefined;
  const probe = detectAccel();
  const accel = !req.accel || req.accel === 'auto' ? probe.accel : req.accel;
  // SeaBIOS reads etc/sercon-port as a little-endian integer: 0x3f8 is COM1. QEMU takes
  // fw_cfg blobs from files only, so the two bytes live in a temporary file for the run.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-boot-'));
  const forget = removeOnExit(dir);
  const sercon = path.join(dir, 'sercon-port');
  fs.writeFileSync(sercon, Buffer.from([0xf8, 0x03]));
  let firmwareArgs = ['-fw_cfg', `name=etc/sercon-port,file=${qemuOptionValue(sercon)}`];
  if (ovmf) {
    const vars = path.join(dir, 'OVMF_VARS.fd');
    fs.copyFileSync(ovmf.vars, vars);
    firmwareArgs = [
      '-machine', 'q35,smm=off',
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptionValue(ovmf.code)}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${qemuOptionValue(vars)}`,
    ];
  }
  try {
    const qemu = await hostTool('qemu-system-x86_64', (line) => process.stderr.write(`cake-img: ${line}\n`));
    const r = await runQemu({
      qemu, spawn: spawnTracked,
      disk: req.image, diskFormat: QEMU_FORMAT[format], memory: req.memory ?? '512M', accel, expect: req.expect, timeoutSec: req.timeoutSec,
      extraArgs: [...firmwareArgs, ...(req.extraArgs ?? [])],
      onOutput: (t) => (faultPoint('console'), req.onOutput?.(t)),
      // SeaBIOS only reads etc/sercon-port, so QEMU's advice to use an opt/ name does not apply.
      dropOutput: /^qemu-system-x86_64: -fw_cfg name=etc\/sercon-port[^\n]*warning: externally provided fw_cfg item names[^\n]*\n/m,
    });
    return { ...r, firmware, accelReason: req.accel === 'kvm' || req.accel === 'tcg' ? `--accel ${req.accel}` : probe.reason };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    forget();
  }
}
