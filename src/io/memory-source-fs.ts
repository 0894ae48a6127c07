// An in-memory SourceFs (tests, browser). Build it with add*(), read it as a SourceFs.
import type { DataRun, Timestamp, Xattr } from '../tree/node.js';
import { CakeError } from '../util/errors.js';
import type { SourceFs, SourceStat } from './source-fs.js';

interface MemEntry {
  stat: SourceStat;
  data?: Uint8Array;
  target?: string;
  children?: string[];
  xattrs?: Xattr[];
  runs?: DataRun[];
}

const T0: Timestamp = { sec: 0, nsec: 0 };

export class MemorySourceFs implements SourceFs {
  private readonly entries = new Map<string, MemEntry>();
  private nextIno = 1;

  constructor() {
    this.entries.set('', { stat: this.mkStat(0o040755, 0), children: [] });
  }

  private mkStat(mode: number, size: number, extra: Partial<SourceStat> = {}): SourceStat {
    return {
      mode, uid: 0, gid: 0, size, inodeKey: String(this.nextIno++), nlink: 1,
      rdevMajor: 0, rdevMinor: 0, mtime: T0, atime: T0, ctime: T0, ...extra,
    };
  }

  private attach(path: string, e: MemEntry): void {
    const slash = path.lastIndexOf('/');
    const parent = this.entries.get(slash < 0 ? '' : path.slice(0, slash));
    if (!parent?.children) throw new Error(`MemorySourceFs: no parent directory for ${path}`);
    parent.children.push(slash < 0 ? path : path.slice(slash + 1));
    this.entries.set(path, e);
  }

  addDir(path: string, extra: Partial<SourceStat> = {}): void {
    this.attach(path, { stat: this.mkStat(0o040755, 4096, extra), children: [] });
  }
  addFile(path: string, data: Uint8Array, extra: Partial<SourceStat> = {}, runs?: DataRun[]): void {
    this.attach(path, { stat: this.mkStat(0o100644, data.length, extra), data, runs });
  }
  addSymlink(path: string, target: string, extra: Partial<SourceStat> = {}): void {
    this.attach(path, { stat: this.mkStat(0o120777, target.length, extra), target });
  }
  addNode(path: string, mode: number, extra: Partial<SourceStat> = {}): void {
    this.attach(path, { stat: this.mkStat(mode, 0, extra) });
  }
  /** A second name for an existing entry (same inodeKey). */
  addHardLink(path: string, existing: string): void {
    const e = this.get(existing);
    e.stat.nlink++;
    this.attach(path, e);
  }
  setXattrs(path: string, xattrs: Xattr[]): void {
    this.get(path).xattrs = xattrs;
  }

  private get(path: string): MemEntry {
    const e = this.entries.get(path);
    if (!e) throw new CakeError('ENOENT', 'source', `${path}: no such file`);
    return e;
  }

  lstat(path: string): SourceStat {
    return { ...this.get(path).stat };
  }
  readdir(path: string): string[] {
    return [...(this.get(path).children ?? [])];
  }
  readlink(path: string): string {
    return this.get(path).target ?? '';
  }
  xattrs(path: string): Xattr[] {
    return this.get(path).xattrs ?? [];
  }
  dataRuns(path: string): DataRun[] | undefined {
    return this.get(path).runs;
  }
  read(path: string, buf: Uint8Array, offset: number, length: number, position: number): number {
    const data = this.get(path).data ?? new Uint8Array(0);
    const n = Math.max(0, Math.min(length, data.length - position));
    buf.set(data.subarray(position, position + n), offset);
    return n;
  }
}
