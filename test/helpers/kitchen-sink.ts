// A tree with every inode kind and metadata corner, as an in-memory directory source.
import { MemorySourceFs } from '../../src/io/memory-source-fs.js';
import { textToByteString } from '../../src/tree/names.js';

const enc = new TextEncoder();

export function vfsAcl(entries: [tag: number, perm: number, id: number][]): Uint8Array {
  const b = Buffer.alloc(4 + entries.length * 8);
  b.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm, id], i) => {
    b.writeUInt16LE(tag, 4 + i * 8);
    b.writeUInt16LE(perm, 6 + i * 8);
    b.writeUInt32LE(id, 8 + i * 8);
  });
  return b;
}

export function kitchenSink(): MemorySourceFs {
  const m = new MemorySourceFs();
  const t = (sec: number, nsec = 0) => ({ mtime: { sec, nsec }, atime: { sec, nsec }, ctime: { sec, nsec } });
  m.addDir('etc', { uid: 0, gid: 0, ...t(1_600_000_000, 123_456_789) });
  m.addFile('etc/hostname', enc.encode('cake\n'), { mode: 0o100644, ...t(1_600_000_001, 1) });
  m.addFile('etc/shadow', enc.encode('root:*:1:0:99999:7:::\n'), { mode: 0o100640, gid: 42 });
  m.addHardLink('etc/shadow-link', 'etc/shadow');
  m.addHardLink('shadow-again', 'etc/shadow');
  m.addFile('setuid', enc.encode('#!/bin/sh\n'), { mode: 0o104755 });
  m.addFile('sticky-setgid', new Uint8Array(0), { mode: 0o102750 });
  m.addDir('tmp', { mode: 0o041777 });
  m.addFile('bighid', enc.encode('x'), { uid: 4_000_000_000, gid: 70_000 });
  m.addFile('old', enc.encode('1969'), t(-86_400 * 365, 999_999_999));
  m.addFile('future', enc.encode('2100'), t(4_102_444_800, 5));
  m.addFile('far-future', enc.encode('2400'), t(13_569_465_600, 7));
  m.addSymlink('fast', 'etc/hostname');
  m.addSymlink('slow', 'x'.repeat(300) + '/target');
  m.addSymlink('longest', 'y'.repeat(4095));
  m.addNode('null', 0o020666, { rdevMajor: 1, rdevMinor: 3 });
  m.addNode('sda', 0o060660, { rdevMajor: 8, rdevMinor: 0, gid: 6 });
  m.addNode('bigdev', 0o020600, { rdevMajor: 300, rdevMinor: 70_000 });
  m.addNode('fifo', 0o010644);
  m.addNode('sock', 0o140755);
  m.addFile('xattrs', enc.encode('attrs'));
  m.setXattrs('xattrs', [
    { name: 'user.small', value: enc.encode('v') },
    { name: 'user.binary', value: new Uint8Array([0, 1, 2, 255, 0x22, 0x5c]) },
    { name: 'security.capability', value: new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) },
    { name: 'trusted.big', value: new Uint8Array(1500).fill(0x41) },
    { name: 'system.posix_acl_access', value: vfsAcl([[1, 7, 0xffffffff], [2, 5, 1000], [4, 5, 0xffffffff], [0x10, 5, 0xffffffff], [0x20, 4, 0xffffffff]]) },
  ]);
  m.addDir('empty');
  m.addFile(textToByteString('utf8-日本語-ü'), enc.encode('unicode name'));
  m.addFile('\xff\xfe-not-utf8', enc.encode('latin1 name bytes'));
  m.addFile(textToByteString('名'.repeat(85)), enc.encode('255 bytes of name'));
  m.addFile('holes', (() => { const b = new Uint8Array(5 * 4096 + 100); b.fill(7, 4096, 8192); b.fill(9, 5 * 4096); return b; })(), {},
    [{ offset: 4096, length: 4096 }, { offset: 5 * 4096, length: 100 }]);
  m.addFile('unaligned-runs', (() => { const b = new Uint8Array(3 * 4096); b.fill(1, 10, 20); b.fill(2, 100, 200); b.fill(3, 9000, 9001); return b; })(), {},
    [{ offset: 10, length: 10 }, { offset: 100, length: 100 }, { offset: 9000, length: 1 }]);
  return m;
}

