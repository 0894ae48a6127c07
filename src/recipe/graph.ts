// Walking a recipe's graph without building it.
import { normalizeHash } from '../cook/cook-options.js';
import type { Recipe } from './load.js';
import type { CookSpec, Output, SourceSpec } from './spec.js';

/** Every cook reachable from the recipe's outputs (inputs included), once each. */
export function allCooks(recipe: Recipe): CookSpec[] {
  const seen = new Set<Output>();
  const out: CookSpec[] = [];
  const visit = (o: Output | SourceSpec): void => {
    if (o.kind === 'source' || seen.has(o)) return;
    seen.add(o);
    if (o.kind === 'cook') {
      out.push(o);
      visit(o.src);
    } else visit(o.image);
  };
  for (const o of recipe.outputs.values()) visit(o);
  return out;
}

/** The output hashes a recipe pins (its cooks' `sha256`), normalised to sha256:HEX. */
export function pinnedHashes(recipe: Recipe): string[] {
  return allCooks(recipe).flatMap((c) => (c.sha256 ? [normalizeHash(c.sha256, `${recipe.file}: sha256`)] : []));
}
