// Fuzz: what the registry cache decodes from outside. The docker config.json (credentials),
// a disk artifact's manifest (diskEntry), REGISTRY/REPO references, and a registry's answers
// to the repository client (manifests, tag pages with Link headers, blob HEADs and upload
// sessions, blob bodies) from a scripted fake fetch: arbitrary statuses, headers and bodies.
// Each gives a value or a CakeError within the bound, never another exception or a hang.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskEntry } from '../../src/host/remote-bake.js';
import { parseDockerConfig } from '../../src/sources/docker-config.js';
import { RemoteRepo, parseRepoRef } from '../../src/sources/registry-repo.js';
import { canonicalJson } from '../../src/util/canonical-json.js';
import { expectValueOrCakeError, fuzz, replayCorpus } from './expect-clean.js';

const BOUND_MS = 2000;
const savedTimeout = process.env.CAKE_IMG_NET_TIMEOUT;
beforeAll(() => {
  process.env.CAKE_IMG_NET_TIMEOUT = '0.05';
});
afterAll(() => {
  if (savedTimeout === undefined) delete process.env.CAKE_IMG_NET_TIMEOUT;
  else process.env.CAKE_IMG_NET_TIMEOUT = savedTimeout;
});

interface Answer {
  status: number;
  headers: [string, string][];
  text?: string;
  base64?: string;
  stall?: boolean;
}

function respond(a: Answer, signal: AbortSignal | null | undefined): Response {
  const nullBody = [101, 204, 205, 304].includes(a.status);
  let body: ConstructorParameters<typeof Response>[0] = null;
  if (!nullBody) {
    if (a.stall) {
      body = new ReadableStream<Uint8Array>({ start: (c) => signal?.addEventListener('abort', () => c.error(signal.reason)) });
    } else body = a.base64 !== undefined ? Buffer.from(a.base64, 'base64') : (a.text ?? '');
  }
  // Header values are printable ASCII here, which Headers always takes.
  return new Response(body, { status: a.status, headers: new Headers(a.headers.filter(([, v]) => /^[\x20-\x7e]*$/.test(v))) });
}

function scriptedFetch(answers: Answer[]): typeof fetch {
  let i = 0;
  return (async (_input: string | URL | Request, init?: RequestInit) => {
    // A streamed request body is read, as a server would.
    const b = init?.body as ReadableStream<Uint8Array> | undefined;
    if (b && typeof (b as ReadableStream).getReader === 'function') for await (const _ of b as unknown as AsyncIterable<Uint8Array>) void _;
    if (answers.length === 0) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    return respond(answers[i++ % answers.length]!, init?.signal);
  }) as typeof fetch;
}

const HEX = 'ab'.repeat(32);
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const answer: fc.Arbitrary<Answer> = fc.record({
  status: fc.constantFrom(200, 201, 202, 204, 301, 307, 401, 403, 404, 416, 500),
  headers: fc.array(fc.oneof(
    fc.tuple(fc.constant('location'), fc.oneof(fc.constantFrom('/v2/x/blobs/uploads/u?_state=1', 'http://other.example/up', 'file:///etc/passwd', '%zz', '', 'http://[::1'), headerValue)),
    fc.tuple(fc.constant('link'), fc.oneof(fc.constantFrom('</v2/x/tags/list?n=1&last=a>; rel="next"', '<http://evil.example/x>; rel=next', '<>; rel="next"', '<%zz>; rel=next'), headerValue)),
    fc.tuple(fc.constant('www-authenticate'), fc.constantFrom('Bearer realm="/token",service="s"', 'Basic realm="x"', 'Bearer', 'Negotiate')),
    fc.tuple(fc.constant('docker-content-digest'), fc.constantFrom(`sha256:${HEX}`, 'sha256:bad', '')),
  ), { maxLength: 3 }),
  text: fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.constantFrom('{"tags":["cake-a","bake-b",5,null]}', '{"tags":null}', '{"tags":"x"}', '{"token":"t"}', '{"schemaVersion":2,"annotations":{}}', 'null', '[]'),
    fc.string({ maxLength: 100 }),
  ),
  stall: fc.boolean().map((b) => b && Math.random() < 0.1),
});

const ops = ['getManifest', 'tags', 'hasBlob', 'pushBlob', 'putManifest', 'blob'] as const;
type Op = (typeof ops)[number];

async function runOp(op: Op, answers: Answer[]): Promise<unknown> {
  const repo = new RemoteRepo(parseRepoRef('127.0.0.1:5000/fuzz/cache'), { push: true, credentials: { username: 'u', password: 'p' }, fetch: scriptedFetch(answers) });
  switch (op) {
    case 'getManifest':
      return repo.getManifest('cake-0123');
    case 'tags':
      return repo.tags();
    case 'hasBlob':
      return repo.hasBlob(`sha256:${HEX}`);
    case 'pushBlob':
      return repo.pushBlob(`sha256:${HEX}`, () => (async function* () {
        yield new Uint8Array(10);
      })());
    case 'putManifest':
      return repo.putManifest('cake-0123', new TextEncoder().encode('{}'), 'application/vnd.oci.image.manifest.v1+json');
    case 'blob': {
      const chunks: Uint8Array[] = [];
      for await (const c of repo.blob(`sha256:${HEX}`, 64)) chunks.push(c);
      return chunks.length;
    }
  }
}

