// The compressors of OCI layers on this host. gzip is the initramfs's deterministic
// parallel gzip (pako, 1 MiB blocks, the pool of deflate workers): the same bytes on every
// host, so two runners pushing one key push one digest. zstd is the host's `zstd` (Node 20
// has no zstd encoder): its bytes depend on the zstd version, so the registry cache never
// uses it (docs/oci.md).
import { gzipSink } from '../bake/cpio/gzip.js';
import type { Compressor, CompressorFactory, LayerCompression } from '../cook/oci-image.js';
import { CakeError, InvalidOptionError } from '../util/errors.js';
import { deflatePool } from './deflate-pool.js';
import { spawnTracked } from './lifecycle.js';

/** gzip level of layers and pushed disks: zlib's default, what registries' other clients use. */
export const LAYER_GZIP_LEVEL = 6;

export function parseLayerCompression(v: string | undefined): LayerCompression {
  if (v === undefined) return 'gzip';
  if (v === 'gzip' || v === 'zstd' || v === 'none') return v;
  throw new InvalidOptionError('--layer-compression', `expected gzip, zstd or none, not ${JSON.stringify(v)}`);
}

export function gzipCompressor(level = LAYER_GZIP_LEVEL): CompressorFactory {
  return (out) => {
    const engine = deflatePool();
    const z = gzipSink(out, level, engine);
    return { sink: z.sink, finish: z.finish, close: () => engine.close?.() };
  };
}

/** The host's zstd (level 3, one thread, with its content checksum), as a child process. */
export function zstdCompressor(): CompressorFactory {
  return (out) => {
    const child = spawnTracked('zstd', ['-q', '-c', '-3', '-T1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let failed: Error | null = null;
    child.on('error', (e) => (failed = new CakeError('ETOOL', 'tool', `zstd could not start (${(e as NodeJS.ErrnoException).code ?? e.message}): install the zstd package, or use --layer-compression gzip`)));
    child.stdout!.on('data', (c: Buffer) => out(c));
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    child.stdin!.on('error', () => {}); // an early exit is reported by 'close'
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const z: Compressor = {
      async sink(chunk) {
        if (failed) throw failed;
        if (!child.stdin!.write(Buffer.from(chunk))) await new Promise((r) => child.stdin!.once('drain', r));
      },
      async finish() {
        child.stdin!.end();
        const code = await closed;
        if (failed) throw failed;
        if (code !== 0) throw new CakeError('ETOOL', 'tool', `zstd failed (exit ${code ?? 'signal'}): ${stderr.trim().split('\n').pop() ?? ''}`);
      },
      close: () => void child.kill('SIGKILL'),
    };
    return z;
  };
}

export function compressorFor(c: LayerCompression): CompressorFactory | null {
  return c === 'gzip' ? gzipCompressor() : c === 'zstd' ? zstdCompressor() : null;
}
