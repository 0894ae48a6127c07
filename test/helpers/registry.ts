// A real registry for tests: Debian's `docker-registry` (distribution 2.8) on a free
// loopback port with filesystem storage, a tiny push client, and a logging proxy in front
// of it that can demand bearer tokens (anonymous, or for basic credentials) or basic
// credentials, redirect blob downloads to another origin, or serve one path's answer for
// another (to fake corruption in transit). Uploads go through it too: the registry is told
// the proxy's address (X-Forwarded-Host), so its upload Locations point back at the proxy.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  url: string;
  stop(): Promise<void>;
}

function findBinary(name: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/sbin']) {
    if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts `docker-registry serve`; throws (never skips) when the binary is missing. */
export async function startRegistry(): Promise<TestRegistry> {
  const bin = findBinary('docker-registry');
  if (!bin) throw new Error('docker-registry not found: install the Debian package docker-registry (apt-get install docker-registry) to run the registry tests');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cake-registry-'));
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    // Manifests may list non-distributable layers hosted elsewhere (the tests refuse them).
    'validation:',
    '  manifests:',
    '    urls:',
    '      allow:',
    "        - '^https://'",
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn(bin, ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => (dead = true));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (!dead) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (dead) {
      await stop();
      throw new Error(`docker-registry exited before it was ready: ${stderr.trim()}`);
    }
    const ok = await fetch(`${url}/v2/`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer GET /v2/ within 30 s: ${stderr.trim()}`);
    }
    await sleep(100);
  }
  return { host: `127.0.0.1:${port}`, url, stop };
}

export const sha256 = (b: Uint8Array | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Pushed {
  mediaType: string;
  digest: string;
  size: number;
}

/** Monolithic upload: POST for a session, PUT the bytes with their digest. */
export async function pushBlob(reg: TestRegistry, repo: string, data: Uint8Array | string, mediaType: string): Promise<Pushed> {
  const bytes = Buffer.from(data);
  const digest = sha256(bytes);
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const location = start.headers.get('location');
  if (start.status !== 202 || !location) throw new Error(`upload start: ${start.status} ${await start.text()}`);
  const at = new URL(location, reg.url);
  at.searchParams.set('digest', digest);
  const put = await fetch(at, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`upload ${digest}: ${put.status} ${await put.text()}`);
  return { mediaType, digest, size: bytes.length };
}

export async function pushManifest(reg: TestRegistry, repo: string, ref: string, json: object, mediaType: string): Promise<Pushed> {
  const bytes = Buffer.from(JSON.stringify(json));
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: bytes, headers: { 'content-type': mediaType } });
  if (res.status !== 201) throw new Error(`manifest ${repo}:${ref}: ${res.status} ${await res.text()}`);
  return { mediaType, digest: sha256(bytes), size: bytes.length };
}

export interface ProxyRequest {
  /** 'front' (the registry's address) or 'storage' (the other origin blobs redirect to). */
  via: 'front' | 'storage';
  method: string;
  path: string;
  authorization: string | undefined;
  status: number;
}

export interface TestProxy {
  host: string;
  token: string;
  /**
   * 'open' forwards everything; 'bearer' wants `Authorization: Bearer <token>` (from
   * /token); 'basic' answers 401 with a Basic challenge; 'bare401' with no challenge;
   * 'basic-login' wants Basic `credentials`; 'bearer-login' wants a bearer token that
   * /token gives only for Basic `credentials`; 'error500' answers 500 to everything;
   * 'stall' never answers.
   */
  mode: 'open' | 'bearer' | 'basic' | 'bare401' | 'basic-login' | 'bearer-login' | 'error500' | 'stall';
  /** The user and password the *-login modes accept. */
  credentials: { username: string; password: string };
  /** Blob GETs answer 307 to the storage origin (another port), which serves them. */
  redirectBlobs: boolean;
  /** Request path → path forwarded instead. */
  aliases: Map<string, string>;
  log: ProxyRequest[];
  stop(): Promise<void>;
}

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

export async function startProxy(reg: TestRegistry): Promise<TestProxy> {
  const target = new URL(reg.url);
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, p: string, entry: ProxyRequest): void => {
    const headers = { ...req.headers, host: target.host, 'x-forwarded-host': req.headers.host ?? target.host, 'x-forwarded-proto': 'http' };
    delete headers.authorization;
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: p, headers }, (r) => {
      entry.status = r.statusCode ?? 0;
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => res.destroy(e));
    req.pipe(up);
  };
  let storagePort = 0;
  const proxy: TestProxy = {
    host: '', token: 'tok-' + Math.random().toString(36).slice(2), mode: 'open', redirectBlobs: false, aliases: new Map(), log: [],
    credentials: { username: 'ci', password: 'pa:ss word' },
    stop: async () => {},
  };
  const front = await listen((req, res) => {
    const p = req.url ?? '/';
    const entry: ProxyRequest = { via: 'front', method: req.method ?? '', path: p, authorization: req.headers.authorization, status: 0 };
    proxy.log.push(entry);
    const reply = (status: number, headers: Record<string, string>, body = ''): void => {
      entry.status = status;
      res.writeHead(status, headers).end(body);
    };
    if (proxy.mode === 'stall') return; // the connection stays open, unanswered, until stop()
    if (proxy.mode === 'error500') return reply(500, { 'content-type': 'application/json' }, JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'boom' }] }));
    const basicOk = req.headers.authorization === `Basic ${Buffer.from(`${proxy.credentials.username}:${proxy.credentials.password}`).toString('base64')}`;
    const unauthorized = { 'content-type': 'application/json' };
    const body = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    if (p.startsWith('/token')) {
      if (proxy.mode === 'bearer-login' && !basicOk) return reply(401, unauthorized, body);
      return reply(200, { 'content-type': 'application/json' }, JSON.stringify({ token: proxy.token }));
    }
    if (proxy.mode === 'basic-login' && !basicOk) return reply(401, { ...unauthorized, 'www-authenticate': 'Basic realm="test"' }, body);
    if (proxy.mode === 'basic') return reply(401, { ...unauthorized, 'www-authenticate': 'Basic realm="test"' }, body);
    if (proxy.mode === 'bare401') return reply(401, unauthorized, body);
    if ((proxy.mode === 'bearer' || proxy.mode === 'bearer-login') && req.headers.authorization !== `Bearer ${proxy.token}`) {
      const repo = /^\/v2\/(.+)\/(?:manifests|blobs)\//.exec(p)?.[1];
      const scope = repo ? `,scope="repository:${repo}:pull"` : '';
      const challenge = `Bearer realm="http://127.0.0.1:${front.port}/token",service="test"${scope}`;
      return reply(401, { ...unauthorized, 'www-authenticate': challenge }, body);
    }
    if (proxy.redirectBlobs && req.method === 'GET' && /\/blobs\/sha256:/.test(p)) {
      return reply(307, { location: `http://127.0.0.1:${storagePort}/storage${p}` });
    }
    forward(req, res, proxy.aliases.get(p) ?? p, entry);
  });
  const storage = await listen((req, res) => {
    const p = (req.url ?? '/').replace(/^\/storage/, '');
    const entry: ProxyRequest = { via: 'storage', method: req.method ?? '', path: p, authorization: req.headers.authorization, status: 0 };
    proxy.log.push(entry);
    forward(req, res, proxy.aliases.get(p) ?? p, entry);
  });
  storagePort = storage.port;
  proxy.host = `127.0.0.1:${front.port}`;
  proxy.stop = async () => {
    for (const s of [front.server, storage.server]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  };
  return proxy;
}
