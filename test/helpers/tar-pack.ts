// Small tar archives for tests, written by tar-stream (an independent writer, so our
// reader is not only ever checked against our own writer).
import tarStream from 'tar-stream';

export interface TarEntry {
  name: string;
  /** Default: 'file' when there is a body, else 'directory'. */
  type?: tarStream.Headers['type'];
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  body?: string | Buffer;
}

export async function packTar(entries: TarEntry[]): Promise<Buffer> {
  const p = tarStream.pack();
  for (const e of entries) {
    const type = e.type ?? (e.body !== undefined ? 'file' : 'directory');
    const header: tarStream.Headers = {
      name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0,
      linkname: e.linkname, devmajor: e.devmajor, devminor: e.devminor, mtime: new Date(1_700_000_000_000),
    };
    if (type === 'file') p.entry(header, e.body ?? '');
    else p.entry(header);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
