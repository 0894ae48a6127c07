// `cake-img cook`
import * as fs from 'node:fs';
import { Command } from 'commander';
import { InvalidOptionError } from '../util/errors.js';
import { parseEpoch } from '../util/epoch.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function readText(file: string, option: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidOptionError(option, `${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

export function registerCook(program: Command): void {
  program
    .command('cook')
    .description('cook a root filesystem: unpack a source, run a bootstrap script in it under proot, add host files; the result goes to the store')
    .requiredOption('--src <SRC>', 'directory, rootfs tarball, docker save archive, OCI layout, .deb, deb:PACKAGE, REGISTRY/REPO@sha256:DIGEST, or a cooked directory')
    .option('--script <FILE>', 'shell script run inside the tree as /bootstrap (proot --root-id)')
    .option('--prepare <CMD>', 'host shell command run in the build directory before the script ($ROOTFS is the tree)')
    .option('--cleanup <CMD>', 'host shell command run in the build directory at the end')
    .option('--contents <PATH>', 'host path copied into the tree at the same absolute path (repeatable)', collect, [])
    .option('--path <DIR>', 'directory put in front of PATH in /etc/profile (repeatable)', collect, [])
    .option('--sha256 <HASH>', 'expected hash of the cooked tree; a mismatch fails and stores nothing')
    .option('--name <NAME>', 'name in the store (default: from the source)')
    .option('--rebuild', 'cook even if the store has a result for the same inputs')
    .option('--explain', 'say why the cook is (or is not) taken from the store')
    .option('--keep-failed', 'keep the build directory of a failed cook, and print where')
    .option('--platform <OS/ARCH>', 'container images: platform to pick from an index (default linux/amd64)')
    .option('--lenient', 'archives and container images: skip hostile entries (escapes, links out of the root) with a warning instead of failing')
    .option('-q, --quiet', 'no progress lines or size summary')
    .option('-o, --output <OUT>', 'also write the result here: a directory, a .tar / .tar.gz, or an OCI image: NAME.oci (layout directory), NAME.oci.tar, NAME.docker.tar')
    .option('--tag <NAME:TAG>', 'OCI outputs: the image\'s name and tag (default: the cook\'s name and latest)')
    .option('--layer-compression <C>', 'OCI outputs: gzip (default, reproducible on every host), zstd (the host\'s zstd) or none')
    .addHelpText('after', `
The tree is unpacked as you (no root): owners, setuid bits, device nodes and xattrs are
kept in a metadata table beside it. After the script, unchanged entries keep their
metadata; entries the script created or replaced belong to root:root (proot cannot
record a chown); chmods made by the script are kept; deletions are kept.

The output hash covers paths, types, modes, owners, contents, link targets, device
numbers and xattrs (not times). Pin it with --sha256 once you are happy with a cook.
Times are clamped to SOURCE_DATE_EPOCH, else to the newest time in the source and the
--contents, so files the script makes do not carry the clock: the same inputs give the
same output on any machine.

Examples:
  cake-img cook --src busybox.oci --script setup.sh -o rootfs.tar
  cake-img cook --src deb:busybox-static --contents ./etc --path /opt/bin -o cooked/
  cake-img cook --src registry.example/alpine@sha256:... --sha256 sha256:... -o alpine.tar.gz
  cake-img cook --src deb:busybox-static --script setup.sh -o busybox.oci --tag busybox:1
  cake-img cook --src busybox.oci -o busybox.docker.tar   # docker load / podman load -i

An OCI output holds one layer (the tree with owners, modes, devices and xattrs), a
config whose created is SOURCE_DATE_EPOCH (else the tree's newest time) and whose Env
has the PATH --path set; the same tree gives the same bytes. Docker 25+ and podman
also load the .oci.tar.`)
    .action(runCook);
}

/** The command's options → the cook request; prints the result line and what to pin. */
async function runCook(o: Record<string, unknown>): Promise<void> {
  const { cook } = await import('../api/cook.js');
  const { parseLayerCompression } = await import('../host/layer-compress.js');
  const quiet = Boolean(o.quiet);
  const r = await cook({
    src: o.src as string,
    name: o.name as string | undefined,
    script: o.script ? readText(o.script as string, '--script') : undefined,
    prepare: o.prepare as string | undefined,
    cleanup: o.cleanup as string | undefined,
    contents: o.contents as string[],
    path: o.path as string[],
    sha256: o.sha256 as string | undefined,
    rebuild: Boolean(o.rebuild),
    explain: Boolean(o.explain),
    keepFailed: Boolean(o.keepFailed),
    out: o.output as string | undefined,
    tag: o.tag as string | undefined,
    layerCompression: parseLayerCompression(o.layerCompression as string | undefined),
    platform: o.platform as string | undefined,
    lenient: Boolean(o.lenient),
    sourceDateEpoch: parseEpoch(process.env.SOURCE_DATE_EPOCH),
    log: quiet ? undefined : (line) => process.stderr.write(`  ${line}\n`),
  });
  if (r.explanation) process.stderr.write(`cake-img: ${r.explanation}\n`);
  for (const w of r.warnings) process.stderr.write(`cake-img: warning: ${w}\n`);
  if (!quiet && r.summary.length) process.stderr.write(`\n${r.summary.join('\n')}\n\n`);
  process.stdout.write(`${r.name}: ${r.hash} ${r.cached ? 'cached' : 'cooked'} in ${r.storePath}${r.out ? `; written to ${r.out}` : ''}\n`);
  if (!o.sha256 && !r.cached) process.stderr.write(`cake-img: pin it with --sha256 ${r.hash}\n`);
}
