// Copies file data straight from host files into a host image file, on the main thread
// and (with more than 64 files and a second core) one worker at once: both claim files
// from a shared counter and pread/pwrite them to the places the plan gave, a batch of
// files at a time. Used when the source is a host directory and the image a host file;
// the bake core only hands over (ref → segments) jobs. Files that are not host files (a
// bake's /boot, made in memory) are declined, and the writer writes them itself.
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { CorruptInputError } from '../util/errors.js';
import type { ContentRef } from '../tree/node.js';
import { type BulkCopy, type CopyJob, NO_BULK_COPY } from '../io/block-device.js';

/** Every job in flat shared arrays: no per-file objects, nothing copied to the worker. */
interface Shared {
  pathBytes: Uint8Array;
  pathOff: Uint32Array;
  sizes: Float64Array;
  copyOff: Uint32Array;
  copies: Float64Array;
  zeroOff: Uint32Array;
  zeros: Float64Array;
  count: number;
  /** The image's descriptor (threads share the process's descriptors). */
  fd: number;
  base: number;
  fill: boolean;
  ctl: Int32Array;
}

type Failure = { index: number; code: string; message: string } | null;

function sharedF64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(8, n * 8)));
}

/** Offsets into the other arrays (each well under 2^32 entries). */
function sharedU32(n: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(Math.max(4, n * 4)));
}

/** A thread's copy buffers, made once and kept for every batch. */
interface Scratch {
  buf?: Buffer;
  zero?: Buffer;
}

