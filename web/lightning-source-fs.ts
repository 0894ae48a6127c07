// A SourceFs over @isomorphic-git/lightning-fs (IndexedDB): the page's small overlay trees
// (/etc/hostname, /root/.ssh/authorized_keys) read like any directory source. lightning-fs
// keeps a type, permission bits, a size and an mtime that is the clock at each write; it
// has no owners (it says uid 1), no hard links, devices, xattrs or settable times. So the
// adapter gives every entry the owner it is told (default root), one time (SOURCE_DATE_EPOCH
// or 0, never the clock), no xattrs, and names sorted. Reads are whole-file in lightning-fs;
// the last file read is cached so chunked reads cost one IndexedDB read.
import type { SourceFs, SourceStat } from '../src/io/source-fs.js';
import { byteStringToBytes, textToByteString } from '../src/tree/names.js';
import type { Timestamp } from '../src/tree/node.js';
import { CakeError } from '../src/util/errors.js';

/** What the adapter uses of lightning-fs's `fs.promises`. */
export interface LightningPromises {
  lstat(path: string): Promise<{ type: 'file' | 'dir' | 'symlink'; mode: number; size: number; ino: number }>;
  readdir(path: string): Promise<string[]>;
  readlink(path: string): Promise<string>;
  readFile(path: string): Promise<Uint8Array | string>;
}

export interface LightningOptions {
  uid?: number;
  gid?: number;
  /** Every entry's time (seconds); lightning-fs's own are the clock. */
  time?: number;
}

/** lightning-fs names are text: a byte string's bytes read as UTF-8. */
const byteStringToText = (s: string): string => new TextDecoder().decode(byteStringToBytes(s));

const TYPE_BITS = { file: 0o100000, dir: 0o040000, symlink: 0o120000 } as const;

export class LightningSourceFs implements SourceFs {
  private cached: { path: string; data: Uint8Array } | null = null;
  private readonly t: Timestamp;

  constructor(private readonly fs: LightningPromises, private readonly root: string, private readonly opts: LightningOptions = {}) {
    this.t = { sec: opts.time ?? 0, nsec: 0 };
  }

  /** A SourceFs path (byte string, '' is the root) as a lightning-fs path. */
  private host(path: string): string {
    const rel = byteStringToText(path);
    return rel === '' ? this.root : `${this.root.replace(/\/$/, '')}/${rel}`;
  }

  private async call<T>(path: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'EIO';
      throw new CakeError(code, 'source', `${this.root}/${byteStringToText(path)}: ${code === 'ENOENT' ? 'no such file or directory' : code}`);
    }
  }

  async lstat(path: string): Promise<SourceStat> {
    const st = await this.call(path, () => this.fs.lstat(this.host(path)));
    const bits = TYPE_BITS[st.type];
    if (bits === undefined) throw new CakeError('EINVAL', 'source', `${this.root}/${byteStringToText(path)}: unknown lightning-fs type ${String(st.type)}`);
    const size = st.type === 'symlink' ? textToByteString(await this.readlinkText(path)).length : st.type === 'file' ? st.size : 0;
    return {
      // lightning-fs stores a symlink's mode as 0o120000: links are 0777, as on Linux.
      mode: bits | (st.type === 'symlink' ? 0o777 : st.mode & 0o7777), uid: this.opts.uid ?? 0, gid: this.opts.gid ?? 0, size, inodeKey: '', nlink: 1,
      rdevMajor: 0, rdevMinor: 0, mtime: this.t, atime: this.t, ctime: this.t,
    };
  }

  async readdir(path: string): Promise<string[]> {
    const names = await this.call(path, () => this.fs.readdir(this.host(path)));
    return names.map(textToByteString).sort();
  }

  private readlinkText(path: string): Promise<string> {
    return this.call(path, () => this.fs.readlink(this.host(path)));
  }

  async readlink(path: string): Promise<string> {
    return textToByteString(await this.readlinkText(path));
  }

  xattrs(): [] {
    return [];
  }

  async read(path: string, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    if (this.cached?.path !== path) {
      const d = await this.call(path, () => this.fs.readFile(this.host(path)));
      this.cached = { path, data: typeof d === 'string' ? new TextEncoder().encode(d) : d };
    }
    const data = this.cached.data;
    const n = Math.max(0, Math.min(length, data.length - position));
    buf.set(data.subarray(position, position + n), offset);
    return n;
  }

  closeFile(): void {
    this.cached = null;
  }
}
