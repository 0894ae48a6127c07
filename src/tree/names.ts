// Byte strings: JS strings with one char per byte. See node.ts for why.

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The bytes of a byte string. */
export function byteStringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/**
 * A byte string from bytes. `apply` takes the typed array as it is (an array-like); a copy
 * into an Array, or a spread, walks it element by element first: 5× slower for the tens
 * of thousands of short symbol names of a kernel's modules.
 */
export function bytesToByteString(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  }
  return s;
}

/** A byte string from ordinary (Unicode) text, encoded as UTF-8. */
export function textToByteString(text: string): string {
  return bytesToByteString(utf8.encode(text));
}

/** Human-readable form of a byte string: UTF-8 when valid, otherwise \xNN escapes for the bad bytes. */
export function displayName(s: string): string {
  const bytes = byteStringToBytes(s);
  try {
    return utf8Strict.decode(bytes);
  } catch {
    let out = '';
    for (const b of bytes) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    return out;
  }
}

/** Compares byte strings by bytes (plain string compare is code-unit order, which equals byte order here). */
export function compareByteStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
