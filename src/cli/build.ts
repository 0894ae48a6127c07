// `cake-img build`
import { Command } from 'commander';
import { parseEpoch } from '../util/epoch.js';
import { InvalidOptionError } from '../util/errors.js';

/** `true`/`false` (and 1/0, yes/no) for options like --cache-push=false. */
export function parseBool(v: string, option: string): boolean {
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new InvalidOptionError(option, `expected true or false, not ${JSON.stringify(v)}`);
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .argument('[RECIPE]', 'cake.config.ts (or .mts, .js, .mjs, .json), or a directory holding one', undefined)
    .description('build a recipe: cook its trees (through the store) and bake its images into --out')
    .option('--only <NAME>', 'build only this output and what it needs (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--out <DIR>', 'where images are written', 'out')
    .option('--json', 'one JSON event per line on stdout (start, progress, log, end, error, summary)')
    .option('--rebuild', 'cook and bake again even when the store or --out has the result')
    .option('--explain', 'say why each step is rebuilt or reused')
    .option('-j, --jobs <N>', 'steps to run at once', '2')
    .option('--cache <REGISTRY/REPO>', 'a registry repository as the shared store: pull each step instead of building it, push what is built (default: $CAKE_IMG_CACHE)')
    .option('--cache-push <BOOL>', 'push to the --cache (false: a read-only runner, e.g. pull requests from forks)', 'true')
    .option('--require-cache', 'a --cache that fails (down, refused, tampered) fails the build instead of a warning and a local build')
    .addHelpText('after', `
A recipe mirrors the original Nix one:

  import { bake, cook, debianPackage, kernelFromDebian } from 'cake-img';
  const base = cook({ src: debianPackage('busybox-static'), script: '...' });
  export default {
    base,
    machine: bake({ image: base, kernel: kernelFromDebian(), size: '128M',
                    modules: ['virtio_blk', 'virtio_pci', 'ext4'], options: ['console=ttyS0'] }),
  };

Examples:
  cake-img build                                  # ./cake.config.ts, images into ./out
  cake-img build examples/busybox-machine --only busybox-machine
  cake-img build --json > events.jsonl            # for CI
  cake-img build --cache ghcr.io/acme/cake-cache  # a fleet's shared store (credentials: ~/.docker/config.json)
  CAKE_IMG_CACHE=registry.internal:5000/cake cake-img build --cache-push=false

With --cache, each cook is looked up as the tag cake-<store key> and each bake as
bake-<input key>; a hit is pulled and checked (every blob against its digest, the tree
against the hash the entry names) instead of built, and what is built is pushed. A
registry that is down, slow or refuses is one warning and a local build.`)
    .action(async (recipeArg: string | undefined, o: { only: string[]; out: string; json?: boolean; rebuild?: boolean; explain?: boolean; jobs: string; cache?: string; cachePush: string; requireCache?: boolean }) => {
      const jobs = Number(o.jobs);
      if (!Number.isInteger(jobs) || jobs < 1) throw new InvalidOptionError('--jobs', `must be a whole number >= 1, not ${JSON.stringify(o.jobs)}`);
      const push = parseBool(o.cachePush, '--cache-push');
      const cacheSpec = o.cache ?? process.env.CAKE_IMG_CACHE;
      const { findRecipe, loadRecipe } = await import('../recipe/load.js');
      const { build } = await import('../recipe/build.js');
      const { jsonReporter, plainReporter, ttyReporter } = await import('../recipe/progress.js');
      const reporter = o.json
        ? jsonReporter((s) => process.stdout.write(s))
        : process.stderr.isTTY
          ? ttyReporter((s) => process.stderr.write(s))
          : plainReporter((s) => process.stderr.write(s));
      try {
        const recipe = await loadRecipe(findRecipe(recipeArg));
        let cache;
        if (cacheSpec) {
          const { openCache } = await import('../host/remote-cache.js');
          const opened = openCache(cacheSpec, { push, require: o.requireCache });
          if (opened.warning) reporter.emit({ type: 'log', output: '(cache)', line: `warning: ${opened.warning}` });
          cache = opened.cache;
        } else if (o.requireCache) throw new InvalidOptionError('--require-cache', 'needs a cache: --cache REGISTRY/REPO or CAKE_IMG_CACHE');
        const rows = await build(recipe, {
          only: o.only, out: o.out, rebuild: o.rebuild, explain: o.explain, jobs, reporter,
          sourceDateEpoch: parseEpoch(process.env.SOURCE_DATE_EPOCH), cache,
        });
        reporter.emit({ type: 'summary', rows });
      } finally {
        reporter.close();
      }
    });
}
