// A file read by range: a host file on Node, a picked `File` (a Blob) in a browser. What
// archive readers take when they need random access (a .deb's ar index) or to stream a
// byte range (its data.tar member) without the whole file in memory.
export interface ByteFile {
  /** Names the file in messages. */
  readonly label: string;
  readonly size: number;
  /** `length` bytes at `offset` (fewer only at the end of the file). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** The bytes [start, end) in chunks; a backend may stream faster than repeated reads. */
  stream?(start: number, end: number): AsyncIterable<Uint8Array>;
}

const CHUNK = 1 << 20;

/** The bytes [start, end) of `file` in chunks of at most 1 MiB. */
export async function* rangeOf(file: ByteFile, start = 0, end = file.size): AsyncGenerator<Uint8Array> {
  if (file.stream) {
    yield* file.stream(start, end);
    return;
  }
  for (let at = start; at < end; ) {
    const chunk = await file.read(at, Math.min(CHUNK, end - at));
    if (chunk.length === 0) return;
    at += chunk.length;
    yield chunk;
  }
}

/** A ByteFile over bytes in memory (tests, small inputs). */
export function bytesFile(bytes: Uint8Array, label: string): ByteFile {
  return { label, size: bytes.length, read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)) };
}

/** The whole file in memory. */
export async function readAll(file: ByteFile): Promise<Uint8Array> {
  const out = new Uint8Array(file.size);
  let at = 0;
  for await (const c of rangeOf(file)) {
    out.set(c.subarray(0, out.length - at), at);
    at += c.length;
  }
  return at >= out.length ? out : out.subarray(0, at);
}
