// The cake-img package: the recipe builders a `cake.config.ts` imports, the typed entry
// points behind each command for programs that drive cake-img directly, and the pure core
// (src/core.ts: planners, writers, encoders, memory backends) that needs no Node host.
export * from './core.js';
export {
  bake, cook, debianPackage, directory, dockerArchive, kernelFile, kernelFromDebian, ociLayout, pull, source, tarball,
  type BakeOptions, type BakeSpec, type CookOptions, type CookSpec, type Helpers, type KernelSpec, type Output, type SourceSpec,
} from './recipe/spec.js';
import type { Helpers, Output } from './recipe/spec.js';
import { useNodeDigests } from './host/node-digests.js';

// This entry is Node's: hash natively (same digests as the pure core's, faster).
useNodeDigests();

/** A recipe's default export: named outputs, or a function of the builders returning them. */
export type Recipe = Record<string, Output> | ((h: Helpers) => Record<string, Output> | Promise<Record<string, Output>>);

/** Identity, for type checking: `export default defineRecipe({ ... })`. */
export function defineRecipe<R extends Recipe>(recipe: R): R {
  return recipe;
}

export { mkfs, type MkfsRequest, type MkfsResult } from './api/mkfs.js';
export { mkfsVfat, type MkfsVfatResult } from './api/mkfs-vfat.js';
export { cook as cookTree, type CookRequest, type CookResult } from './api/cook.js';
export { bake as bakeImage, type BakeRequest, type BakeResult } from './api/bake.js';
export { boot, type BootRequest } from './api/boot.js';
export { convert, type ConvertRequest, type ConvertResult } from './api/convert.js';
export { VERSION } from './version.js';
