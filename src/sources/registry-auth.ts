// HTTP for the registry client: one session per pull that adds the anonymous bearer token
// (the `WWW-Authenticate: Bearer realm=…,service=…,scope=…` dance of the distribution
// token spec), follows redirects itself so a token never leaves the registry's origin, and
// turns network failures and HTTP errors into one-line EREGISTRY errors naming the ref.
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
  /** The scope a pull needs, `repository:<repo>:pull`. */
  scope: string;
  fetch: typeof fetch;
  log: (line: string) => void;
}

/** Requests to one repository of one registry, with tokens cached per (registry, scope). */
export class RegistrySession {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly o: SessionOptions) {}

  private get key(): string {
    return `${this.o.registry} ${this.o.scope}`;
  }

  /** GET `url`; a 2xx response is returned (body unread), anything else is a RegistryError. */
  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    let res = await this.follow(url, headers);
    if (res.status === 401) {
      // No token yet, or the one we sent expired: fetch one and try once more.
      this.tokens.delete(this.key);
      const challenge = res.headers.get('www-authenticate');
      await res.body?.cancel().catch(() => {});
      await this.authenticate(url, challenge);
      res = await this.follow(url, headers);
    }
    if (!res.ok) throw await this.httpError('GET', url, res);
    return res;
  }

  /** Fetches one hop after another; Authorization only goes to the registry's own origin. */
  private async follow(url: string, headers: Record<string, string>): Promise<Response> {
    const origin = new URL(url).origin;
    let at = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const token = this.tokens.get(this.key);
      const h = token && new URL(at).origin === origin ? { ...headers, authorization: `Bearer ${token}` } : headers;
      const res = await this.send(at, h);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status > 399 || res.status === 304 || !location) return res;
      await res.body?.cancel().catch(() => {});
      try {
        at = new URL(location, at).href;
      } catch {
        throw new RegistryError(this.o.ref, `GET ${at} → ${res.status}: the redirect to ${JSON.stringify(location)} is not a URL`, { url });
      }
    }
    throw new RegistryError(this.o.ref, `GET ${url}: more than ${MAX_REDIRECTS} redirects`, { url });
  }

  private async send(url: string, headers: Record<string, string>): Promise<Response> {
    const ms = netTimeoutMs();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Stalled()), ms);
    try {
      const res = await this.o.fetch(url, { headers, redirect: 'manual', signal: controller.signal });
      inFlight.set(res, { controller, ms, what: `GET ${url}`, ref: this.o.ref });
      return res;
    } catch (e) {
      if (e instanceof Stalled || controller.signal.reason instanceof Stalled) {
        throw new RegistryError(this.o.ref, `GET ${url}: no answer within ${ms / 1000} s; set CAKE_IMG_NET_TIMEOUT to wait longer`, { url });
      }
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.cause?.code ?? err.cause?.message ?? err.message;
      throw new RegistryError(this.o.ref, `GET ${url} failed: ${why}`, { url });
    } finally {
      clearTimeout(timer);
    }
  }

  private async authenticate(url: string, challenge: string | null): Promise<void> {
    const c = challenge ? parseChallenge(challenge) : null;
    if (!c || c.scheme !== 'bearer' || !c.params.realm) {
      const asked = c ? ` (the registry asks for ${c.scheme} credentials)` : '';
      throw new RegistryError(this.o.ref, `GET ${url} → 401 Unauthorized${asked}; only anonymous pulls with bearer tokens are supported`, { url, status: 401 });
    }
    let tokenUrl: URL;
    try {
      tokenUrl = new URL(c.params.realm, url);
    } catch {
      throw new RegistryError(this.o.ref, `GET ${url} → 401: the token server ${JSON.stringify(c.params.realm)} it names is not a URL`, { url, status: 401 });
    }
    if (c.params.service) tokenUrl.searchParams.set('service', c.params.service);
    tokenUrl.searchParams.set('scope', c.params.scope ?? this.o.scope);
    this.o.log(`token from ${tokenUrl.origin}${tokenUrl.pathname} for ${tokenUrl.searchParams.get('scope')}`);
    const res = await this.send(tokenUrl.href, { accept: 'application/json' });
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
