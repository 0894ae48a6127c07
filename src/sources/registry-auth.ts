// HTTP for the registry client: one session per repository that adds the credentials a
// registry asks for (the `WWW-Authenticate: Bearer realm=…,service=…,scope=…` dance of the
// distribution token spec, anonymous or with the user's basic credentials, or plain Basic),
// follows redirects of reads itself so a credential never leaves the registry's origin,
// streams request bodies (pushes) with the same stall timeout as answers, and turns network
// failures and HTTP errors into one-line EREGISTRY errors naming the ref.
// https://distribution.github.io/distribution/spec/auth/token/
import { CakeError } from '../util/errors.js';

/** A registry or token server refused or failed a request, or could not be reached. */
export class RegistryError extends CakeError {
  constructor(ref: string, message: string, data: Record<string, unknown> = {}) {
    super('EREGISTRY', 'source', `${ref}: ${message}`, { ref, ...data });
  }
}

/** The auth scheme and its parameters from a `WWW-Authenticate` header (first challenge only). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } | null {
  const m = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  const re = /([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*,?\s*/gy;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!)) !== null && p[0] !== '') params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

const MAX_REDIRECTS = 5;
const MAX_TOKEN_JSON = 1 << 20;

/**
 * How long a registry may keep us waiting: for the answer to a request (connect and
 * headers), and between two pieces of a body. CAKE_IMG_NET_TIMEOUT (seconds) sets it.
 */
export function netTimeoutMs(): number {
  const v = process.env.CAKE_IMG_NET_TIMEOUT;
  if (v === undefined || v === '') return 30_000;
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) throw new CakeError('EINVALIDOPTION', 'options', `CAKE_IMG_NET_TIMEOUT: expected seconds, not ${JSON.stringify(v)}`);
  return Math.round(Number(v) * 1000);
}

/** Why a request was aborted: it waited too long. */
class Stalled extends Error {}

/** The abort handle of each response's request, so a stalled body can be cut off too. */
const inFlight = new WeakMap<Response, { controller: AbortController; ms: number; what: string; ref: string }>();

/**
 * A response body's chunks, giving up (a one-line RegistryError) when nothing arrives for
 * the timeout: a registry that sends headers and then nothing must not hang a pull.
 */
