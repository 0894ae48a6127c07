// Shared arbitraries for the fuzz properties: byte mutations of real inputs (optionally
// aimed at regions the decoder looks at), random chunkings of a byte stream, and
// mutations of JSON documents (wrong types, missing keys, huge numbers, hostile strings).
import fc from 'fast-check';

// ---------------------------------------------------------------------------------------
// bytes

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Byte runs that tend to matter to parsers: field edges, octal/decimal extremes, magics. */
export const INTERESTING = [
  [0x00], [0xff], [0x7f], [0x80], [0x01], [0x20], [0x0a], [0x2f],
  [0xff, 0xff], [0x00, 0x80], [0xff, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0x7f], [0x00, 0x00, 0x00, 0x80],
  [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0x80, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0], // base-256 2^60
  ...['77777777777', '99999999', '00000000000', '-1', ' 1', '\0', 'ustar\0', 'ustar  \0', '../', '/etc/passwd', '9007199254740993', '1152921504606846976', '.ko'].map((s) => [...ascii(s)]),
].map((a) => Uint8Array.from(a));

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'interesting'; at: number; which: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; len: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicate'; at: number; len: number; to: number }
  | { op: 'zero'; at: number; len: number };

const pos = fc.nat({ max: 0x7fffffff });

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.nat({ max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: pos, byte: fc.nat({ max: 255 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('interesting' as const), at: pos, which: fc.nat({ max: INTERESTING.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: pos, len: fc.integer({ min: 1, max: 600 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: pos }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: pos, len: fc.integer({ min: 1, max: 1024 }), to: pos }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('zero' as const), at: pos, len: fc.integer({ min: 1, max: 512 }) }) },
);

/**
 * Where a mutation lands: `at` picks an offset in the whole input, or (when regions are
 * given and `inRegion` is set) inside one of the regions, so that mutations hit headers
 * rather than file data and padding.
 */
export interface Aimed {
  m: Mutation;
  region: number | null;
}

function place(at: number, length: number, regions: readonly [number, number][] | undefined, region: number | null): number {
  if (regions?.length && region !== null) {
    const [start, end] = regions[region % regions.length]!;
    const span = Math.max(1, end - start);
    return Math.min(length, start + (at % span));
  }
  return length === 0 ? 0 : at % (length + 1);
}

export function applyMutations(base: Uint8Array, muts: readonly Aimed[], regions?: readonly [number, number][]): Uint8Array {
  let b: Uint8Array = base.slice();
  for (const { m, region } of muts) {
    const at = place(m.at, b.length, regions, region);
    switch (m.op) {
      case 'flip':
        if (at < b.length) b[at] ^= 1 << m.bit;
        break;
      case 'set':
        if (at < b.length) b[at] = m.byte;
        break;
      case 'interesting': {
        const v = INTERESTING[m.which]!;
        const out = b.length >= at + v.length ? b : concat([b, new Uint8Array(at + v.length - b.length)]);
        out.set(v, at);
        b = out;
        break;
      }
      case 'insert':
        b = concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + m.len))]);
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'duplicate': {
        const piece = b.slice(at, at + m.len);
        const to = b.length === 0 ? 0 : m.to % (b.length + 1);
        b = concat([b.subarray(0, to), piece, b.subarray(to)]);
        break;
      }
      case 'zero':
        b.fill(0, at, Math.min(b.length, at + m.len));
        break;
    }
  }
  return b;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** 1..max mutations, each aimed at a region (when there are regions) three times in four. */
export function mutations(opts: { regions?: boolean; maxLength?: number } = {}): fc.Arbitrary<Aimed[]> {
  const region = opts.regions ? fc.oneof({ weight: 3, arbitrary: fc.nat({ max: 1 << 16 }) }, { weight: 1, arbitrary: fc.constant(null) }) : fc.constant(null);
  return fc.array(fc.record({ m: mutation, region }), { minLength: 1, maxLength: opts.maxLength ?? 6 });
}

/** `base` with 1..6 mutations (aimed at `regions` when given). */
export function mutatedBytes(base: Uint8Array, regions?: readonly [number, number][]): fc.Arbitrary<Uint8Array> {
  return mutations({ regions: !!regions?.length }).map((ms) => applyMutations(base, ms, regions));
}

/** Arbitrary bytes, often starting with one of `prefixes` (a magic), so the decoder goes past its sniffing. */
export function bytesWithPrefix(prefixes: readonly Uint8Array[], maxLength = 2048): fc.Arbitrary<Uint8Array> {
  const body = fc.uint8Array({ maxLength });
  if (!prefixes.length) return body;
  return fc.oneof(
    body,
    fc.tuple(fc.constantFrom(...prefixes), body).map(([p, b]) => concat([p, b])),
  );
}

// ---------------------------------------------------------------------------------------
// chunked streams

/** Chunk sizes a stream is cut into (cycled): often tiny, sometimes single bytes, sometimes whole. */
export const chunking: fc.Arbitrary<number[]> = fc.oneof(
  fc.constant([1 << 30] as number[]),
  fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 8 }),
  fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 8 }),
  fc.array(fc.constantFrom<number>(1, 511, 512, 513, 4096, 65536), { minLength: 1, maxLength: 8 }),
);

