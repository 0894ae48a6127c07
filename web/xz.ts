// xz in the browser: xz-decompress (xz-embedded compiled to WebAssembly, instantiated from
// bytes inside the bundle: no request). A streaming decoder for archives (a .tar.xz rootfs,
// a kernel package's data.tar.xz) and a whole-buffer one for .ko.xz modules. Decompression
// is deterministic, so any correct decoder gives the CLI's bytes.
import * as xzModule from 'xz-decompress';
import { type StreamDecoder, registerDecoder } from '../src/sources/decompress.js';
import { CorruptInputError } from '../src/util/errors.js';

type XzCtor = new (s: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;
const mod = xzModule as unknown as { XzReadableStream?: XzCtor; default?: { XzReadableStream: XzCtor } };
const XzReadableStream: XzCtor = mod.XzReadableStream ?? mod.default!.XzReadableStream;

/** A web stream pulling from an async iterable; `rest()` is what the decoder never asked for. */
function toWebStream(input: AsyncIterable<Uint8Array>): { stream: ReadableStream<Uint8Array>; rest: () => Promise<Uint8Array | null> } {
  const it = input[Symbol.asyncIterator]();
  let ended = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await it.next();
      if (r.done) (ended = true), c.close();
      else c.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
  const rest = async () => {
    while (!ended) {
      const r = await it.next();
      if (r.done) break;
      if (r.value.some((b) => b !== 0)) return r.value;
    }
    return null;
  };
  return { stream, rest };
}

export const xzStream: StreamDecoder = (input, label) =>
  (async function* () {
    const src = toWebStream(input);
    const reader = new XzReadableStream(src.stream).getReader();
    let done = false;
    try {
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          throw new CorruptInputError(label, `corrupt xz data: ${(e as Error).message}`);
        }
        if (r.done) {
          done = true;
          // Whatever the decoder left unread must not be dropped silently (it decodes concatenated streams and their padding itself).
          if (await src.rest()) throw new CorruptInputError(label, 'data after the end of the xz stream');
          return;
        }
        if (r.value.length) yield r.value;
      }
    } finally {
      // A consumer that stops early frees the decoder (xz-decompress runs one at a time).
      if (!done) await reader.cancel().catch(() => {});
    }
  })();

/** A whole .ko.xz, at most `limit` bytes out. */
export async function xzWhole(b: Uint8Array, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of xzStream((async function* () { yield b; })(), 'module')) {
    n += c.length;
    if (n > limit) throw new Error(`decompresses to more than ${limit} bytes`);
    parts.push(c);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

let registered = false;

/** Lets every archive reader decode xz (idempotent). */
export function registerBrowserDecoders(): void {
  if (registered) return;
  registered = true;
  registerDecoder('xz', xzStream);
}
