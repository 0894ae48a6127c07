// Disk image outputs in the formats other than raw (image-output.ts says how each is
// written); loaded only when one is asked for, with its compressors.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BlockDevice, subDevice } from '../io/block-device.js';
import type { ByteRange } from '../io/byte-ranges.js';
import { writeQcow2Stream } from '../bake/image-formats/qcow2/stream-writer.js';
import { Qcow2Device } from '../bake/image-formats/qcow2/device.js';
import { planQcow2 } from '../bake/image-formats/qcow2/layout.js';
import type { ImageSource } from '../bake/image-formats/source.js';
import { VHD_FOOTER_SIZE, vhdSize } from '../bake/image-formats/vhd/footer.js';
import { fixedVhd } from '../bake/image-formats/vhd/fixed.js';
import { writeVmdkStream } from '../bake/image-formats/vmdk/stream-writer.js';
import { deflatePool } from './deflate-pool.js';
import { faultPoint } from './fault.js';
import type { ImageSpec, ImageWritten } from './image-spec.js';
import { NodeFileBlockDevice } from './node-block-device.js';
import { NodeFileSink } from './node-file-sink.js';
import { type OutputOptions, checkOutputPath, createTemp, writeOutput } from './output-file.js';

function derive(seed: Uint8Array, what: string): Buffer {
  return createHash('sha256').update(seed).update(`\0cake-img ${what}`).digest();
}

/** A UUID from the inputs: hashed, with the version 4 and variant bits set (as systemd-repart --seed). */
function uuidFrom(seed: Uint8Array): Uint8Array {
  const u = new Uint8Array(derive(seed, 'vhd unique id').subarray(0, 16));
  u[6] = (u[6]! & 0x0f) | 0x40;
  u[8] = (u[8]! & 0x3f) | 0x80;
  return u;
}

/** Writes `target` in `spec.format` (not raw: image-output.ts writes that); `write` fills the guest disk. */
export async function writeFormattedImage(
  target: string,
  out: OutputOptions,
  spec: ImageSpec,
  write: (dev: BlockDevice) => Promise<void>,
): Promise<ImageWritten> {
  const notes: string[] = [];
  const ranges = async (): Promise<readonly ByteRange[]> => (typeof spec.ranges === 'function' ? collect(spec.ranges()) : spec.ranges);
  if (spec.format === 'vhd') {
    const virtual = vhdSize(spec.size);
    if (virtual !== spec.size) notes.push(`the VHD's virtual size is rounded up from ${spec.size} to ${virtual} bytes (a whole MiB, as Azure requires)`);
    await writeOutput(target, out, async (o) => {
      const vhd = fixedVhd(NodeFileBlockDevice.fromFd(o.fd, virtual + VHD_FOOTER_SIZE), { size: virtual, time: spec.time, uniqueId: uuidFrom(spec.seed) });
      await write(vhd.device.size === spec.size ? vhd.device : subDevice(vhd.device, 0, spec.size));
      await vhd.finish();
    });
    return { format: 'vhd', virtualSize: virtual, fileBytes: virtual + VHD_FOOTER_SIZE, notes };
  }
  if (spec.format === 'qcow2' && !spec.qcow2Compress) {
    const layout = planQcow2(spec.size, await ranges());
    await writeOutput(target, out, async (o) => write(await Qcow2Device.create(NodeFileBlockDevice.fromFd(o.fd, layout.fileSize), layout)));
    return { format: 'qcow2', virtualSize: spec.size, fileBytes: layout.fileSize, notes };
  }
  // Streamed: the disk goes raw into a temp of its own first.
  const abs = checkOutputPath(target, out);
  const fileBytes = await writeOutput(target, out, async (o) => {
    const raw = createTemp(abs);
    try {
      const dev = NodeFileBlockDevice.fromFd(raw.fd, spec.size);
      await write(dev);
      return await streamImage(o.fd, target, spec, dev, await ranges());
    } finally {
      fs.closeSync(raw.fd);
      fs.rmSync(raw.path, { force: true });
      raw.forget();
    }
  });
  return { format: spec.format, virtualSize: spec.size, fileBytes, notes };
}

/** Writes `target` as a streamed format (vmdk, qcow2) from an existing image. */
export async function writeStreamedImage(target: string, out: OutputOptions, spec: ImageSpec, src: ImageSource, ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>): Promise<ImageWritten> {
  const fileBytes = await writeOutput(target, out, (o) => streamImage(o.fd, target, spec, src, ranges));
  return { format: spec.format, virtualSize: spec.size, fileBytes, notes: [] };
}

/** Streams `src` (only the `ranges`) as a VMDK or a qcow2 into `fd`; returns the file's size. */
async function streamImage(fd: number, target: string, spec: ImageSpec, src: ImageSource, ranges: Iterable<ByteRange> | AsyncIterable<ByteRange>): Promise<number> {
  const engine = spec.format === 'vmdk' || spec.qcow2Compress ? deflatePool() : undefined;
  try {
    if (spec.format === 'vmdk') {
      const sink = new NodeFileSink(fd);
      const cid = derive(spec.seed, 'vmdk cid').readUInt32LE(0);
      const r = await writeVmdkStream(src, ranges, sink.write, { cid, fileName: path.basename(target), engine });
      sink.close();
      return r.bytes;
    }
    const r = await writeQcow2Stream(src, ranges, { writeAt: async (at, b) => pwriteAll(fd, b, at) }, { compress: Boolean(spec.qcow2Compress), engine });
    fs.ftruncateSync(fd, r.fileSize);
    return r.fileSize;
  } finally {
    engine?.close?.();
  }
}

function pwriteAll(fd: number, b: Uint8Array, at: number): void {
  let done = 0;
  while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done, at + done);
  faultPoint('write');
}

async function collect(it: AsyncIterable<ByteRange>): Promise<ByteRange[]> {
  const out: ByteRange[] = [];
  for await (const r of it) out.push(r);
  return out;
}
