// Debian binary packages (.deb) as a source: an `ar` archive whose `data.tar[.gz|.xz|.zst|.bz2]`
// member is the package's files. Read in-process, so owners, modes, setuid bits and device
// nodes come from the tar headers exactly as dpkg would install them (dpkg-deb -x as a
// normal user would lose them). The member is streamed straight from its byte range of a
// ByteFile (a host file, or a File picked in a browser).
import { type ByteFile, rangeOf } from '../io/byte-file.js';
import { bytesToByteString } from '../tree/names.js';
import { CorruptInputError } from '../util/errors.js';
import { AR_MAGIC, isDeb } from './compression.js';

export { isDeb };

const latin1 = (b: Uint8Array, from = 0, to = b.length): string => bytesToByteString(b.subarray(from, to));
import type { LoadedTree } from './directory.js';
import { type SpillStore, loadTar } from './tar.js';

const AR_HEADER = 60;

export interface ArMember {
  name: string;
  offset: number;
  size: number;
}


/** The members of an ar archive (names with the GNU/BSD trailing '/' removed). */
export async function arMembers(file: ByteFile): Promise<ArMember[]> {
  const path = file.label;
  const size = file.size;
  if (!isDeb(await file.read(0, 8))) throw new CorruptInputError(path, 'not an ar archive (.deb)');
  const out: ArMember[] = [];
  let at = 8;
  while (at < size) {
    const head = await file.read(at, AR_HEADER);
    if (head.length !== AR_HEADER) throw new CorruptInputError(path, `truncated ar header at byte ${at}`);
    if (head[58] !== 0x60 || head[59] !== 0x0a) throw new CorruptInputError(path, `bad ar header at byte ${at}`);
    const name = latin1(head, 0, 16).trimEnd().replace(/\/$/, '');
    const sizeField = latin1(head, 48, 58).trim();
    if (!/^\d+$/.test(sizeField)) throw new CorruptInputError(path, `bad member size ${JSON.stringify(sizeField)} at byte ${at}`);
    const len = Number(sizeField);
    const offset = at + AR_HEADER;
    if (offset + len > size) throw new CorruptInputError(`${path}: ${name}`, 'member runs past the end of the archive');
    out.push({ name, offset, size: len });
    at = offset + len + (len & 1);
  }
  return out;
}

/** The package's data.tar member: its label for messages, where it lies, and a way to stream its (still compressed) bytes. */
export async function debData(file: ByteFile): Promise<{ label: string; offset: number; size: number; open: () => AsyncIterable<Uint8Array> }> {
  const members = await arMembers(file);
  if (members[0]?.name !== 'debian-binary') throw new CorruptInputError(file.label, 'not a Debian package (no debian-binary member first)');
  const data = members.find((m) => /^data\.tar(\.(gz|xz|zst|bz2|lzma))?$/.test(m.name));
  if (!data) throw new CorruptInputError(file.label, `no data.tar member (has ${members.map((m) => m.name).join(', ')})`);
  return { label: `${file.label}: ${data.name}`, offset: data.offset, size: data.size, open: () => rangeOf(file, data.offset, data.offset + data.size) };
}

/** The tree a .deb installs (its data.tar). */
export async function loadDeb(file: ByteFile, opts: { lenient?: boolean; sizeLimit?: number; spill?: () => SpillStore } = {}): Promise<LoadedTree> {
  const data = await debData(file);
  return loadTar(data.open, { label: data.label, spill: opts.spill, lenient: opts.lenient, sizeLimit: opts.sizeLimit });
}
