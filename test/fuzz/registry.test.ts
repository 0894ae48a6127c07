// Fuzz: registry pulls (pullImage with a fake fetch: no network) answered by a scripted
// server: arbitrary statuses, headers (WWW-Authenticate challenges, Location redirects,
// content types) and bodies (bytes, JSON, streams that stall or break), or a valid image
// whose documents are mutated and whose requests are now and then answered by such a
// fault; tokens and redirects to another origin on the way. Also parseChallenge and
// parseImageRef over arbitrary strings.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from '../../src/sources/registry-auth.js';
import { parseImageRef, pullImage } from '../../src/sources/registry.js';
import { InvalidOptionError } from '../../src/util/errors.js';
import { RUNS, expectValueOrCakeError, fuzz, replayCorpus } from './expect-clean.js';
import { type BaseImage, type ImageCase, baseImage, buildImage, digestOf, imageCase } from './image-gen.js';
import { readContents } from './read-tree.js';

const BOUND_MS = 2000;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-fuzz-'));
const savedTimeout = process.env.CAKE_IMG_NET_TIMEOUT;
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  if (savedTimeout === undefined) delete process.env.CAKE_IMG_NET_TIMEOUT;
  else process.env.CAKE_IMG_NET_TIMEOUT = savedTimeout;
});

let base: BaseImage;
beforeAll(async () => {
  // A stalled body must be cut off quickly (the stall faults below).
  process.env.CAKE_IMG_NET_TIMEOUT = '0.05';
  base = await baseImage();
});

// --- scripted answers -----------------------------------------------------------------------

type Body =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'text'; text: string }
  | { kind: 'stall'; prefix: Uint8Array }
  | { kind: 'break'; prefix: Uint8Array }
  | { kind: 'none' };

export interface Answer {
  status: number;
  headers: [string, string][];
  body: Body;
}

/** Header values a Headers object takes (latin1, no CR/LF/NUL). */
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 80 });

const challenge = fc.oneof(
  fc.constantFrom(
    'Bearer realm="https://auth.example/token",service="reg",scope="repository:fuzz/img:pull"',
    'Bearer realm="/token"', 'Bearer realm="http://[::1"', 'Bearer realm="ht tp://x"', 'Bearer realm=""', 'Bearer realm="javascript:alert(1)"',
    'Bearer realm="https://auth.example/token",error="invalid_token"', 'Basic realm="x"', 'Bearer', 'Bearer ,,,', 'bearer REALM=https://auth.example/t',
    'Negotiate', '', ' ', 'Bearer realm="\\"quoted\\""', 'Bearer realm=https://a.example/t service=x',
  ),
  headerValue,
  fc.tuple(fc.constantFrom('Bearer', 'Basic', 'X'), fc.array(fc.tuple(fc.constantFrom('realm', 'service', 'scope', 'x'), headerValue), { maxLength: 4 })).map(
    ([s, ps]) => `${s} ${ps.map(([k, v]) => `${k}="${v.replace(/"/g, '\\"')}"`).join(',')}`,
  ),
);

const location = fc.oneof(
  fc.constantFrom(
    'https://cdn.example/blob', '/v2/fuzz/img/blobs/x', 'http://[::1', 'https://a b/', '//other.example/x', 'file:///etc/passwd', 'data:,hello',
    'javascript:1', '', '?x=1', '#frag', 'https://reg.example/v2/fuzz/img/manifests/loop', 'http://127.0.0.1:1/x', 'https://user:pass@cdn.example/x', '%zz',
  ),
  headerValue,
);

const answerHeaders: fc.Arbitrary<[string, string][]> = fc.array(
  fc.oneof(
    fc.tuple(fc.constant('www-authenticate'), challenge),
    fc.tuple(fc.constant('location'), location),
    fc.tuple(fc.constant('content-type'), fc.constantFrom('application/json', 'application/vnd.oci.image.manifest.v1+json', 'text/html', 'application/octet-stream', '')),
    fc.tuple(fc.constant('content-length'), fc.constantFrom('0', '5', '99999999999', '-1', 'x')),
    fc.tuple(fc.constant('docker-content-digest'), fc.constantFrom(digestOf('x'), 'sha256:bad', '')),
  ),
  { maxLength: 3 },
);

