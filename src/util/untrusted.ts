// Values from untrusted JSON (registry answers, metadata tables), read without calling
// anything on them. String(v) and Number(v) call an object's own toString/valueOf, and
// JSON can name those keys: {"toString": false} makes either throw a TypeError instead
// of the one-line error the input deserves.

/** `v` for a message: a string quoted and cut to `max` characters, else its kind. */
export function shown(v: unknown, max = 80): string {
  if (typeof v === 'string') return JSON.stringify(v.length > max ? `${v.slice(0, max)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (v === undefined) return 'none';
  return Array.isArray(v) ? 'an array' : 'an object';
}

/** `v` as a number when it is a number or a string (annotations carry numbers as text); else NaN. */
export function numberFrom(v: unknown): number {
  return typeof v === 'number' || typeof v === 'string' ? Number(v) : NaN;
}
