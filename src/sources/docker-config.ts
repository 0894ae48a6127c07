// Registry credentials from the convention every CI already sets up: the docker client's
// `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; podman's
// `auth.json` has the same shape), `auths.<registry>.auth` = base64("user:password"), or
// `username`/`password`, or `identitytoken` (sent as the password of the token request, as
// docker's `<token>` user does). Credential helpers (`credsStore`, `credHelpers`) are not
// run: an entry only they hold is anonymous. The file is untrusted input: a bad one is an
// error naming it, never a crash, and no secret ever reaches a message.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { CorruptInputError, ReadError } from '../util/errors.js';
import type { Credentials } from './registry-auth.js';

const MAX_CONFIG = 1 << 20;

/** `host[:port]` of an `auths` key: `https://index.docker.io/v1/` → `index.docker.io`. */
export function authKeyHost(key: string): string {
  return key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

/** The names a registry goes by in `auths` (Docker Hub has three). */
function hostsOf(registry: string): string[] {
  const r = registry.toLowerCase();
  return r === 'registry-1.docker.io' || r === 'docker.io' || r === 'index.docker.io' ? ['index.docker.io', 'docker.io', 'registry-1.docker.io'] : [r];
}

/** The credentials `config.json`'s bytes hold, by registry host. */
export function parseDockerConfig(bytes: Uint8Array, where: string): Map<string, Credentials> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new CorruptInputError(where, 'not valid JSON');
  }
  const out = new Map<string, Credentials>();
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new CorruptInputError(where, 'not a JSON object');
  const auths = (json as { auths?: unknown }).auths;
  if (auths === undefined) return out;
  if (auths === null || typeof auths !== 'object' || Array.isArray(auths)) throw new CorruptInputError(where, '"auths" is not an object');
  for (const [key, v] of Object.entries(auths as Record<string, unknown>)) {
    const e = v as { auth?: unknown; username?: unknown; password?: unknown; identitytoken?: unknown } | null;
    if (e === null || typeof e !== 'object') continue;
    const name = JSON.stringify(key.slice(0, 100));
    let cred: Credentials | null = null;
    if (typeof e.auth === 'string' && e.auth !== '') {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(e.auth)) throw new CorruptInputError(where, `auths[${name}].auth is not base64`);
      const text = Buffer.from(e.auth, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      if (colon < 0) throw new CorruptInputError(where, `auths[${name}].auth is not base64 of "user:password"`);
      cred = { username: text.slice(0, colon), password: text.slice(colon + 1) };
    } else if (typeof e.username === 'string' && typeof e.password === 'string') {
      cred = { username: e.username, password: e.password };
    }
    // An identity token replaces the password (docker sends it for the user "<token>").
    if (typeof e.identitytoken === 'string' && e.identitytoken !== '') cred = { username: cred?.username || '<token>', password: e.identitytoken };
    if (cred) out.set(authKeyHost(key), cred);
  }
  return out;
}

/** Where the docker config is: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.DOCKER_CONFIG) return nodePath.join(env.DOCKER_CONFIG, 'config.json');
  const home = env.HOME || os.homedir();
  return home ? nodePath.join(home, '.docker', 'config.json') : null;
}

/** The user's credentials for `registry` (host[:port]), or null (none, or no config). */
export function credentialsFor(registry: string, env: NodeJS.ProcessEnv = process.env): Credentials | null {
  const file = dockerConfigPath(env);
  if (!file) return null;
  const chosen = !!env.DOCKER_CONFIG;
  let bytes: Uint8Array;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new ReadError(file, 'is not a regular file');
    if (st.size > MAX_CONFIG) throw new CorruptInputError(file, `${st.size} bytes is too large for a docker config`);
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    // Another user's home (a CI step run as nobody keeps HOME=/root): no credentials there for us.
    if (!chosen && (code === 'EACCES' || code === 'EPERM')) return null;
    if (e instanceof ReadError || e instanceof CorruptInputError) throw e;
    throw new ReadError(file, `cannot read it: ${code ?? String(e)}`);
  }
  const all = parseDockerConfig(bytes, file);
  for (const h of hostsOf(registry)) {
    const c = all.get(h);
    if (c) return c;
  }
  return null;
}
