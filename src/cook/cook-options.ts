// The checks of a cook's option values, shared by the command (api/cook.ts) and recipe
// validation, which must not load the cook itself to check a recipe.
import { InvalidOptionError } from '../util/errors.js';

/** A pinned output hash as `sha256:<64 lower-case hex>`, from `sha256:HEX` or `HEX`. */
export function normalizeHash(h: string, option = '--sha256'): string {
  const m = /^(?:sha256:)?([0-9a-fA-F]{64})$/.exec(h.trim());
  if (!m) throw new InvalidOptionError(option, `expected sha256:<64 hex digits>, not ${JSON.stringify(h)}`);
  return `sha256:${m[1]!.toLowerCase()}`;
}

/** A directory for PATH in /etc/profile: characters a shell line can hold unquoted. */
export function checkPathEntry(d: string): void {
  if (!/^(?:[A-Za-z0-9._/+@%,=-]|[^\x00-\x9f\u2028\u2029])+$/.test(d)) {
    throw new InvalidOptionError('--path', `${JSON.stringify(d)} cannot go in PATH (use letters, digits and . _ / + @ % , = -)`);
  }
}
