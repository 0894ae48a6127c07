// `cake-img boot`
import { Command, InvalidArgumentError } from 'commander';
import { CakeError } from '../util/errors.js';

export function registerBoot(program: Command): void {
  program
    .command('boot')
    .argument('<IMG>', 'a disk image: raw, qcow2, VHD or VMDK (recognised by its bytes)')
    .argument('[QEMU_ARGS...]', 'extra qemu arguments, after --')
    .description('boot an image in QEMU on the serial console (the image is never modified: snapshot mode)')
    .option('--expect <TEXT>', 'exit 0 as soon as TEXT appears on the console; non-zero after the timeout')
    .option('--timeout <S>', 'seconds to wait for --expect', (v: string) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be whole seconds');
      return Number(v);
    }, 300)
    .option('--memory <SIZE>', 'guest memory', '512M')
    .option('--accel <A>', 'auto, kvm or tcg (auto: KVM only where guests can really run)', 'auto')
    .option('--firmware <F>', 'bios (SeaBIOS) or uefi (OVMF); default: uefi for a GPT disk with an ESP and no BIOS boot code, else bios')
    .option('--ovmf <DIR>', 'where OVMF_CODE_4M.fd and OVMF_VARS_4M.fd are (default: /usr/share/OVMF, else Debian\'s ovmf fetched rootless)')
    .addHelpText('after', `
Without --expect the console is yours (quit QEMU with Ctrl-A X).

Examples:
  cake-img boot machine.img
  cake-img boot machine.img --expect 'login:' --timeout 120 --accel tcg
  cake-img boot machine.img --firmware uefi --expect 'login:'
  cake-img boot machine.img -- -smp 2`)
    .action(async (img: string, extra: string[], o: Record<string, unknown>) => {
      const { boot } = await import('../api/boot.js');
      const expect = o.expect as string | undefined;
      const r = await boot({
        image: img, expect, timeoutSec: o.timeout as number, memory: o.memory as string, accel: o.accel as 'auto',
        firmware: o.firmware as 'bios' | 'uefi' | undefined, ovmf: o.ovmf as string | undefined,
        extraArgs: extra, onOutput: expect === undefined ? undefined : (t) => process.stdout.write(t),
      });
      if (expect !== undefined) {
        if (r.matched) process.stderr.write(`\ncake-img: saw ${JSON.stringify(expect)} (${r.firmware}, ${r.accel}: ${r.accelReason})\n`);
        // The console went to stdout as it came; the error is one line.
        else throw new CakeError('ETIMEOUT', 'tool', `${JSON.stringify(expect)} did not appear within ${o.timeout} s (${r.accel}); the console is above`);
      }
    });
}
