// Hashing on Node with node:crypto. util/sha256.ts hashes with @noble/hashes so that the
// pure core runs in a browser; the bytes are SHA-256 either way, so on Node every hash,
// those that shape an image included (derived UUIDs, disk signatures), may go native.
// Measured on the Debian tree's identity digest (~1 MB of text): 35 ms in JS (the hash
// and a per-character latin1 loop), about 2 ms native.
import { createHash } from 'node:crypto';
import { type Sha256, registerDigest, registerSha256 } from '../util/sha256.js';

let registered = false;

function nodeSha256(): Sha256 {
  const h = createHash('sha256');
  const self: Sha256 = {
    update(data, encoding = 'utf8') {
      if (typeof data === 'string') h.update(data, encoding);
      else h.update(data);
      return self;
    },
    digest: () => new Uint8Array(h.digest()),
    hex: () => h.digest('hex'),
  };
  return self;
}

/** Makes sha256() and digestOf() use node:crypto from now on (idempotent). */
export function useNodeDigests(): void {
  if (registered) return;
  registered = true;
  registerSha256(nodeSha256);
  registerDigest((alg) => {
    const h = createHash(alg);
    return { update: (d) => h.update(d), hex: () => h.digest('hex') };
  });
}
