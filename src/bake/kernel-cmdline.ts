// The kernel command line goes into /boot/syslinux.cfg as one APPEND line (and, later, into
// a boot loader entry): a newline or other control character in it would end that line
// and start new directives (`DEFAULT evil`), so it is refused wherever it enters.
import { InvalidOptionError } from '../util/errors.js';

/** x86's COMMAND_LINE_SIZE is 2048 bytes with the terminating NUL. */
export const MAX_CMDLINE_BYTES = 2047;

// C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators.
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;

/** Why `text` cannot be a kernel command line, or null when it can. */
export function cmdlineProblem(text: string): string | null {
  const bad = CONTROL.exec(text);
  if (bad) {
    const code = bad[0].charCodeAt(0).toString(16).padStart(2, '0');
    return `contains the control character U+${code.toUpperCase().padStart(4, '0')} at position ${bad.index} (a newline would start new boot loader directives)`;
  }
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_CMDLINE_BYTES) return `is ${bytes} bytes; the kernel takes at most ${MAX_CMDLINE_BYTES}`;
  return null;
}

/** Returns `text` when it is a valid kernel command line; else a usage error for `option`. */
export function checkCmdline(text: string, option = '--options'): string {
  const why = cmdlineProblem(text);
  if (why) throw new InvalidOptionError(option, `the kernel command line ${JSON.stringify(text)} ${why}`);
  return text;
}
