// The page's persistent workspace in lightning-fs (IndexedDB): the files picked for each
// input are kept, so a reload does not ask for them again; "forget" removes them.
import FS from '@isomorphic-git/lightning-fs';

export const FIELDS = ['rootfs', 'kernel', 'syslinux', 'busybox'] as const;
export type Field = (typeof FIELDS)[number];

export class Workspace {
  private readonly fs = new FS('cake-img-workspace');
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
    await this.p.flush?.();
  }
}
