// SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/).
import { InvalidOptionError } from './errors.js';

export function parseEpoch(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new InvalidOptionError('SOURCE_DATE_EPOCH', `must be a whole number of seconds (at most 15 digits), not ${JSON.stringify(v)}`);
  return Number(v);
}
