// cake-img command line: argv → options → api. Prints results and one-line errors.
import { Command, CommanderError } from 'commander';
import { CakeError } from '../util/errors.js';
import { registerBake } from './bake.js';
import { registerBuild } from './build.js';
import { registerCook } from './cook.js';
import { registerInitramfs } from './initramfs.js';
import { registerInitrd } from './initrd.js';
import { registerMkfs } from './mkfs.js';
import { registerStore } from './store.js';
import { VERSION } from '../version.js';

const program = new Command();
program
  .name('cake-img')
  .description('Rootless disk-image compiler: cook a root filesystem, bake it into a bootable disk.')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

registerBuild(program);
registerCook(program);
registerMkfs(program);
registerInitramfs(program);
registerInitrd(program);
registerBake(program);
registerStore(program);

program.addHelpText('after', `
Exit codes: 0 success, 1 failure (bad input, does not fit, tool failed), 2 usage error, 70 internal bug.`);


try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else if (e instanceof CakeError) {
    process.stderr.write(`cake-img: error: ${e.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`cake-img: internal error (a bug; please report it):\n${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 70;
  }
}
