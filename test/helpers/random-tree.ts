// fast-check arbitrary for whole source trees: every inode kind, hard links, sparse
// files, xattrs, odd modes, large owners, times before 1970 and after 2038.
import fc from 'fast-check';
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { textToByteString } from '../../src/tree/names.js';

const nameChar = fc.constantFrom(...'abcxyz019_-.', 'é', '日', 'ß');
const name = fc.array(nameChar, { minLength: 1, maxLength: 24 }).map((a) => textToByteString(a.join(''))).filter((n) => n !== '.' && n !== '..' && n !== 'lost+found');
const time = fc.record({ sec: fc.integer({ min: -(2 ** 31), max: 2 ** 33 }), nsec: fc.integer({ min: 0, max: 999_999_999 }) });
const owner = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 70_000 }), fc.integer({ min: 0, max: 2 ** 32 - 2 }));
const xattrs = fc.uniqueArray(
  fc.record({ name: fc.stringMatching(/^[a-z]{1,12}$/).map((n) => `user.${n}`), value: fc.uint8Array({ maxLength: 120 }) }),
  { maxLength: 4, selector: (x) => x.name },
);

const op = fc.record({
  kind: fc.constantFrom('dir', 'dir', 'file', 'file', 'file', 'sparse', 'symlink', 'chardev', 'blockdev', 'fifo', 'socket', 'link'),
  parent: fc.nat(),
  name,
  perm: fc.integer({ min: 0, max: 0o7777 }),
  uid: owner,
  gid: owner,
  time,
  size: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 20_000 })),
  seed: fc.nat(255),
  target: fc.oneof(fc.stringMatching(/^[a-z/.]{1,58}$/), fc.stringMatching(/^[a-z/]{60,300}$/)),
  major: fc.integer({ min: 0, max: 4095 }),
  minor: fc.integer({ min: 0, max: 2 ** 20 - 1 }),
  linkTo: fc.nat(),
  xattrs,
});

export const randomTree = fc.array(op, { minLength: 1, maxLength: 40 }).map((ops) => {
  const m = new MemorySourceFs();
  const dirs = [''];
  const files: string[] = [];
  const taken = new Set<string>();
  for (const o of ops) {
    const parent = dirs[o.parent % dirs.length]!;
    const path = parent ? `${parent}/${o.name}` : o.name;
    if (taken.has(path)) continue;
    const meta = { mode: 0, uid: o.uid, gid: o.gid, mtime: o.time, atime: o.time, ctime: o.time };
    const setMode = (type: number) => ({ ...meta, mode: type | o.perm });
    switch (o.kind) {
      case 'dir': m.addDir(path, setMode(0o040000)); dirs.push(path); break;
      case 'file': {
        const data = new Uint8Array(o.size).map((_, i) => (i * 31 + o.seed) & 0xff);
        m.addFile(path, data, setMode(0o100000));
        files.push(path);
        break;
      }
      case 'sparse': {
        // Data, a hole of several blocks, data again, a trailing hole.
        const size = 40_000 + o.size;
        const data = new Uint8Array(size);
        data.fill(o.seed | 1, 0, 100);
        data.fill(7, 20_000, 20_000 + (o.size % 5000) + 1);
        m.addFile(path, data, setMode(0o100000), [{ offset: 0, length: 100 }, { offset: 20_000, length: (o.size % 5000) + 1 }]);
        files.push(path);
        break;
      }
      case 'symlink': m.addSymlink(path, o.target, { ...meta, mode: 0o120777 }); break;
      case 'chardev': m.addNode(path, 0o020000 | o.perm, { ...meta, mode: 0o020000 | o.perm, rdevMajor: o.major, rdevMinor: o.minor }); break;
      case 'blockdev': m.addNode(path, 0o060000 | o.perm, { ...meta, mode: 0o060000 | o.perm, rdevMajor: o.major, rdevMinor: o.minor }); break;
      case 'fifo': m.addNode(path, 0o010000 | o.perm, { ...meta, mode: 0o010000 | o.perm }); break;
      case 'socket': m.addNode(path, 0o140000 | o.perm, { ...meta, mode: 0o140000 | o.perm }); break;
      case 'link':
        if (!files.length) continue;
        m.addHardLink(path, files[o.linkTo % files.length]!);
        break;
    }
    taken.add(path);
    // Linux allows user.* only on files and directories (the kernel hides it elsewhere);
    // special files get trusted.* so the kernel oracle can see them too.
    const special = ['chardev', 'blockdev', 'fifo', 'socket'].includes(o.kind);
    if (o.kind !== 'link' && o.kind !== 'symlink') {
      m.setXattrs(path, special ? o.xattrs.map((x) => ({ name: x.name.replace(/^user\./, 'trusted.'), value: x.value })) : o.xattrs);
    }
  }
  return m;
});
