// A cooked directory on this host: its rootfs/ read through the host filesystem, merged
// with its metadata table (sources/cooked-dir.ts has the rules).
import { type LoadedTree } from '../sources/directory.js';
import { loadCookedDir as loadCooked } from '../sources/cooked-dir.js';
import { NodeSourceFs } from './node-source-fs.js';

export { isCookedDir } from '../sources/meta-table.js';

export function loadCookedDir(dir: string, opts: { xattrs?: boolean } = {}): Promise<LoadedTree> {
  return loadCooked(dir, (rootfs) => new NodeSourceFs(rootfs, opts));
}