const jsonBody = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '{"token":"t"}', '{"access_token":"t"}', '{"token":""}', '{"token":5}', '{"errors":[{"code":"DENIED","message":"no"}]}', '{"errors":[null]}', '{"errors":"x"}',
    '{"schemaVersion":1}', '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}',
    '{"schemaVersion":2,"manifests":[{"digest":"sha256:' + 'a'.repeat(64) + '","platform":{"os":"linux","architecture":"amd64"}}]}',
    '{"mediaType":"application/vnd.oci.artifact.manifest.v1+json"}', 'null', '[]', '"x"',
  ),
);

const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('text' as const), text: jsonBody }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stall' as const), prefix: fc.uint8Array({ maxLength: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('break' as const), prefix: fc.uint8Array({ maxLength: 20 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
);

const answer: fc.Arbitrary<Answer> = fc.record({
  status: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(200, 200, 201, 204, 301, 302, 303, 307, 308, 304, 401, 401, 403, 404, 429, 500, 503) },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 599 }) },
  ),
  headers: answerHeaders,
  body,
});

/** A Response for an answer; the body streams honour the request's abort signal, as fetch's do. */
function respond(a: Answer, signal: AbortSignal | null | undefined): Response {
  const nullBody = [101, 204, 205, 304].includes(a.status);
  let b: ConstructorParameters<typeof Response>[0] = null;
  if (!nullBody) {
    const enc = new TextEncoder();
    switch (a.body.kind) {
      case 'bytes':
        b = Buffer.from(a.body.bytes);
        break;
      case 'text':
        b = enc.encode(a.body.text);
        break;
      case 'stall': {
        const prefix = a.body.prefix;
        b = new ReadableStream<Uint8Array>({
          start(c) {
            if (prefix.length) c.enqueue(prefix);
            signal?.addEventListener('abort', () => c.error(signal.reason));
          },
        });
        break;
      }
      case 'break': {
        const prefix = a.body.prefix;
        let sent = false;
        b = new ReadableStream<Uint8Array>({
          pull(c) {
            if (prefix.length && !sent) {
              sent = true;
              c.enqueue(prefix);
              return;
            }
            c.error(new TypeError('terminated', { cause: { code: 'ECONNRESET' } }));
          },
        });
        break;
      }
      case 'none':
        break;
    }
  }
  const headers = new Headers();
  for (const [k, v] of a.headers) {
    try {
      headers.append(k, v);
    } catch {
      // a value Headers refuses: a real server could not send it either
    }
  }
  return new Response(b, { status: a.status, headers });
}

interface Request {
  url: string;
  authorization?: string;
}

/** A fetch that answers every request with the next scripted answer (cycled). */
function scriptedFetch(answers: Answer[], log: Request[]): typeof fetch {
  let i = 0;
  return (async (input: string | URL | globalThis.Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    log.push({ url: String(input), authorization: headers.get('authorization') ?? undefined });
    if (answers.length === 0) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    return respond(answers[i++ % answers.length]!, init?.signal);
  }) as typeof fetch;
}

// --- a registry serving one image -------------------------------------------------------------

interface ServerCase {
  image: ImageCase;
  auth: 'none' | 'bearer' | 'basic' | 'bare401';
  /** Blobs answered with a redirect to another origin. */
  redirect: boolean;
  /** Requests answered by a fault instead (request number modulo 16 → answer). */
  faults: { at: number; answer: Answer }[];
  /** The pin: the real top digest, or that of something else. */
  pin: 'top' | 'other';
  platform: string | undefined;
  /** The blob cache before the pull: empty, holding a corrupted copy of every blob, or a good one. */
  cache: 'empty' | 'corrupt' | 'good';
}

const serverCase: fc.Arbitrary<ServerCase> = fc.record({
  image: imageCase,
  auth: fc.constantFrom('none' as const, 'none' as const, 'bearer' as const, 'basic' as const, 'bare401' as const),
  redirect: fc.boolean(),
  faults: fc.oneof({ weight: 2, arbitrary: fc.constant([] as ServerCase['faults']) }, { weight: 1, arbitrary: fc.array(fc.record({ at: fc.nat({ max: 15 }), answer }), { maxLength: 2 }) }),
  pin: fc.oneof({ weight: 10, arbitrary: fc.constant('top' as const) }, { weight: 1, arbitrary: fc.constant('other' as const) }),
  platform: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('linux/amd64', 'linux/arm64/v8', 'linux/amd64/v2') }),
  cache: fc.oneof({ weight: 6, arbitrary: fc.constant('empty' as const) }, { weight: 1, arbitrary: fc.constant('corrupt' as const) }, { weight: 1, arbitrary: fc.constant('good' as const) }),
});

