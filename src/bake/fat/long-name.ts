// Which names a FAT directory can hold. Tree names are bytes; FAT long names are UTF-16
// (fatgen103 "FAT Long Directory Entries"), so a name must be valid UTF-8, at most 255
// UTF-16 units, without the characters Windows and Linux refuse in long names
// (`"*/:<>?\|` and control characters), and without a trailing dot or space, which
// Windows strips (Linux vfat strips trailing dots too) so the name would not come back.
// FAT compares names without case: two names that differ only in case cannot share a
// directory; foldName gives the key that decides it.
import { byteStringToBytes } from '../../tree/names.js';

export const MAX_LONG_NAME = 255;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const BAD = '"*/:<>?\\|';

export type NameCheck = { ok: true; name: string } | { ok: false; why: string };

/** The long name (UTF-16, as a JS string) of a tree name, or why FAT cannot hold it. */
export function checkLongName(byteName: string): NameCheck {
  let name: string;
  try {
    name = utf8.decode(byteStringToBytes(byteName));
  } catch {
    return { ok: false, why: 'the name is not valid UTF-8 (FAT stores names as UTF-16)' };
  }
  if (name.length > MAX_LONG_NAME) return { ok: false, why: `the name is ${name.length} UTF-16 units long; FAT allows ${MAX_LONG_NAME}` };
  for (const ch of name) {
    const c = ch.charCodeAt(0);
    if (c < 0x20 || c === 0x7f) return { ok: false, why: `the name holds a control character (0x${c.toString(16).padStart(2, '0')}), which FAT does not allow` };
    if (BAD.includes(ch)) return { ok: false, why: `the name holds ${JSON.stringify(ch)}, which FAT does not allow (none of ${BAD})` };
  }
  if (/[. ]$/.test(name)) return { ok: false, why: 'the name ends in a dot or a space, which Windows and Linux strip from FAT names' };
  return { ok: true, name };
}

/**
 * The case-insensitive key of a long name: every character by its simple (one-character)
 * upper case, as the upcase tables of Windows and edk2 map them. Locale-independent
 * (String.prototype.toUpperCase, not toLocaleUpperCase).
 */
export function foldName(name: string): string {
  let out = '';
  for (const ch of name) {
    const up = ch.toUpperCase();
    out += up.length === ch.length ? up : ch;
  }
  return out;
}