const validDisk = (): Record<string, unknown> => ({
  schemaVersion: 2, artifactType: 'application/vnd.cake-img.disk.v1',
  config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${HEX}`, size: 2 },
  layers: [{ mediaType: 'application/vnd.cake-img.disk.v1.raw+gzip', digest: `sha256:${HEX}`, size: 100 }],
  annotations: { 'dev.cake-img.key': 'k', 'dev.cake-img.image.sha256': `sha256:${HEX}`, 'dev.cake-img.image.size': '4096' },
});

/** A valid disk manifest with one field replaced by an arbitrary JSON value. */
const mutatedDisk = fc.tuple(fc.constantFrom('artifactType', 'layers', 'annotations', 'layers.0', 'layers.0.size', 'layers.0.digest', 'annotations.dev.cake-img.image.size', 'annotations.dev.cake-img.key'), fc.jsonValue()).map(([at, v]) => {
  const m = validDisk();
  const [head, ...rest] = at.split(/\.(?=\d|dev)/);
  if (rest.length === 0) m[head!] = v;
  else {
    const inner = m[head!] as Record<string, unknown>;
    const key = rest.join('.');
    if (/^\d\./.test(key)) (inner[Number(key[0])] as Record<string, unknown>)[key.slice(2)] = v;
    else inner[key] = v;
  }
  return m;
});

describe('registry cache decoders', () => {
  it('replays the corpus', async () => {
    const n = await replayCorpus('registry-cache', async (c) => {
      const j = JSON.parse(new TextDecoder().decode(c.bytes)) as { kind: string; text?: string; base64?: string; answers?: Answer[] };
      const bytes = j.base64 !== undefined ? Buffer.from(j.base64, 'base64') : new TextEncoder().encode(j.text ?? '');
      if (j.kind === 'docker-config') return parseDockerConfig(bytes, 'config.json');
      if (j.kind === 'disk') return diskEntry(JSON.parse(j.text!) as Record<string, unknown>, 'k', 'disk');
      if (j.kind === 'repo') return parseRepoRef(j.text!);
      return runOp(j.kind === 'push' ? 'pushBlob' : j.kind === 'manifest' ? 'getManifest' : 'tags', j.answers!);
    }, BOUND_MS);
    expect(n).toBeGreaterThan(10);
  });

  it('docker config.json: arbitrary bytes, JSON values and auths entries', async () => {
    const entry = fc.record({ auth: fc.oneof(fc.string(), fc.base64String(), fc.jsonValue()), username: fc.jsonValue(), password: fc.jsonValue(), identitytoken: fc.jsonValue() }, { requiredKeys: [] });
    const doc = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v))),
      fc.dictionary(fc.string({ maxLength: 30 }), fc.oneof(entry, fc.jsonValue())).map((auths) => new TextEncoder().encode(JSON.stringify({ auths }))),
    );
    await fuzz('registry-cache', fc.asyncProperty(doc, async (bytes) => {
      await expectValueOrCakeError(() => parseDockerConfig(bytes, 'config.json'), BOUND_MS);
    }), { save: ([bytes]) => ({ ext: 'json', data: JSON.stringify({ kind: 'docker-config', base64: Buffer.from(bytes).toString('base64') }) }) });
  });

  it('disk artifact manifests: a valid one with a field replaced', async () => {
    await fuzz('registry-cache', fc.asyncProperty(mutatedDisk, async (m) => {
      await expectValueOrCakeError(() => diskEntry(m, 'k', 'disk'), BOUND_MS);
    }), { save: ([m]) => ({ ext: 'json', data: JSON.stringify({ kind: 'disk', text: canonicalJson(m) }) }) });
  });

  it('REGISTRY/REPO references', async () => {
    await fuzz('registry-cache', fc.asyncProperty(fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('127.0.0.1:5000/a', 'ghcr.io/a/b', 'localhost/x', 'a/b@sha256:x')), async (s) => {
      await expectValueOrCakeError(() => parseRepoRef(s), BOUND_MS);
    }), { save: ([s]) => ({ ext: 'json', data: JSON.stringify({ kind: 'repo', text: s }) }) });
  });

  it("the repository client against a registry's arbitrary answers", async () => {
    await fuzz('registry-cache', fc.asyncProperty(fc.constantFrom(...ops), fc.array(answer, { minLength: 1, maxLength: 4 }), async (op, answers) => {
      await expectValueOrCakeError(() => runOp(op, answers), BOUND_MS);
    }));
  });
});
