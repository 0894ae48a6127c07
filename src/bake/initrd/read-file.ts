// Whole-file reads through a SourceFs (small files: module indexes, .ko files, busybox).
import type { SourceFs } from '../../io/source-fs.js';

export async function readWhole(fs: SourceFs, path: string): Promise<Uint8Array> {
  const st = await fs.lstat(path);
  const buf = new Uint8Array(st.size);
  let done = 0;
  while (done < st.size) {
    const n = await fs.read(path, buf, done, st.size - done, done);
    if (n <= 0) break;
    done += n;
  }
  (fs as { closeFile?: () => void }).closeFile?.();
  return done === st.size ? buf : buf.subarray(0, done);
}

export async function readText(fs: SourceFs, path: string): Promise<string> {
  return new TextDecoder().decode(await readWhole(fs, path));
}

export async function exists(fs: SourceFs, path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch {
    return false;
  }
}
