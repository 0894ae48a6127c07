// The page's persistent workspace in lightning-fs (IndexedDB): the files picked for each
// input are kept, so a reload does not ask for them again; "forget" removes them.
import FS from '@isomorphic-git/lightning-fs';

/** Where the overlay tree lives in the workspace. */
export const OVERLAY = '/overlay';
export const WORKSPACE = 'cake-img-workspace';

export const FIELDS = ['rootfs', 'kernel', 'syslinux', 'busybox'] as const;
export type Field = (typeof FIELDS)[number];

export class Workspace {
  private readonly fs = new FS(WORKSPACE);
  private readonly p = this.fs.promises;

  private async ensure(dir: string): Promise<void> {
    try {
      await this.p.mkdir(dir);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
  }

  private async clear(field: Field): Promise<void> {
    const dir = `/inputs/${field}`;
    try {
      for (const n of await this.p.readdir(dir)) await this.p.unlink(`${dir}/${n}`);
    } catch {
      /* nothing kept */
    }
  }

  /** Keeps `files` as the field's inputs (replacing what was kept). */
  async keep(field: Field, files: File[]): Promise<void> {
    await this.ensure('/inputs');
    await this.ensure(`/inputs/${field}`);
    await this.clear(field);
    for (const [i, f] of files.entries()) await this.p.writeFile(`/inputs/${field}/${i}-${f.name}`, new Uint8Array(await f.arrayBuffer()));
    await this.p.flush?.();
  }

  /** The kept files of a field, in the order picked. */
  async kept(field: Field): Promise<File[]> {
    const dir = `/inputs/${field}`;
    let names: string[];
    try {
      names = await this.p.readdir(dir);
    } catch {
      return [];
    }
    names.sort((a, b) => parseInt(a) - parseInt(b));
    const out: File[] = [];
    for (const n of names) out.push(new File([(await this.p.readFile(`${dir}/${n}`)) as Uint8Array<ArrayBuffer>], n.replace(/^\d+-/, '')));
    return out;
  }

  async forget(): Promise<void> {
    for (const f of FIELDS) await this.clear(f);
    for (const f of await this.overlayFiles()) await this.p.unlink(`${OVERLAY}${f.path}`);
    await this.p.flush?.();
  }

  /** Puts a file into the overlay at `path` (absolute in the image), directories made 0755 on the way. */
  async overlayAdd(path: string, data: Uint8Array, mode: number): Promise<void> {
    const parts = path.split('/').filter(Boolean);
    if (!parts.length || parts.some((p) => p === '.' || p === '..')) throw new Error(`not a path in the image: ${JSON.stringify(path)}`);
    let dir = '';
    for (const p of [OVERLAY.slice(1), ...parts.slice(0, -1)]) {
      dir += `/${p}`;
      try {
        await this.p.mkdir(dir, { mode: 0o755 });
      } catch (e) {
        if ((e as { code?: string }).code !== 'EEXIST') throw e;
      }
    }
    await this.p.writeFile(`${OVERLAY}/${parts.join('/')}`, data, { mode });
    await this.p.flush?.();
  }

  async overlayRemove(path: string): Promise<void> {
    await this.p.unlink(`${OVERLAY}${path}`);
    await this.p.flush?.();
  }

  /** The overlay's files (paths in the image). */
  async overlayFiles(): Promise<{ path: string; size: number; mode: number }[]> {
    const out: { path: string; size: number; mode: number }[] = [];
    const walk = async (rel: string): Promise<void> => {
      let names: string[];
      try {
        names = await this.p.readdir(`${OVERLAY}${rel}`);
      } catch {
        return;
      }
      for (const n of names.sort()) {
        const st = await this.p.lstat(`${OVERLAY}${rel}/${n}`);
        if (st.type === 'dir') await walk(`${rel}/${n}`);
        else out.push({ path: `${rel}/${n}`, size: st.size, mode: st.mode });
      }
    };
    await walk('');
    return out;
  }
}
