// Streams a tree as a newc archive: records from cpioRecords, contents from the
// ContentSource, holes as zeros, 4-byte padding, the trailer, and 512-byte padding at
// the end as GNU cpio writes it.
import type { ChunkSink, ContentSource } from '../../io/content-source.js';
import type { FsTree } from '../../tree/node.js';
import { CorruptInputError } from '../../util/errors.js';
import { encodeNewcEntry, pad4, TRAILER } from './newc.js';
import { type CpioRecord, cpioRecords } from './records.js';

const ZEROS = new Uint8Array(64 * 1024);

async function zeros(sink: ChunkSink, n: number): Promise<void> {
  while (n > 0) {
    const k = Math.min(n, ZEROS.length);
    await sink(ZEROS.subarray(0, k));
    n -= k;
  }
}

async function writeContent(r: CpioRecord & { data: { kind: 'content' } }, content: ContentSource, sink: ChunkSink): Promise<void> {
  const runs = r.data.runs ?? [{ offset: 0, length: r.size }];
  let pos = 0;
  let ri = 0;
  let inRun = 0;
  await content.read(r.data.ref, async (chunk) => {
    let c = 0;
    while (c < chunk.length) {
      const run = runs[ri];
      if (!run) throw new CorruptInputError(`/${r.name}`, 'file grew while reading');
      if (inRun === 0 && run.offset > pos) await zeros(sink, run.offset - pos), (pos = run.offset);
      const n = Math.min(chunk.length - c, run.length - inRun);
      await sink(chunk.subarray(c, c + n));
      c += n;
      inRun += n;
      pos += n;
      if (inRun === run.length) ri++, (inRun = 0);
    }
  });
  if (ri < runs.length) throw new CorruptInputError(`/${r.name}`, 'file shrank while reading');
  await zeros(sink, r.size - pos); // a trailing hole
}

export interface CpioStats {
  records: number;
  bytes: number;
}

export async function encodeCpio(tree: FsTree, content: ContentSource, out: ChunkSink): Promise<CpioStats> {
  let bytes = 0;
  const sink: ChunkSink = (c) => {
    bytes += c.length;
    return out(c);
  };
  let records = 0;
  const all = [...cpioRecords(tree)];
  content.plan?.(all.flatMap((r) => (r.data.kind === 'content' ? [r.data.ref] : [])));
  for (const r of all) {
    await sink(encodeNewcEntry({
      c_ino: r.ino, c_mode: r.mode, c_uid: r.uid, c_gid: r.gid, c_nlink: r.nlink, c_mtime: r.mtime, c_filesize: r.size,
      c_devmajor: 0, c_devminor: 0, c_rdevmajor: r.rdevMajor, c_rdevminor: r.rdevMinor,
    }, r.name));
    if (r.data.kind === 'bytes') {
      const b = new Uint8Array(r.data.bytes.length);
      for (let i = 0; i < b.length; i++) b[i] = r.data.bytes.charCodeAt(i);
      await sink(b);
    } else if (r.data.kind === 'content') {
      await writeContent(r as CpioRecord & { data: { kind: 'content' } }, content, sink);
    }
    await zeros(sink, pad4(r.size));
    records++;
  }
  await sink(encodeNewcEntry({
    c_ino: 0, c_mode: 0, c_uid: 0, c_gid: 0, c_nlink: 1, c_mtime: 0, c_filesize: 0,
    c_devmajor: 0, c_devminor: 0, c_rdevmajor: 0, c_rdevminor: 0,
  }, TRAILER));
  await zeros(sink, (512 - (bytes % 512)) % 512);
  return { records, bytes };
}
