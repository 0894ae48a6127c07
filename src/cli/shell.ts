// `cake-img shell`
import { Command } from 'commander';
import { InvalidOptionError } from '../util/errors.js';

export function registerShell(program: Command): void {
  program
    .command('shell')
    .argument('<SRC>', 'a cooked directory, a store entry\'s name, a tarball or image; with --recipe, an output of the recipe')
    .argument('[COMMAND...]', 'run this (after --) instead of an interactive shell; its exit code is cake-img\'s')
    .description('enter a tree under proot, rootless, as the original recipe serves up the system (/proc and /dev bound, /etc/profile read)')
    .option('--bind <HOST[:GUEST]>', 'make a host path visible inside (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--root-id', 'seem to be root inside (proot --root-id)')
    .option('--keep <DIR>', 'keep the tree with the changes made in it, as a cooked directory (a new DIR)')
    .option('--recipe <FILE>', 'SRC names an output of this recipe: it is built (through the store) first')
    .option('--platform <OS/ARCH>', 'container image sources: the platform to take from an index', 'linux/amd64')
    .option('--lenient', 'archive or image sources: skip hostile entries with a warning')
    .addHelpText('after', `
Changes are made to a scratch copy, removed when the shell ends, unless --keep DIR.
The environment is cleared (as env - does) but for TERM, then /etc/profile is read.

Examples:
  cake-img shell busybox                        # the store entry named busybox
  cake-img shell rootfs.tar.gz --root-id -- cat /etc/os-release
  cake-img shell --recipe examples/busybox-machine busybox --bind "$PWD:/work"
  cake-img shell rootfs/ --keep edited/ && cake-img mkfs edited/ disk.img`)
    .action(async (src: string, command: string[], o: Record<string, unknown>) => {
      let source = src;
      if (o.recipe !== undefined) {
        source = await buildOutput(o.recipe as string, src);
      }
      if (o.keep !== undefined && typeof o.keep !== 'string') throw new InvalidOptionError('--keep', 'needs a directory');
      const { shell } = await import('../api/shell.js');
      const r = await shell({
        src: source, binds: o.bind as string[], rootId: Boolean(o.rootId), keep: o.keep as string | undefined, command,
        platform: o.platform as string, lenient: Boolean(o.lenient),
        // Progress only for a person at a terminal: a failing script run gets one line.
        log: process.stderr.isTTY ? (l) => process.stderr.write(`cake-img: ${l}\n`) : undefined,
      });
      if (r.kept) process.stderr.write(`cake-img: kept the tree in ${r.kept} (a cooked directory)\n`);
      process.exitCode = r.exitCode;
    });
}

/** Builds one cook output of a recipe and returns its store path. */
async function buildOutput(recipeFile: string, name: string): Promise<string> {
  const { findRecipe, loadRecipe } = await import('../recipe/load.js');
  const { build } = await import('../recipe/build.js');
  const { plainReporter } = await import('../recipe/progress.js');
  const recipe = await loadRecipe(findRecipe(recipeFile));
  const spec = recipe.outputs.get(name);
  if (spec && spec.kind !== 'cook') throw new InvalidOptionError('SRC', `${name} is a bake in ${recipeFile}; shell enters cooked trees`);
  // A cook's result lives in the store; --out only receives images, so a scratch one does.
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const out = mkdtempSync(`${tmpdir()}/cake-shell-out-`);
  let rows;
  try {
    rows = await build(recipe, { only: [name], out, reporter: plainReporter((s) => process.stderr.write(s)) });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const row = rows.find((r) => r.output === name);
  if (!row?.path) throw new InvalidOptionError('SRC', `${recipeFile} made no tree named ${name}`);
  return row.path;
}
