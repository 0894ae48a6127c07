// Image names and platforms as users write them (`host/repo@sha256:…`, `NAME:TAG`,
// `os/arch[/variant]`): pure parsers, apart from the registry and layout code that uses
// them, so checking a recipe or an option does not load that code.
import { InvalidOptionError } from '../util/errors.js';

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TAG = /^\w[\w.-]{0,127}$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::\d{1,5})?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * `host[:port]/repo/path@sha256:<64 hex>`; a `:tag` before the `@` is allowed and ignored
 * (the digest pins). Docker Hub (`docker.io`) is `registry-1.docker.io`, where a
 * one-component repository is under `library/`.
 */
export function parseImageRef(ref: string): { registry: string; repository: string; digest: string } {
  const bad = (why: string): never => {
    throw new InvalidOptionError('image', `${JSON.stringify(ref)}: ${why}`);
  };
  const at = ref.indexOf('@');
  if (at < 0) bad('no digest; pin the image as host/repository@sha256:<64 hex digits>');
  const digest = ref.slice(at + 1);
  if (!DIGEST.test(digest)) bad(`the digest ${JSON.stringify(digest)} is not sha256:<64 lowercase hex digits>`);
  let name = ref.slice(0, at);
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    if (!TAG.test(name.slice(colon + 1))) bad(`bad tag ${JSON.stringify(name.slice(colon + 1))}`);
    name = name.slice(0, colon);
  }
  const parts = name.split('/');
  const host = parts.shift()!;
  if (parts.length === 0 || !(host.includes('.') || host.includes(':') || host === 'localhost' || host.startsWith('['))) {
    bad('name the registry host first, e.g. docker.io/library/debian@sha256:…');
  }
  if (!HOST.test(host)) bad(`bad registry host ${JSON.stringify(host)}`);
  const badPart = parts.find((p) => !PATH_COMPONENT.test(p));
  if (badPart !== undefined) bad(`bad repository component ${JSON.stringify(badPart)} (lowercase letters, digits, and . _ - between them)`);
  if (name.length > 255) bad('the name is longer than 255 characters');
  const hub = host === 'docker.io' || host === 'index.docker.io';
  return {
    registry: hub ? 'registry-1.docker.io' : host,
    repository: hub && parts.length === 1 ? `library/${parts[0]}` : parts.join('/'),
    digest,
  };
}

export function parsePlatform(p: string): { os: string; architecture: string; variant?: string } {
  const parts = p.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => x === '')) throw new InvalidOptionError('platform', `${JSON.stringify(p)} is not os/arch[/variant]`);
  return { os: parts[0]!, architecture: parts[1]!, variant: parts[2] };
}

/** `NAME:TAG` → the layout's names: ref.name is the tag (as `docker save` writes it), the full name for containerd and RepoTags. */
export function parseImageTag(tag: string): { name: string; tag: string; full: string } {
  const slash = tag.lastIndexOf('/');
  const colon = tag.lastIndexOf(':');
  const name = colon > slash ? tag.slice(0, colon) : tag;
  const t = colon > slash ? tag.slice(colon + 1) : 'latest';
  // The distribution reference grammar: host[:port]/lowercase components, a tag of word characters.
  const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
  const parts = name.split('/');
  const hostOk = parts.length > 1 && /^[A-Za-z0-9.-]+(?::\d+)?$/.test(parts[0]!) && /[.:]|^localhost$/.test(parts[0]!);
  const ok = (hostOk ? parts.slice(1) : parts).every((p) => component.test(p)) && /^\w[\w.-]{0,127}$/.test(t) && name.length <= 255;
  if (!ok) throw new InvalidOptionError('--tag', `${JSON.stringify(tag)} is not NAME[:TAG] (lowercase name components separated by /, a tag of letters, digits, _ . -)`);
  return { name, tag: t, full: `${name}:${t}` };
}
