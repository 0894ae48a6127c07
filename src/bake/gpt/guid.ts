// GUIDs as GPT stores them (UEFI 2.10 Appendix A): the first three groups little-endian,
// the last two as written. "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" is stored as
// 28 73 2A C1 1F F8 D2 11 BA 4B 00 A0 C9 3E C9 3B.
import { InvalidOptionError } from '../../util/errors.js';

const FORM = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i;

/** The 16 on-disk bytes of a GUID written as text; `option` names where it came from. */
export function parseGuid(text: string, option = 'GUID'): Uint8Array {
  const m = FORM.exec(text);
  if (!m) throw new InvalidOptionError(option, `expected a GUID such as 0FC63DAF-8483-4772-8E79-3D69D8477DE4, not ${JSON.stringify(text)}`);
  const hex = (s: string) => s.match(/../g)!.map((h) => parseInt(h, 16));
  return new Uint8Array([...hex(m[1]!).reverse(), ...hex(m[2]!).reverse(), ...hex(m[3]!).reverse(), ...hex(m[4]!), ...hex(m[5]!)]);
}

/** The text form (upper case, as sgdisk and sfdisk print it) of 16 on-disk bytes. */
export function formatGuid(b: Uint8Array): string {
  const h = (from: number, to: number, reverse: boolean) => {
    const part = [...b.subarray(from, to)];
    if (reverse) part.reverse();
    return part.map((x) => x.toString(16).padStart(2, '0')).join('');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`.toUpperCase();
}

/**
 * A GUID from at least 16 bytes of a hash (the image's inputs): a random-form (version 4,
 * RFC 9562 variant) GUID, as systemd-repart derives partition UUIDs from its seed. The
 * bytes are taken in text order, so the text form shows the version digit where RFC 9562
 * puts it.
 */
export function guidFromHash(hash: Uint8Array): string {
  if (hash.length < 16) throw new Error('guidFromHash needs 16 bytes');
  const b = hash.slice(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Partition type GUIDs (UAPI Discoverable Partitions Specification). */
export const PARTITION_TYPE = {
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  rootX86_64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  linuxGeneric: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
} as const;