// One implementation for both threads: the worker gets it as source text. It claims
// files from ctl[0] and stops when ctl[1] is set (another thread failed). The buffers
// are the thread's own and outlive the batch: new ones a batch were garbage the worker,
// which allocates little, kept until its rare GC.
function copyLoop(s: Shared, fs: typeof import('node:fs'), scratch: Scratch): Failure {
  const ctl = s.ctl;
  const CHUNK = 1 << 20;
  // One byte of room past a chunk: see `probe` below.
  const buf = (scratch.buf ??= Buffer.allocUnsafe(CHUNK + 1));
  const zero = s.fill ? (scratch.zero ??= Buffer.alloc(1 << 16)) : buf;
  const out = s.fd;
  {
    for (;;) {
      if (Atomics.load(ctl, 1)) return null;
      const i = Atomics.add(ctl, 0, 1);
      if (i >= s.count) return null;
      let fd = -1;
      try {
        fd = fs.openSync(Buffer.from(s.pathBytes.subarray(s.pathOff[i]!, s.pathOff[i + 1]!)), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        const size = s.sizes[i]!;
        const first = s.copyOff[i]!;
        const last = s.copyOff[i + 1]! - 3;
        // A file whose data runs to its end is checked for its size by its own last read,
        // which asks one byte more: that byte comes only if the file grew, and a short
        // read means it shrank. An fstat a file was a syscall more per file (a file with a
        // trailing hole still gets one).
        const probe = last >= first && s.copies[last]! + s.copies[last + 1]! === size;
        if (!probe) {
          const now = fs.fstatSync(fd).size;
          if (now !== size) throw Object.assign(new Error(`file changed size while reading (now ${now}, expected ${size} bytes)`), { code: 'ECHANGED' });
        }
        for (let k = first; k <= last; k += 3) {
          const src = s.copies[k]!;
          const len = s.copies[k + 1]!;
          const dst = s.base + s.copies[k + 2]!;
          let done = 0;
          while (done < len) {
            const want = Math.min(CHUNK, len - done);
            const tail = probe && k === last && done + want === len;
            const n = fs.readSync(fd, buf, 0, tail ? want + 1 : want, src + done);
            if (n <= 0) throw Object.assign(new Error(`file changed size while reading (shrank; expected ${size} bytes)`), { code: 'ECHANGED' });
            if (n > want) throw Object.assign(new Error(`file changed size while reading (grew; expected ${size} bytes)`), { code: 'ECHANGED' });
            let w = 0;
            while (w < n) w += fs.writeSync(out, buf, w, n - w, dst + done + w);
            done += n;
          }
        }
        if (s.fill) for (let k = s.zeroOff[i]!; k < s.zeroOff[i + 1]!; k += 2) fs.writeSync(out, zero, 0, s.zeros[k + 1]!, s.base + s.zeros[k]!);
      } catch (e) {
        Atomics.store(ctl, 1, 1);
        const err = e as NodeJS.ErrnoException;
        return { index: i, code: err.code ?? 'EIO', message: err.message };
      } finally {
        if (fd >= 0) fs.closeSync(fd);
      }
    }
  }
}

const WORKER = `
const { parentPort } = require('node:worker_threads');
${copyLoop.toString()}
const scratch = {};
parentPort.on('message', (s) => parentPort.postMessage(copyLoop(s, require('node:fs'), scratch)));
`;

/**
 * Files per batch: the shared arrays hold one batch at a time (some 70 bytes a file), so a
 * million-file copy needs a few MB of them, not 70.
 */
const BATCH = 1 << 15;

type Image = { fd: number; base: number; fill: boolean };

/**
 * `hostPath(ref)` gives a file's host path bytes (null: not a host file, so not taken).
 * `zeroFill`: write the zero fills too (the image was not freshly made sparse).
 */
export function hostCopier(imageFd: number, base: number, hostPath: (ref: ContentRef) => Uint8Array | null, zeroFill: boolean): { begin(count: number, job: (i: number) => CopyJob): BulkCopy } {
  return {
    begin(count, job) {
      // Pass 1: which files are host files, and the sizes of each batch's flat arrays;
      // pass 2, a batch at a time: fill them. Jobs are made on demand so no array of
      // 100,000 job objects ever exists.
      const measured = measureJobs(count, job, hostPath, zeroFill);
      if (!measured) return NO_BULK_COPY;
      const { sized, picked, declined } = measured;
      const taken = picked ? picked.length : count;
      // One set of shared arrays, sized for the largest batch, is refilled for each batch
      // (a batch starts only when both threads are done with the last one): new ones a
      // batch were some 3 MB each of fresh pages, kept alive until both threads' next GC.
      const shared = sharedArrays(sized, Math.min(taken, BATCH), { fd: imageFd, base, fill: zeroFill });
      const share = (b: number) => shareJobs(b * BATCH, Math.min(taken, (b + 1) * BATCH), picked, job, hostPath, sized[b]!, shared);
      const helper = startHelper(taken);
      // The helper starts on the first batch now, while the writer writes the metadata.
      const first = share(0);
      const firstRun = helper?.run(first) ?? Promise.resolve(null);
      return {
        taken: true,
        copies: declined.size ? (i) => !declined.has(i) : () => true,
        finish: () => finish(first, firstRun, sized.length, share, helper),
      };
    },
  };
}

interface JobSizes {
  pathLen: number;
  copyLen: number;
  zeroLen: number;
}

/**
 * The lengths of each batch's shared arrays, and which files are taken: the host files
 * (`picked`, their indices, only when some are not: a bake's /boot is made in memory);
 * null when none is. Paths are made again to fill the arrays rather than kept: a Buffer
 * per file was tens of MB.
 */
function measureJobs(count: number, job: (i: number) => CopyJob, hostPath: (ref: ContentRef) => Uint8Array | null, zeroFill: boolean): { sized: JobSizes[]; picked: Uint32Array | null; declined: Set<number> } | null {
  const sized: JobSizes[] = [];
  const declined = new Set<number>();
  let taken = 0;
  for (let i = 0; i < count; i++) {
    const j = job(i);
    const p = hostPath(j.ref);
    if (!p) {
      declined.add(i);
      continue;
    }
    if (taken++ % BATCH === 0) sized.push({ pathLen: 0, copyLen: 0, zeroLen: 0 });
    const sz = sized[sized.length - 1]!;
    sz.pathLen += p.length;
    sz.copyLen += j.copies.length;
    // Zero fills are only kept when they are written.
    if (zeroFill) sz.zeroLen += j.zeros.length;
  }
  if (!taken && count) return null;
  if (!sized.length) sized.push({ pathLen: 0, copyLen: 0, zeroLen: 0 });
  let picked: Uint32Array | null = null;
  if (declined.size) {
    picked = new Uint32Array(taken);
    for (let i = 0, t = 0; i < count; i++) if (!declined.has(i)) picked[t++] = i;
  }
  return { sized, picked, declined };
}

/** Shared arrays that hold any one batch (`files` at most), empty. */
function sharedArrays(sized: JobSizes[], files: number, image: Image): Shared {
  const most = (k: keyof JobSizes) => sized.reduce((m, z) => Math.max(m, z[k]), 0);
  return {
    pathBytes: new Uint8Array(new SharedArrayBuffer(Math.max(1, most('pathLen')))), pathOff: sharedU32(files + 1),
    sizes: sharedF64(files), copyOff: sharedU32(files + 1), copies: sharedF64(most('copyLen')),
    zeroOff: sharedU32(files + 1), zeros: sharedF64(most('zeroLen')), count: 0, ...image,
    ctl: new Int32Array(new SharedArrayBuffer(8)),
  };
}

/**
 * Taken files [from, to) into the shared arrays `s` (`picked` maps them to job indices
 * when some were declined), each job's part found through its offset array.
 */
function shareJobs(
  from: number, to: number, picked: Uint32Array | null, job: (i: number) => CopyJob, hostPath: (ref: ContentRef) => Uint8Array | null, sized: JobSizes, s: Shared,
): Shared {
  const count = to - from;
  s.count = count;
  s.ctl.fill(0);
  let po = 0, co = 0, zo = 0;
  for (let i = 0; i < count; i++) {
    const j = job(picked ? picked[from + i]! : from + i);
    const p = hostPath(j.ref)!;
    if (po + p.length > sized.pathLen) throw new Error('a host path changed between two asks (copier bug)');
    s.pathBytes.set(p, po);
    po += p.length;
    s.pathOff[i + 1] = po;
    s.sizes[i] = j.size;
    s.copies.set(j.copies, co);
    co += j.copies.length;
    s.copyOff[i + 1] = co;
    if (s.fill) {
      s.zeros.set(j.zeros, zo);
      zo += j.zeros.length;
    }
    s.zeroOff[i + 1] = zo;
  }
  return s;
}

interface Helper {
  /** Copies its share of a batch; resolves with its failure or null. */
  run(s: Shared): Promise<Failure>;
  stop(): void;
}

/**
 * The helper thread, kept for every batch; one helper is worth its start-up only with
 * something to share. It holds the process open only while it has a batch.
 */
function startHelper(count: number): Helper | null {
  if (!(os.availableParallelism() > 1 && count > 64)) return null;
  const worker = new Worker(WORKER, { eval: true });
  let pending: { resolve: (f: Failure) => void; reject: (e: Error) => void } | null = null;
  let broken: Error | null = null;
  const settle = (f: Failure | Error) => {
    const p = pending;
    pending = null;
    worker.unref();
    if (f instanceof Error) {
      broken = f;
      p?.reject(f);
    } else p?.resolve(f);
  };
  worker.on('message', (f: Failure) => settle(f));
  worker.on('error', (e) => settle(e));
  worker.on('exit', (code) => settle(new Error(`copy worker exited with ${code}`)));
  return {
    run(s) {
      if (broken) return Promise.reject(broken);
      worker.ref();
      const done = new Promise<Failure>((resolve, reject) => {
        pending = { resolve, reject };
        worker.postMessage(s);
      });
      // Not awaited when the main thread fails first (or the writer never gets to finish).
      done.catch(() => {});
      return done;
    },
    stop() {
      worker.removeAllListeners('exit');
      void worker.terminate();
    },
  };
}

/**
 * Each batch: the main thread's share of the copy, then the helper's end; the first
 * failure is an error naming its file.
 */
async function finish(first: Shared, firstRun: Promise<Failure>, batches: number, share: (b: number) => Shared, helper: Helper | null): Promise<void> {
  const fs = await import('node:fs');
  const scratch: Scratch = {};
  try {
    let s = first;
    let theirs = firstRun;
    for (let b = 0; ;) {
      const mine = copyLoop(s, fs, scratch);
      const f = mine ?? (await theirs);
      if (f) throw failure(s, f);
      if (++b >= batches) break;
      s = share(b);
      theirs = helper?.run(s) ?? Promise.resolve(null);
    }
  } finally {
    helper?.stop();
  }
}

function failure(s: Shared, f: NonNullable<Failure>): CorruptInputError {
  const where = Buffer.from(s.pathBytes.subarray(s.pathOff[f.index]!, s.pathOff[f.index + 1]!)).toString('utf8');
  const why = f.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
  return new CorruptInputError(where, f.code === 'ECHANGED' ? f.message : `cannot read: ${f.code} ${why}`);
}
