// `cake-img build`
import { Command } from 'commander';
import { parseEpoch } from '../util/epoch.js';
import { InvalidOptionError } from '../util/errors.js';

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
  cake-img build --json > events.jsonl            # for CI`)
    .action(async (recipeArg: string | undefined, o: { only: string[]; out: string; json?: boolean; rebuild?: boolean; explain?: boolean; jobs: string }) => {
      const jobs = Number(o.jobs);
      if (!Number.isInteger(jobs) || jobs < 1) throw new InvalidOptionError('--jobs', `must be a whole number >= 1, not ${JSON.stringify(o.jobs)}`);
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
        const rows = await build(recipe, {
          only: o.only, out: o.out, rebuild: o.rebuild, explain: o.explain, jobs, reporter,
          sourceDateEpoch: parseEpoch(process.env.SOURCE_DATE_EPOCH),
        });
        reporter.emit({ type: 'summary', rows });
      } finally {
        reporter.close();
      }
    });
}
