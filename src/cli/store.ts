// `cake-img store ls|gc|push|pull`
import { Command } from 'commander';
import { InvalidOptionError, formatBytes } from '../util/errors.js';

/** "30d", "12h", "90m", "2w" → milliseconds. */
export function parseAge(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(s.trim());
  if (!m) throw new InvalidOptionError('--older-than', `expected a number and a unit (s, m, h, d, w), e.g. 30d, not ${JSON.stringify(s)}`);
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2] as 's'];
  return Number(m[1]) * unit;
}

export function registerStore(program: Command): void {
  const store = program
    .command('store')
    .description('list or clean the store of cooked trees ($XDG_CACHE_HOME/cake-img/store), or move them to and from a registry')
    .addHelpText('after', `
Examples:
  cake-img store ls
  cake-img store gc --older-than 30d
  cake-img store push busybox registry.example/cake/cache
  cake-img store ls --remote registry.example/cake/cache`);
  store
    .command('ls')
    .description('list the cooked trees in the store, newest first (or the cache entries of a registry repository)')
    .option('--json', 'one JSON object per line')
    .option('--remote <REGISTRY/REPO>', 'list the cake-<key> (cooks) and bake-<key> (disks) tags of this repository instead')
    .addHelpText('after', `
Example:
  cake-img store ls --json | jq -r .path
  cake-img store ls --remote 127.0.0.1:5000/cake/cache`)
    .action(async (o: { json?: boolean; remote?: string }) => {
      if (o.remote !== undefined) {
        const { storeRemoteList } = await import('../api/store.js');
        for (const e of await storeRemoteList(o.remote)) {
          process.stdout.write(o.json ? `${JSON.stringify(e)}\n` : `${e.tag}\t${e.kind}\t${e.name ?? '?'}\t${e.sha256 ?? '?'}\n`);
        }
        return;
      }
      const { storeList } = await import('../api/store.js');
      for (const e of storeList()) {
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ path: e.path, name: e.info.name, key: e.info.key, hash: e.info.hash, size: e.info.size, created: e.info.created, lastUsed: new Date(e.lastUsed).toISOString() })}\n`);
        } else {
          process.stdout.write(`${e.info.key}-${e.info.name}\t${e.info.hash}\t${formatBytes(e.info.size)}\t${e.info.created}\n`);
        }
      }
    });
  const progress = (l: string): void => void process.stderr.write(`  ${l}\n`);
  const REPO_HELP = 'the registry repository (credentials from $DOCKER_CONFIG/config.json or ~/.docker/config.json)';
  const moves: [string, string, string, (what: string, repo: string) => Promise<string>][] = [
    ['push', '<NAME|KEY>: a store entry by its name (the newest), key, or KEY-NAME as store ls prints it',
      'push a cooked tree to a registry as the OCI image cake-<key>, as build --cache does',
      async (what, repo) => {
        const r = await (await import('../api/store.js')).storePush(what, repo, progress);
        if (r.warning) process.stderr.write(`cake-img: warning: ${r.warning}\n`);
        return `${r.entry.info.name}: ${r.entry.info.hash} pushed as ${repo}:${r.tag}`;
      }],
    ['pull', '<KEY>: the store key (or its tag cake-KEY), as store ls --remote prints it',
      'pull a cooked tree from a registry into the store, checked (every blob, the tree hash) as build --cache does',
      async (what, repo) => {
        const r = await (await import('../api/store.js')).storePull(what, repo, progress);
        return `${r.info.name}: ${r.info.hash} pulled into ${r.path}`;
      }],
  ];
  for (const [name, arg, description, run] of moves) {
    const [argName, argHelp] = arg.split(': ') as [string, string];
    store.command(name).argument(argName, argHelp).argument('<REGISTRY/REPO>', REPO_HELP).description(description)
      .action(async (what: string, repo: string) => void process.stdout.write(`${await run(what, repo)}\n`));
  }
  store
    .command('gc')
    .description('remove cooked trees: those not used for a while, or all but the ones named')
    .option('--older-than <AGE>', 'remove entries not used for this long (e.g. 30d, 12h)')
    .option('--keep <KEY_OR_HASH>', 'never remove this entry (its key or its sha256:…); repeatable', (v: string, p: string[]) => [...p, v], [])
    .option('--recipe <FILE>', 'keep what this recipe pins (its cooks\' sha256), remove the rest; repeatable', (v: string, p: string[]) => [...p, v], [])
    .option('--all', 'remove every entry not kept')
    .option('-n, --dry-run', 'only say what would go')
    .addHelpText('after', `
Examples:
  cake-img store gc --older-than 30d
  cake-img store gc --recipe cake.config.ts       # keep only what the recipe pins
  cake-img store gc --all --keep sha256:4f1c...`)
    .action(async (o: { olderThan?: string; keep: string[]; recipe: string[]; all?: boolean; dryRun?: boolean }) => {
      if (o.olderThan === undefined && !o.all && o.keep.length === 0 && o.recipe.length === 0) {
        throw new InvalidOptionError('store gc', 'say what to remove: --older-than AGE, --recipe FILE, --all, or --keep ... (everything else)');
      }
      const olderThanMs = o.olderThan ? parseAge(o.olderThan) : undefined;
      if (o.recipe.length) {
        // A recipe's pins are kept; with no age given, everything else goes.
        const { findRecipe, loadRecipe } = await import('../recipe/load.js');
        const { pinnedHashes } = await import('../recipe/graph.js');
        for (const r of o.recipe) for (const h of pinnedHashes(await loadRecipe(findRecipe(r)))) o.keep.push(h);
        if (olderThanMs === undefined) o.all = true;
      }
      const { storeGc } = await import('../api/store.js');
      const r = storeGc({ olderThanMs, keep: o.keep, all: o.all, dryRun: o.dryRun });
      for (const e of r.removed) process.stdout.write(`${o.dryRun ? 'would remove' : 'removed'} ${e.path}\n`);
      for (const p of r.stale) process.stdout.write(`${o.dryRun ? 'would remove' : 'removed'} ${p} (the build of a process that is gone)\n`);
      process.stdout.write(`${r.removed.length} entries, ${formatBytes(r.freed)}${o.dryRun ? ' would be freed' : ' freed'}\n`);
    });
}
