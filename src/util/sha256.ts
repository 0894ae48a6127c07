// SHA-256 that runs in any JavaScript host (@noble/hashes: no node:crypto, no WebCrypto's
// one-shot digest), streaming, for every hash that shapes an image's bytes (derived UUIDs,
// the disk signature) and for the browser's proof of what it wrote. Strings are hashed the
// way node:crypto's Hash.update hashes them: UTF-8 by default, or latin1 (one byte a char).
import { sha256 as noble, sha512 as noble512 } from '@noble/hashes/sha2.js';

export interface Sha256 {
  update(data: Uint8Array | string, encoding?: 'utf8' | 'latin1'): Sha256;
  digest(): Uint8Array;
  /** The digest as 64 lowercase hex digits. */
  hex(): string;
}

const utf8 = new TextEncoder();

function latin1(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

let sha256Factory: (() => Sha256) | null = null;

/** A streaming SHA-256: @noble/hashes unless a host registered a faster one (Node: node:crypto). */
export function sha256(): Sha256 {
  return sha256Factory ? sha256Factory() : nobleSha256();
}

/** Lets a host compute sha256() its own, faster way: the same digests (host/node-digests.ts). */
export function registerSha256(factory: () => Sha256): void {
  sha256Factory = factory;
}

function nobleSha256(): Sha256 {
  const h = noble.create();
  const self: Sha256 = {
    update(data, encoding = 'utf8') {
      h.update(typeof data === 'string' ? (encoding === 'latin1' ? latin1(data) : utf8.encode(data)) : data);
      return self;
    },
    digest: () => h.digest(),
    hex: () => toHex(h.digest()),
  };
  return self;
}

/** The node:crypto-shaped factory tree/hash.ts takes (`update`, `digest('hex')`). */
export function sha256Hasher(): { update(d: Uint8Array): unknown; digest(encoding: 'hex'): string } {
  const h = sha256();
  return { update: (d: Uint8Array) => h.update(d), digest: () => h.hex() };
}

export type DigestAlg = 'sha256' | 'sha512';

/** A streaming digest by name (what OCI digests use). */
export interface Digest {
  update(data: Uint8Array): unknown;
  hex(): string;
}

const nobleDigest = (alg: DigestAlg): Digest => {
  const h = (alg === 'sha512' ? noble512 : noble).create();
  return { update: (d) => h.update(d), hex: () => toHex(h.digest()) };
};

let digestFactory: (alg: DigestAlg) => Digest = nobleDigest;

/** A streaming sha256/sha512: @noble/hashes unless a host registered a faster one (Node: node:crypto). */
export function digestOf(alg: DigestAlg): Digest {
  return digestFactory(alg);
}

/** Lets a host hash verification-only digests (image layers, blobs) its own, faster way: same values. */
export function registerDigest(factory: (alg: DigestAlg) => Digest): void {
  digestFactory = factory;
}
