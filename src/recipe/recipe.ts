// A loaded recipe and the error that names its file (and output): shared by the loader,
// the validator and the build.
import { CakeError } from '../util/errors.js';
import type { Output } from './spec.js';

export interface Recipe {
  file: string;
  dir: string;
  /** Output name → spec, in the recipe's order. */
  outputs: Map<string, Output>;
}

export class RecipeError extends CakeError {
  constructor(file: string, message: string, output?: string) {
    super('ERECIPE', 'options', `${file}${output ? `: output "${output}"` : ''}: ${message}`, { file, output });
  }
}