const TOKEN = 'fuzz-token';

function serverFetch(s: ServerCase, blobs: Map<string, Uint8Array>, log: Request[]): typeof fetch {
  let n = 0;
  return (async (input: string | URL | globalThis.Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const auth = new Headers(init?.headers).get('authorization') ?? undefined;
    log.push({ url: url.href, authorization: auth });
    const fault = s.faults.find((f) => f.at === n % 16);
    n++;
    if (fault) return respond(fault.answer, init?.signal);
    const ok = (bytes: Uint8Array): Response => new Response(Buffer.from(bytes), { status: 200, headers: { 'content-type': 'application/octet-stream' } });
    if (url.host === 'auth.example') return new Response(JSON.stringify({ token: TOKEN }), { status: 200 });
    if (url.host === 'cdn.example') {
      const b = blobs.get(url.pathname.slice(1));
      return b ? ok(b) : new Response('{"errors":[{"code":"BLOB_UNKNOWN"}]}', { status: 404 });
    }
    if (s.auth !== 'none' && auth !== `Bearer ${TOKEN}`) {
      const challenge = s.auth === 'bearer' ? 'Bearer realm="https://auth.example/token",service="reg"' : s.auth === 'basic' ? 'Basic realm="reg"' : null;
      return new Response('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', { status: 401, headers: challenge ? { 'www-authenticate': challenge } : {} });
    }
    const m = /^\/v2\/fuzz\/img\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    const b = m ? blobs.get(m[2]!) : undefined;
    if (!b) return new Response('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}', { status: 404 });
    if (m![1] === 'blobs' && s.redirect) return new Response(null, { status: 307, headers: { location: `https://cdn.example/${m![2]}` } });
    return ok(b);
  }) as typeof fetch;
}

let n = 0;
async function pullCase(s: ServerCase): Promise<void> {
  const img = buildImage(base, s.image);
  const cache = path.join(work, `cache-${n++}`);
  if (s.cache !== 'empty') {
    for (const [d, b] of img.blobs) {
      const f = path.join(cache, 'sha256', d.slice(7));
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, s.cache === 'good' ? b : Buffer.concat([Buffer.from(b), Buffer.from('!')]));
    }
  }
  const pin = s.pin === 'top' ? img.top : digestOf('something else');
  const log: Request[] = [];
  try {
    await clean(async () => {
      const l = await pullImage(`reg.example/fuzz/img@${pin}`, { blobCache: cache, fetch: serverFetch(s, img.blobs, log), platform: s.platform });
      await readContents(l);
    });
    // The token goes only to the registry's own origin.
    for (const r of log) if (r.authorization) expect(new URL(r.url).host, 'Authorization sent off the registry').toBe('reg.example');
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
}

const clean = <T,>(f: () => T | Promise<T>) => expectValueOrCakeError(f, BOUND_MS);

// --- properties -------------------------------------------------------------------------------

interface CorpusScript {
  kind: 'script' | 'challenge' | 'ref';
  ref?: string;
  text?: string;
  answers?: { status: number; headers?: [string, string][]; body?: string; base64?: string; stall?: boolean; break?: boolean }[];
}

