// Streaming xz/bzip2 on Node through the host's own decompressors (`xz -dc`, `bzip2 -dc`):
// neither format has a well-kept streaming decoder for JS, and a whole-buffer one would
// hold a rootfs tarball or a .deb's data.tar in memory. Input is piped with back-pressure,
// output streamed; a failed or missing tool is a one-line error naming the archive.
import { spawnTracked } from './lifecycle.js';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { type StreamDecoder, registerDecoder } from '../sources/decompress.js';
import { CakeError, CorruptInputError } from '../util/errors.js';
import { useNodeDigests } from './node-digests.js';

const PACKAGE: Record<string, string> = { xz: 'xz-utils', bzip2: 'bzip2', lz4: 'lz4' };

function hostDecoder(tool: string): StreamDecoder {
  return (input, label) =>
    (async function* () {
      const child = spawnTracked(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let spawnError: NodeJS.ErrnoException | null = null;
      child.on('error', (e) => (spawnError = e));
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
      const exited = once(child, 'close').catch(() => [null]);
      child.stdin!.on('error', () => {}); // EPIPE when the tool stops early: its exit status tells why
      const feed = (async () => {
        try {
          for await (const chunk of input) {
            // The tool may stop early (bad data): its stdin then fails with EPIPE, and its exit status says why.
            if (!child.stdin!.write(chunk)) {
              // Whichever comes first; the other listener is removed (a long stream would pile them up).
              const ac = new AbortController();
              const on = (event: string) => once(child.stdin!, event, { signal: ac.signal }).catch(() => {});
              await Promise.race([on('drain'), on('close')]);
              ac.abort();
            }
            if (spawnError || child.exitCode !== null || child.stdin!.destroyed) break;
          }
        } finally {
          child.stdin!.end();
        }
      })();
      feed.catch(() => {}); // awaited below; until then a failed input must not count as unhandled
      let finished = false;
      try {
        for await (const chunk of child.stdout!) yield chunk as Uint8Array;
        await feed;
        const [code] = (await exited) as [number | null];
        finished = true;
        if (spawnError) {
          const e = spawnError as NodeJS.ErrnoException;
          if (e.code === 'ENOENT') throw new CakeError('ENOTOOL', 'source', `${label}: ${tool}-compressed, and ${tool} is not installed (Debian package ${PACKAGE[tool]})`);
          throw new CorruptInputError(label, `${tool}: ${e.message}`);
        }
        if (code !== 0) throw new CorruptInputError(label, `corrupt ${tool} data: ${stderr.trim().split('\n').pop() ?? `exit ${code}`}`);
      } finally {
        if (!finished) child.kill();
        await feed.catch(() => {});
      }
    })();
}

let registered = false;

/** Lets every archive reader decode xz and bzip2 and hash digests natively (idempotent). */
export function registerHostDecoders(): void {
  if (registered) return;
  registered = true;
  registerDecoder('xz', hostDecoder('xz'));
  registerDecoder('bzip2', hostDecoder('bzip2'));
  registerDecoder('lz4', hostDecoder('lz4'));
  // Layer and blob digests with node:crypto (an order of magnitude faster than @noble/hashes).
  useNodeDigests();
}

// A whole-buffer xz decoder for kernel modules (.ko.xz): the native @napi-rs/lzma, when it loads.
let xz: ((b: Uint8Array, limit: number) => Uint8Array) | null | undefined;

export function nodeXz(): ((b: Uint8Array, limit: number) => Uint8Array) | undefined {
  if (xz === undefined) {
    try {
      const lzma = createRequire(import.meta.url)('@napi-rs/lzma') as { xz: { decompressSync(b: Uint8Array): Uint8Array } };
      xz = (b) => new Uint8Array(lzma.xz.decompressSync(b));
    } catch {
      xz = null;
    }
  }
  return xz ?? undefined;
}
