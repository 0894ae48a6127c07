// cake-img command line: argv → options → api. Prints results and one-line errors.
//
// Exit codes: 0 success; 1 the work failed (bad input, does not fit, a tool or the host
// failed); 2 the command line is wrong (an unknown command or option, a bad value);
// 128+N stopped by signal N (130 for SIGINT, 143 for SIGTERM); 70 a bug (with a stack trace).
import { Command, CommanderError } from 'commander';
import { installSignalHandlers, settle } from '../host/lifecycle.js';
import { useNodeDigests } from '../host/node-digests.js';
import { CakeError, oneLine } from '../util/errors.js';
import { registerBake } from './bake.js';
import { registerBoot } from './boot.js';
import { registerConvert } from './convert.js';
import { registerBuild } from './build.js';
import { registerCook } from './cook.js';
import { registerInitramfs } from './initramfs.js';
import { registerInitrd } from './initrd.js';
import { registerMkfs } from './mkfs.js';
import { registerShell } from './shell.js';
import { registerStore } from './store.js';
import { VERSION } from '../version.js';

const say = (line: string): void => void process.stderr.write(`cake-img: ${oneLine(line)}\n`);
installSignalHandlers((e) => say(`error: ${e.message}`));
useNodeDigests(); // every hash native on Node: the same digests as the pure core's (host/node-digests.ts)

const program = new Command();
program
  .name('cake-img')
  .description('Rootless disk-image compiler: cook a root filesystem, bake it into a bootable disk.')
  .version(VERSION)
  // Usage errors are printed below as one line with a pointer to --help.
  .configureOutput({ outputError: () => {} })
  .exitOverride();

registerBuild(program);
registerCook(program);
registerMkfs(program);
registerInitramfs(program);
registerInitrd(program);
registerBake(program);
registerConvert(program);
registerBoot(program);
registerStore(program);
registerShell(program);

program.addHelpText('after', `
Exit codes: 0 success, 1 failure (bad input, does not fit, tool failed), 2 usage error,
128+N stopped by signal N (130 SIGINT, 143 SIGTERM), 70 internal bug.`);

/** The command words on the line (`store gc`), for the --help pointer. */
function commandWords(argv: string[]): string {
  const words: string[] = [];
  let cmd: Command = program;
  for (const a of argv) {
    const sub = cmd.commands.find((c) => c.name() === a);
    if (!sub) break;
    words.push(a);
    cmd = sub;
  }
  return words.join(' ');
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exitCode = 0;
    else {
      if (e.code !== 'commander.help') {
        const words = commandWords(process.argv.slice(2));
        say(`${e.message.replace(/^error: /, 'error: ').trim()} (see: cake-img ${words ? `${words} ` : ''}--help)`);
      }
      process.exitCode = 2;
    }
  } else if (e instanceof CakeError) {
    say(`error: ${e.message}`);
    process.exitCode = e.exitCode;
  } else {
    process.stderr.write(`cake-img: internal error (a bug; please report it):\n${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 70;
  }
} finally {
  // Nothing of ours outlives the command: helpers ended, temps removed, the guardian dismissed.
  await settle();
}
