// Debian binary packages (.deb) as a source: an `ar` archive whose `data.tar[.gz|.xz|.zst|.bz2]`
// member is the package's files. Read in-process, so owners, modes, setuid bits and device
// nodes come from the tar headers exactly as dpkg would install them (dpkg-deb -x as a
// normal user would lose them). The member is streamed straight from its byte range.
import * as fs from 'node:fs';
import { CorruptInputError } from '../util/errors.js';
import { AR_MAGIC, isDeb } from './compression.js';

export { isDeb };
import type { LoadedTree } from './directory.js';
import { type SpillStore, loadTar } from './tar.js';

const AR_HEADER = 60;

export interface ArMember {
  name: string;
  offset: number;
  size: number;
}


/** The members of an ar archive (names with the GNU/BSD trailing '/' removed). */
export function arMembers(path: string): ArMember[] {
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(AR_HEADER);
    if (fs.readSync(fd, head, 0, 8, 0) !== 8 || head.toString('latin1', 0, 8) !== AR_MAGIC) throw new CorruptInputError(path, 'not an ar archive (.deb)');
    const out: ArMember[] = [];
    let at = 8;
    while (at < size) {
      if (fs.readSync(fd, head, 0, AR_HEADER, at) !== AR_HEADER) throw new CorruptInputError(path, `truncated ar header at byte ${at}`);
      if (head[58] !== 0x60 || head[59] !== 0x0a) throw new CorruptInputError(path, `bad ar header at byte ${at}`);
      const name = head.toString('latin1', 0, 16).trimEnd().replace(/\/$/, '');
      const sizeField = head.toString('latin1', 48, 58).trim();
      if (!/^\d+$/.test(sizeField)) throw new CorruptInputError(path, `bad member size ${JSON.stringify(sizeField)} at byte ${at}`);
      const len = Number(sizeField);
      const offset = at + AR_HEADER;
      if (offset + len > size) throw new CorruptInputError(`${path}: ${name}`, 'member runs past the end of the archive');
      out.push({ name, offset, size: len });
      at = offset + len + (len & 1);
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** The tree a .deb installs (its data.tar). */
export async function loadDeb(path: string, opts: { lenient?: boolean; sizeLimit?: number; spill?: () => SpillStore } = {}): Promise<LoadedTree> {
  const members = arMembers(path);
  if (members[0]?.name !== 'debian-binary') throw new CorruptInputError(path, 'not a Debian package (no debian-binary member first)');
  const data = members.find((m) => /^data\.tar(\.(gz|xz|zst|bz2|lzma))?$/.test(m.name));
  if (!data) throw new CorruptInputError(path, `no data.tar member (has ${members.map((m) => m.name).join(', ')})`);
  const label = `${path}: ${data.name}`;
  const open = (): AsyncIterable<Uint8Array> =>
    data.size === 0 ? (async function* () {})() : fs.createReadStream(path, { start: data.offset, end: data.offset + data.size - 1, highWaterMark: 1 << 20 });
  return loadTar(open, { label, spill: opts.spill, lenient: opts.lenient, sizeLimit: opts.sizeLimit });
}
