// `cake-img boot IMG`: the image in QEMU on the serial console, with SeaBIOS's own output
// copied to the serial port so boot-loader errors ("Boot error", "Missing operating
// system") are visible too.
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
import { type ImageFormat, QEMU_FORMAT } from '../bake/image-formats/format.js';
import { imageFormatOf } from '../bake/image-formats/open.js';
import { openImageFile } from '../host/image-file.js';

export interface BootRequest {
  image: string;
  expect?: string;
  timeoutSec?: number;
  memory?: string;
  accel?: Accel | 'auto';
  extraArgs?: string[];
  onOutput?: (text: string) => void;
}

/** Guest memory as QEMU's -m takes it: a number of MiB, or with a K/M/G/T suffix. */
const MEMORY = /^[1-9]\d*(?:[KMGT]i?B?)?$/i;

/** The format from the image's bytes (a name can lie), told to QEMU so it never guesses. */
async function formatOf(image: string): Promise<ImageFormat> {
  const file = openImageFile(image);
  try {
    return await imageFormatOf(file);
  } finally {
    file.close();
  }
}

export async function boot(req: BootRequest): Promise<QemuResult & { accelReason: string }> {
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
  const format = st.isFile() ? await formatOf(req.image) : 'raw';
  const probe = detectAccel();
  const accel = !req.accel || req.accel === 'auto' ? probe.accel : req.accel;
  // SeaBIOS reads etc/sercon-port as a little-endian integer: 0x3f8 is COM1. QEMU takes
  // fw_cfg blobs from files only, so the two bytes live in a temporary file for the run.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-boot-'));
  const forget = removeOnExit(dir);
  const sercon = path.join(dir, 'sercon-port');
  fs.writeFileSync(sercon, Buffer.from([0xf8, 0x03]));
  try {
    const qemu = await hostTool('qemu-system-x86_64', (line) => process.stderr.write(`cake-img: ${line}\n`));
    const r = await runQemu({
      qemu, spawn: spawnTracked,
      disk: req.image, diskFormat: QEMU_FORMAT[format], memory: req.memory ?? '512M', accel, expect: req.expect, timeoutSec: req.timeoutSec,
      extraArgs: ['-fw_cfg', `name=etc/sercon-port,file=${qemuOptionValue(sercon)}`, ...(req.extraArgs ?? [])],
      onOutput: (t) => (faultPoint('console'), req.onOutput?.(t)),
      // SeaBIOS only reads etc/sercon-port, so QEMU's advice to use an opt/ name does not apply.
      dropOutput: /^qemu-system-x86_64: -fw_cfg name=etc\/sercon-port[^\n]*warning: externally provided fw_cfg item names[^\n]*\n/m,
    });
    return { ...r, accelReason: req.accel === 'kvm' || req.accel === 'tcg' ? `--accel ${req.accel}` : probe.reason };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    forget();
  }
}