/**
 * `bytes` as an async stream cut into pieces of `sizes` (cycled). A fresh stream on each
 * call. At most about 10,000 pieces: tiny pieces of a big input only measure the cost of
 * an async iteration per byte, not the decoder (real streams come in 64 KiB chunks).
 */
export function chunked(bytes: Uint8Array, sizes: readonly number[]): () => AsyncIterable<Uint8Array> {
  const least = Math.ceil(bytes.length / 10_000);
  return async function* () {
    let i = 0;
    for (let at = 0; at < bytes.length; i++) {
      const n = Math.max(1, least, sizes[i % sizes.length]!);
      yield bytes.slice(at, at + n);
      at += n;
    }
  };
}

/** Drains a stream; returns the byte count and the bytes when `keep`. */
export async function drain(stream: AsyncIterable<Uint8Array>, keep = false): Promise<{ length: number; bytes?: Uint8Array }> {
  let n = 0;
  const parts: Uint8Array[] = [];
  for await (const c of stream) {
    n += c.length;
    if (keep) parts.push(c.slice());
  }
  return keep ? { length: n, bytes: concat(parts) } : { length: n };
}

// ---------------------------------------------------------------------------------------
// JSON

/** Values that break decoders that trust a JSON document's shape. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, 2 ** 60, Number.MAX_SAFE_INTEGER, '', ' ', '\n', '\0', '..', '../../etc/passwd', '/etc/passwd',
    'blobs/sha256/../../../etc/passwd', `sha256:${'a'.repeat(64)}`, `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `sha256:${'g'.repeat(64)}`,
    `sha512:${'a'.repeat(128)}`, `md5:${'a'.repeat(32)}`, 'sha256:', ':', 'linux', 'amd64', 'linux/amd64',
    'application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.layer.v1.tar+encrypted', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', '__proto__', 'constructor', 'toString',
    [], {}, [null], [[]], [{}], { digest: 5 }, { digest: null }, { length: 3 }, { __proto__: null }, { toString: 1 },
  ),
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double(),
);

export type JsonOp =
  | { op: 'replace'; path: number[]; value: unknown }
  | { op: 'delete'; path: number[] }
  | { op: 'wrap'; path: number[] }
  | { op: 'add'; path: number[]; key: string; value: unknown }
  | { op: 'dup'; path: number[] };

/** Where an op lands: mostly below the root (an op on the root replaces the whole document). */
const jsonPath = fc.oneof({ weight: 1, arbitrary: fc.constant([] as number[]) }, { weight: 8, arbitrary: fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 5 }) });

export const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('replace' as const), path: jsonPath, value: hostileJson }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), path: jsonPath }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap' as const), path: jsonPath }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dup' as const), path: jsonPath }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('add' as const), path: jsonPath,
      key: fc.oneof(fc.constantFrom('mediaType', 'digest', 'size', 'platform', 'manifests', 'layers', 'config', 'urls', '__proto__', 'Config', 'Layers', 'rootfs', 'diff_ids', 'schemaVersion'), fc.string({ maxLength: 8 })),
      value: hostileJson,
    }),
  },
);

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/**
 * Applies an op at the node `path` leads to: each index picks a child (of an array or an
 * object's keys) modulo its size; the walk stops at a leaf or the path's end.
 */
export function applyJsonOps(doc: unknown, ops: readonly JsonOp[]): unknown {
  let root: unknown = clone(doc);
  for (const op of ops) {
    let parent: Record<string, unknown> | unknown[] | null = null;
    let key: string | number | null = null;
    let node: unknown = root;
    for (const i of op.path) {
      if (node === null || typeof node !== 'object') break;
      const keys = Array.isArray(node) ? node.map((_, k) => k) : Object.keys(node);
      if (keys.length === 0) break;
      const k = keys[i % keys.length]!;
      parent = node as Record<string, unknown>;
      key = k;
      node = (node as Record<string | number, unknown>)[k];
    }
    const set = (v: unknown): void => {
      if (parent === null || key === null) root = v;
      else (parent as Record<string | number, unknown>)[key] = v;
    };
    switch (op.op) {
      case 'replace':
        set(clone(op.value));
        break;
      case 'delete':
        if (parent === null || key === null) root = undefined;
        else if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete (parent as Record<string, unknown>)[key as string];
        break;
      case 'wrap':
        set([node]);
        break;
      case 'dup':
        if (Array.isArray(node)) node.push(clone(node[0]));
        else set([node, node]);
        break;
      case 'add':
        if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
          Object.defineProperty(node, op.key, { value: clone(op.value), enumerable: true, writable: true, configurable: true });
        } else set({ [op.key]: clone(op.value) });
        break;
    }
  }
  return root;
}

/** 0..4 JSON ops (0 leaves the document valid). */
export const jsonOps: fc.Arbitrary<JsonOp[]> = fc.array(jsonOp, { maxLength: 4 });

/** A JSON text for `doc` after `ops`; `undefined` (the root deleted) becomes an empty file. */
export function jsonText(doc: unknown): string {
  return doc === undefined ? '' : JSON.stringify(doc);
}
