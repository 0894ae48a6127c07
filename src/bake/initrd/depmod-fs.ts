// depmod over a lib/modules/<version> directory seen through a SourceFs (the CLI's unpacked
// kernel package): every module file found by a sorted walk (skipping `build` and `source`,
// as kmod does), decompressed, its ELF read; then depmod.ts.
import type { SourceFs } from '../../io/source-fs.js';
import { joinPath } from '../../io/source-fs.js';
import { decompressModule, type InitrdRequest } from './builder.js';
import { type DepmodOutput, MODULE_FILE, type ScannedModule, depmod } from './depmod.js';
import { readModuleElf } from './module-elf.js';
import { exists, readText, readWhole } from './read-file.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

export async function depmodSourceFs(fs: SourceFs, label: string, xz?: InitrdRequest['xzDecompress']): Promise<DepmodOutput> {
  const found: ScannedModule[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of [...(await fs.readdir(dir))].sort()) {
      if (name === 'build' || name === 'source') continue;
      const rel = joinPath(dir, name);
      const st = await fs.lstat(rel);
      if ((st.mode & S_IFMT) === S_IFDIR) await walk(rel);
      else if ((st.mode & S_IFMT) === S_IFREG && MODULE_FILE.test(name)) {
        const bytes = await decompressModule(rel, await readWhole(fs, rel, label), xz);
        found.push({ path: rel, elf: readModuleElf(bytes, `${label}/${rel}`) });
      }
    }
  };
  await walk('');
  const order = (await exists(fs, 'modules.order')) ? await readText(fs, 'modules.order', label) : undefined;
  return depmod(found, order);
}
