// The one JSON serialiser for everything cake-img hashes or pushes (OCI configs, manifests,
// indexes, annotations): object keys in ascending code-unit order at every depth, no
// whitespace, only JSON values (undefined members are left out, as JSON.stringify does).
// The same value always gives the same bytes, so digests over them are stable on every
// host and every run.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json | undefined };

function encode(v: Json | undefined, out: string[]): void {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') {
    out.push(JSON.stringify(v));
  } else if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`canonicalJson: ${v} is not a JSON number`);
    out.push(JSON.stringify(v));
  } else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, i) => {
      if (i) out.push(',');
      encode(x === undefined ? null : x, out);
    });
    out.push(']');
  } else if (typeof v === 'object') {
    out.push('{');
    let first = true;
    for (const k of Object.keys(v).sort()) {
      const x = v[k];
      if (x === undefined) continue;
      if (!first) out.push(',');
      first = false;
      out.push(JSON.stringify(k), ':');
      encode(x, out);
    }
    out.push('}');
  } else {
    throw new Error(`canonicalJson: a ${typeof v} is not a JSON value`);
  }
}

/** `value` as canonical JSON text. */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  encode(value as Json, out);
  return out.join('');
}

/** `value` as canonical JSON bytes (UTF-8): what a digest is taken over. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}
