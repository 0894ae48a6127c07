// rm -rf that also gets through directories left without write or search permission (a
// cook script may chmod 000 a directory; its owner can still undo that and remove it).
import * as fs from 'node:fs';

export function removeTree(path: string): void {
  try {
    fs.rmSync(path, { recursive: true, force: true });
    return;
  } catch {
    /* a directory we may not enter or change: make them ours, then try again */
  }
  const fix = (p: string): void => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    try {
      fs.chmodSync(p, 0o700);
      for (const n of fs.readdirSync(p)) fix(`${p}/${n}`);
    } catch {
      /* not ours to fix */
    }
  };
  fix(path);
  fs.rmSync(path, { recursive: true, force: true });
}
