// The htree name hash: half-MD4 as in the kernel's fs/ext4/hash.c (DX_HASH_HALF_MD4, with
// the "signed" variant chosen in s_flags so the result never depends on the host's char).

const K2 = 0o13240474631;
const K3 = 0o15666365641;

const rol = (x: number, s: number): number => (x << s) | (x >>> (32 - s));
const F = (x: number, y: number, z: number): number => z ^ (x & (y ^ z));
const G = (x: number, y: number, z: number): number => (x & y) + ((x ^ y) & z);
const H = (x: number, y: number, z: number): number => x ^ y ^ z;

function halfMd4Transform(buf: Uint32Array, inp: Uint32Array): void {
  let a = buf[0]!, b = buf[1]!, c = buf[2]!, d = buf[3]!;
  const R = (f: typeof F, w: number, x: number, y: number, z: number, k: number, s: number): number => rol((w + f(x, y, z) + k) | 0, s);
  a = R(F, a, b, c, d, inp[0]!, 3); d = R(F, d, a, b, c, inp[1]!, 7); c = R(F, c, d, a, b, inp[2]!, 11); b = R(F, b, c, d, a, inp[3]!, 19);
  a = R(F, a, b, c, d, inp[4]!, 3); d = R(F, d, a, b, c, inp[5]!, 7); c = R(F, c, d, a, b, inp[6]!, 11); b = R(F, b, c, d, a, inp[7]!, 19);
  a = R(G, a, b, c, d, (inp[1]! + K2) | 0, 3); d = R(G, d, a, b, c, (inp[3]! + K2) | 0, 5);
  c = R(G, c, d, a, b, (inp[5]! + K2) | 0, 9); b = R(G, b, c, d, a, (inp[7]! + K2) | 0, 13);
  a = R(G, a, b, c, d, (inp[0]! + K2) | 0, 3); d = R(G, d, a, b, c, (inp[2]! + K2) | 0, 5);
  c = R(G, c, d, a, b, (inp[4]! + K2) | 0, 9); b = R(G, b, c, d, a, (inp[6]! + K2) | 0, 13);
  a = R(H, a, b, c, d, (inp[3]! + K3) | 0, 3); d = R(H, d, a, b, c, (inp[7]! + K3) | 0, 9);
  c = R(H, c, d, a, b, (inp[2]! + K3) | 0, 11); b = R(H, b, c, d, a, (inp[6]! + K3) | 0, 15);
  a = R(H, a, b, c, d, (inp[1]! + K3) | 0, 3); d = R(H, d, a, b, c, (inp[5]! + K3) | 0, 9);
  c = R(H, c, d, a, b, (inp[0]! + K3) | 0, 11); b = R(H, b, c, d, a, (inp[4]! + K3) | 0, 15);
  buf[0] = buf[0]! + a; buf[1] = buf[1]! + b; buf[2] = buf[2]! + c; buf[3] = buf[3]! + d;
}

/** str2hashbuf: packs up to num*4 name bytes into words, padded with the length. */
function str2hashbuf(msg: string, start: number, len: number, out: Uint32Array, num: number, signed: boolean): void {
  let pad = (len | (len << 8)) >>> 0;
  pad = (pad | (pad << 16)) >>> 0;
  let val = pad;
  if (len > num * 4) len = num * 4;
  let o = 0;
  for (let i = 0; i < len; i++) {
    const byte = msg.charCodeAt(start + i);
    const ch = signed && byte >= 0x80 ? byte - 256 : byte;
    val = (ch + ((val << 8) >>> 0)) >>> 0;
    if (i % 4 === 3) {
      out[o++] = val;
      val = pad;
      num--;
    }
  }
  if (--num >= 0) out[o++] = val;
  while (--num >= 0) out[o++] = pad;
}

export interface DirHash {
  hash: number;
  minor: number;
}

/** Hash of a name (a byte string) under a 16-byte seed (s_hash_seed); bit 0 of the major hash is always 0. */
export function halfMd4Hash(name: string, seed: Uint32Array, signed = true): DirHash {
  const buf = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  if (seed.some((w) => w !== 0)) buf.set(seed);
  const inp = new Uint32Array(8);
  let len = name.length;
  let p = 0;
  // The kernel runs at least one round (do-while on len > 0 after the first pass only when len > 0).
  while (len > 0) {
    str2hashbuf(name, p, len, inp, 8, signed);
    halfMd4Transform(buf, inp);
    len -= 32;
    p += 32;
  }
  let hash = buf[1]! & ~1;
  if (hash >>> 0 === 0xfffffffe) hash = 0xfffffffc; // (EXT4_HTREE_EOF_32BIT - 1) << 1
  return { hash: hash >>> 0, minor: buf[2]! };
}

/** s_hash_seed bytes as the four little-endian words the hash uses. */
export function seedWords(seed: Uint8Array): Uint32Array {
  const dv = new DataView(seed.buffer, seed.byteOffset, 16);
  return new Uint32Array([dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), dv.getUint32(12, true)]);
}
