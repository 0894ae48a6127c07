// A synthetic tree of many small files, for measuring mkfs memory per inode (issue 16):
// DIRS directories of FILES files each, every file ~100 bytes of distinct text.
//   node bench/many-files.mjs /tmp/tree300k 300 1000
// Writes with one reused buffer and plain sync calls: 1,000,000 files take a minute or so.
import * as fs from 'node:fs';
import * as path from 'node:path';

const [root, dirsArg = '300', filesArg = '1000'] = process.argv.slice(2);
if (!root) {
  console.error('usage: node bench/many-files.mjs DIR [DIRS=300] [FILES_PER_DIR=1000]');
  process.exit(2);
}
const dirs = Number(dirsArg);
const files = Number(filesArg);
fs.mkdirSync(root, { recursive: true });
for (let d = 0; d < dirs; d++) {
  const dir = path.join(root, `d${String(d).padStart(4, '0')}`);
  fs.mkdirSync(dir, { recursive: true });
  for (let f = 0; f < files; f++) {
    const body = `file ${d}/${f}: ${'x'.repeat(70 + ((d * 7 + f) % 30))}\n`;
    fs.writeFileSync(path.join(dir, `f${String(f).padStart(5, '0')}.txt`), body);
  }
}
console.log(`${root}: ${dirs} dirs × ${files} files`);