export async function* bodyChunks(res: Response): AsyncGenerator<Uint8Array> {
  if (!res.body) return;
  const h = inFlight.get(res);
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    if (!h) return;
    clearTimeout(timer);
    timer = setTimeout(() => h.controller.abort(new Stalled()), h.ms);
  };
  try {
    arm();
    for await (const c of res.body) {
      arm();
      yield c;
    }
  } catch (e) {
    if (h && (e instanceof Stalled || h.controller.signal.reason instanceof Stalled)) {
      throw new RegistryError(h.ref, `${h.what}: the download stalled (nothing for ${h.ms / 1000} s); set CAKE_IMG_NET_TIMEOUT to wait longer`);
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

export interface SessionOptions {
  /** The image reference as the user wrote it: every error message starts with it. */
  ref: string;
  /** `host[:port]` of the registry, for the token cache key. */
  registry: string;
  /** The scope the session needs, `repository:<repo>:pull` (or `:pull,push` to push). */
  scope: string;
  fetch: typeof fetch;
  log: (line: string) => void;
  /** The user's credentials for this registry (docker-config.ts), sent only when it asks. */
  credentials?: Credentials | null;
}

/** A user name and password (or an identity token) for a registry. */
export interface Credentials {
  username: string;
  password: string;
}

/** A request body: bytes, or a stream made afresh for each try (a 401 means sending it again). */
export type RequestBody = Uint8Array | (() => AsyncIterable<Uint8Array>);

export interface RequestInit {
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Statuses that are an answer, not an error (default: 2xx). */
  ok?: (status: number) => boolean;
}

/** Requests to one repository of one registry, with tokens cached per (registry, scope). */
export class RegistrySession {
  private readonly tokens = new Map<string, string>();
  /** The registry asked for Basic credentials: every request carries them. */
  private basic = false;

  constructor(private readonly o: SessionOptions) {}

  private get key(): string {
    return `${this.o.registry} ${this.o.scope}`;
  }

  /** GET `url`; a 2xx response is returned (body unread), anything else is a RegistryError. */
  get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.request('GET', url, { headers });
  }

  /**
   * One request with the session's credentials: a 401 fetches a token (or turns on Basic)
   * and sends it once more; a status `ok` does not accept is a RegistryError. The answer's
   * body is unread.
   */
  async request(method: string, url: string, init: RequestInit = {}): Promise<Response> {
    const headers = init.headers ?? {};
    let res = await this.follow(method, url, headers, init.body);
    if (res.status === 401) {
      // No token yet, or the one we sent expired: fetch one and try once more.
      this.tokens.delete(this.key);
      const challenge = res.headers.get('www-authenticate');
      await res.body?.cancel().catch(() => {});
      await this.authenticate(url, challenge, method);
      res = await this.follow(method, url, headers, init.body);
    }
    if (!(init.ok ?? ((s: number) => s >= 200 && s < 300))(res.status)) throw await this.httpError(method, url, res);
    return res;
  }

  private authorization(): string | null {
    const token = this.tokens.get(this.key);
    if (token) return `Bearer ${token}`;
    const c = this.o.credentials;
    return this.basic && c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : null;
  }

  /** Fetches one hop after another (reads only); Authorization only goes to the registry's own origin. */
  private async follow(method: string, url: string, headers: Record<string, string>, body?: RequestBody): Promise<Response> {
    const origin = new URL(url).origin;
    let at = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const auth = this.authorization();
      const h = auth && new URL(at).origin === origin ? { ...headers, authorization: auth } : headers;
      const res = await this.send(at, h, method, body);
      const location = res.headers.get('location');
      const read = method === 'GET' || method === 'HEAD';
      if (!read || res.status < 300 || res.status > 399 || res.status === 304 || !location) return res;
      await res.body?.cancel().catch(() => {});
      try {
        at = new URL(location, at).href;
      } catch {
        throw new RegistryError(this.o.ref, `${method} ${at} → ${res.status}: the redirect to ${JSON.stringify(location)} is not a URL`, { url });
      }
    }
    throw new RegistryError(this.o.ref, `${method} ${url}: more than ${MAX_REDIRECTS} redirects`, { url });
  }

  private async send(url: string, headers: Record<string, string>, method = 'GET', body?: RequestBody): Promise<Response> {
    const ms = netTimeoutMs();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // Armed until the answer's headers come; a body being sent re-arms it with each piece.
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new Stalled()), ms);
    };
    arm();
    try {
      const init: globalThis.RequestInit & { duplex?: 'half' } = { method, headers, redirect: 'manual', signal: controller.signal };
      if (body instanceof Uint8Array) init.body = body as unknown as NonNullable<globalThis.RequestInit['body']>;
      else if (body) {
        init.body = bodyStream(body(), arm);
        init.duplex = 'half'; // Node's fetch streams a request body only when told so
      }
      const res = await this.o.fetch(url, init);
      inFlight.set(res, { controller, ms, what: `${method} ${url}`, ref: this.o.ref });
      return res;
    } catch (e) {
      if (e instanceof CakeError) throw e; // the body's own failure (a file that cannot be read)
      if (e instanceof Stalled || controller.signal.reason instanceof Stalled) {
        throw new RegistryError(this.o.ref, `${method} ${url}: no answer within ${ms / 1000} s; set CAKE_IMG_NET_TIMEOUT to wait longer`, { url });
      }
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.cause?.code ?? err.cause?.message ?? err.message;
      throw new RegistryError(this.o.ref, `${method} ${url} failed: ${why}`, { url });
    } finally {
      clearTimeout(timer);
    }
  }

  private async authenticate(url: string, challenge: string | null, method = 'GET'): Promise<void> {
    const c = challenge ? parseChallenge(challenge) : null;
    if (c?.scheme === 'basic' && this.o.credentials && !this.basic) {
      this.basic = true;
      return;
    }
    if (!c || c.scheme !== 'bearer' || !c.params.realm) {
      const asked = c ? ` (the registry asks for ${c.scheme} credentials)` : '';
      const advice = this.o.credentials ? 'the credentials from the docker config were refused' : 'give credentials in $DOCKER_CONFIG/config.json or ~/.docker/config.json ("auths")';
      throw new RegistryError(this.o.ref, `${method} ${url} → 401 Unauthorized${asked}; ${advice}`, { url, status: 401 });
    }
    let tokenUrl: URL;
    try {
      tokenUrl = new URL(c.params.realm, url);
    } catch {
      throw new RegistryError(this.o.ref, `GET ${url} → 401: the token server ${JSON.stringify(c.params.realm)} it names is not a URL`, { url, status: 401 });
    }
    if (c.params.service) tokenUrl.searchParams.set('service', c.params.service);
    // A push asks for pull and push at once (the challenge of a read names pull only).
    tokenUrl.searchParams.set('scope', this.o.scope.endsWith(',push') ? this.o.scope : c.params.scope ?? this.o.scope);
    this.o.log(`token from ${tokenUrl.origin}${tokenUrl.pathname} for ${tokenUrl.searchParams.get('scope')}`);
    const cred = this.o.credentials;
    const auth: Record<string, string> = cred ? { authorization: `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}` } : {};
    // The credentials go to the token server the registry names: the same origin, or https.
    if (cred && tokenUrl.protocol !== 'https:' && tokenUrl.origin !== new URL(url).origin) delete auth.authorization;
    const res = await this.send(tokenUrl.href, { accept: 'application/json', ...auth });
    if (!res.ok) throw await this.httpError('GET', tokenUrl.href, res, ' (token server)');
    let body: Uint8Array;
    try {
      body = await readLimited(res, MAX_TOKEN_JSON, () => new RegistryError(this.o.ref, `token server ${tokenUrl.origin}: answer too large`));
    } catch (e) {
      if (e instanceof CakeError) throw e;
      // The connection broke in the middle of the answer (fetch's TypeError "terminated").
      const err = e as Error & { cause?: { code?: string; message?: string } };
      throw new RegistryError(this.o.ref, `token server ${tokenUrl.origin}: the answer broke off: ${err.cause?.code ?? err.cause?.message ?? err.message}`, { url: tokenUrl.href });
    }
    const json = parseJsonOrNull(body) as { token?: unknown; access_token?: unknown } | null;
    const token = json?.token ?? json?.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError(this.o.ref, `token server ${tokenUrl.origin}${tokenUrl.pathname} gave no "token" or "access_token"`, { url: tokenUrl.href });
    }
    this.tokens.set(this.key, token);
  }

  private async httpError(method: string, url: string, res: Response, what = ''): Promise<RegistryError> {
    // Registries explain errors as {"errors":[{"code","message"}]}; show the first.
    let detail = '';
    try {
      const body = await readLimited(res, 64 << 10, () => new Error('too large'));
      const first = (parseJsonOrNull(body) as { errors?: { code?: string; message?: string }[] } | null)?.errors?.[0];
      if (first?.code) detail = ` (${first.code}${first.message ? `: ${first.message}` : ''})`;
    } catch {
      // not JSON: the status says enough
    }
    const status = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    return new RegistryError(this.o.ref, `${method} ${url}${what} → ${status}${detail}`, { url, status: res.status });
  }
}

/** A request body from chunks; each piece taken re-arms the stall timer. */
function bodyStream(chunks: AsyncIterable<Uint8Array>, progress: () => void): ReadableStream<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await it.next();
      progress();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

function parseJsonOrNull(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** The whole body of a small response; `tooLarge()` is thrown past `limit` bytes. */
export async function readLimited(res: Response, limit: number, tooLarge: () => Error): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of bodyChunks(res)) {
    n += c.length;
    if (n > limit) throw tooLarge(); // leaving the loop cancels the stream
    chunks.push(c);
  }
  return Buffer.concat(chunks, n);
}
