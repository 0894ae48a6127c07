// The bundled example: image examples/tiny-rootfs as root-owned ext4, without root,
// then let e2fsck judge it when e2fsprogs is installed. Run with `npm run example`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const img = path.join(top, 'out', 'tiny-rootfs.img');
fs.mkdirSync(path.dirname(img), { recursive: true });
// A checkout's file times are "now": clamping them makes the image the same everywhere.
const env = { ...process.env, SOURCE_DATE_EPOCH: process.env.SOURCE_DATE_EPOCH ?? '1700000000', PATH: `${process.env.PATH}:/usr/sbin:/sbin` };
const run = (cmd, args) => {
  console.log(`$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(process.execPath, [path.join(top, 'dist/cli/main.js'), 'mkfs', path.join(top, 'examples/tiny-rootfs'), img, '--owner', '0:0', '--label', 'tiny']);
if (spawnSync('sh', ['-c', 'command -v e2fsck'], { env }).status === 0) run('e2fsck', ['-fn', img]);
else console.log('(install e2fsprogs to have e2fsck check the image)');
console.log(`\nWrote ${path.relative(process.cwd(), img)}. Look inside without mounting: debugfs -R 'ls -l /etc' ${path.relative(process.cwd(), img)}`);