async function runScript(ref: string, answers: Answer[]): Promise<void> {
  const cache = path.join(work, `cache-${n++}`);
  try {
    const l = await pullImage(ref, { blobCache: cache, fetch: scriptedFetch(answers, []) });
    await readContents(l);
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
}

function replay(c: CorpusScript): unknown {
  if (c.kind === 'challenge') return parseChallenge(c.text ?? '');
  if (c.kind === 'ref') return parseImageRef(c.text ?? '');
  const answers: Answer[] = (c.answers ?? []).map((a) => ({
    status: a.status,
    headers: a.headers ?? [],
    body: a.stall ? { kind: 'stall', prefix: new Uint8Array(0) } : a.break ? { kind: 'break', prefix: new Uint8Array(0) } : a.base64 !== undefined ? { kind: 'bytes', bytes: new Uint8Array(Buffer.from(a.base64, 'base64')) } : a.body !== undefined ? { kind: 'text', text: a.body } : { kind: 'none' },
  }));
  return runScript(c.ref ?? `reg.example/fuzz/img@${digestOf('x')}`, answers);
}

const asJson = (v: unknown) => ({ ext: 'json' as const, data: JSON.stringify(v, (_, x) => (x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x)) });

describe('registry fuzz: pullImage with a fake fetch, parseChallenge, parseImageRef', () => {
  it('replays the corpus (corpus/registry)', async () => {
    await replayCorpus('registry', ({ bytes }) => replay(JSON.parse(Buffer.from(bytes).toString('utf8')) as CorpusScript), 3 * BOUND_MS);
  });

  it(`parseChallenge: arbitrary strings give a value or null (${RUNS} cases)`, async () => {
    await fuzz(
      'registry',
      fc.asyncProperty(fc.oneof(challenge, fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: fc.constantFrom('a', '=', '"', ',', ' ', '\\', '-'), maxLength: 2000 })), async (text) => {
        const { value } = await clean(() => parseChallenge(text));
        if (value) expect(typeof value.scheme).toBe('string');
      }),
      { save: ([text]) => asJson({ kind: 'challenge', text }) },
    );
  });

  it(`parseImageRef: arbitrary strings give a reference or an InvalidOptionError (${RUNS} cases)`, async () => {
    const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdefA'), minLength: 63, maxLength: 65 });
    const part = fc.string({ unit: fc.constantFrom('a', 'b', '0', '.', '_', '-', '/', ':', '@', '[', ']', 'A'), maxLength: 300 });
    const refLike = fc.tuple(part, fc.constantFrom('@sha256:', '@', '@sha512:', ':tag@sha256:'), hex).map(([a, b, c]) => a + b + c);
    await fuzz(
      'registry',
      fc.asyncProperty(fc.oneof(refLike, fc.string({ unit: 'binary', maxLength: 300 }), part), async (text) => {
        const { error } = await clean(() => parseImageRef(text));
        if (error) expect(error).toBeInstanceOf(InvalidOptionError);
      }),
      { save: ([text]) => asJson({ kind: 'ref', text }) },
    );
  });

  it(`arbitrary answers to every request (${RUNS} cases)`, async () => {
    await fuzz(
      'registry',
      fc.asyncProperty(fc.array(answer, { maxLength: 8 }), fc.nat(), async (answers, pick) => {
        // Pin to a body the server will send now and then, so the manifest digest check passes.
        const bodies = answers.map((a) => (a.body.kind === 'text' ? new TextEncoder().encode(a.body.text) : a.body.kind === 'bytes' ? a.body.bytes : null)).filter((b) => b !== null);
        const pin = bodies.length ? digestOf(bodies[pick % bodies.length]!) : digestOf('x');
        await clean(() => runScript(`reg.example/fuzz/img@${pin}`, answers));
      }),
      { save: ([answers]) => asJson({ kind: 'script', answers: answers.map((a) => ({ status: a.status, headers: a.headers, ...(a.body.kind === 'text' ? { body: a.body.text } : a.body.kind === 'bytes' ? { base64: Buffer.from(a.body.bytes).toString('base64') } : a.body.kind === 'none' ? {} : { [a.body.kind]: true }) })) }) },
    );
  });

  it(`a registry serving a mutated image: tokens, redirects, cached copies, faults (${RUNS} cases)`, async () => {
    await fuzz(
      'registry',
      fc.asyncProperty(serverCase, async (s) => {
        await pullCase(s);
      }),
    );
  });

  it('the unmutated image pulls through a token and a redirect', async () => {
    const s: ServerCase = {
      image: { config: [], manifest: [], index: [], top: [], layer: null, raw: null, staleDigests: false },
      auth: 'bearer', redirect: true, faults: [], pin: 'top', platform: undefined, cache: 'empty',
    };
    const img = buildImage(base, s.image);
    const l = await pullImage(`reg.example/fuzz/img@${img.top}`, { blobCache: path.join(work, 'good'), fetch: serverFetch(s, img.blobs, []) });
    expect([...l.tree.root.entries.keys()].sort()).toEqual(['bin', 'etc']);
    expect(await readContents(l)).toBeGreaterThan(0);
  });
});
