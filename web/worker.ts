// The page's worker: the whole bake runs here (the page never freezes), the image goes to
// an OPFS file through a sync access handle (never whole in memory), then its sha256 is
// read back. Cancel is the page terminating this worker.
import { hashTree } from '../src/tree/hash.js';
import type { ByteFile } from '../src/io/byte-file.js';
import { MemorySourceFs } from '../src/io/memory-source-fs.js';
import { loadDirectory } from '../src/sources/directory.js';
import { walkTree } from '../src/tree/walk.js';
import { displayName } from '../src/tree/names.js';
import { createSHA256 } from 'hash-wasm';
import { sha256, sha256Hasher } from '../src/util/sha256.js';
import { cliCommand, errorLine, planWebBake, writeWebBake } from './bake.js';
import { layoutSummary } from './layout.js';
import { fileBytes } from '../src/bake/ext4/catalog.js';
import { OpfsBlockDevice, PIECE, imagePieces } from './opfs-device.js';
import type { BuildRequest, TreeRow, WorkerMessage } from './protocol.js';
import { registerBrowserDecoders, xzWhole } from './xz.js';
import { LightningSourceFs } from './lightning-source-fs.js';
import { OVERLAY, WORKSPACE } from './workspace.js';
import { parseOwner } from '../src/tree/transforms.js';
import { CorruptInputError, InvalidOptionError } from '../src/util/errors.js';
import type { BlockDecoder } from './xz-blocks.js';

const post = (m: WorkerMessage) => (self as unknown as Worker).postMessage(m);

/** A picked File as a ByteFile: slices read on demand. */
function fileOf(f: File): ByteFile {
  return {
    label: f.name,
    size: f.size,
    read: async (offset, length) => new Uint8Array(await f.slice(offset, Math.min(f.size, offset + length)).arrayBuffer()),
    async *stream(start, end) {
      for (let at = start; at < end; at += 4 << 20) yield new Uint8Array(await f.slice(at, Math.min(end, at + (4 << 20))).arrayBuffer());
    },
  };
}

function modeString(kind: string, perm: number): string {
  const t = { file: '-', dir: 'd', symlink: 'l', chardev: 'c', blockdev: 'b', fifo: 'p', socket: 's' }[kind] ?? '?';
  const r = 'rwxrwxrwx'.split('').map((c, i) => (perm & (0o400 >> i) ? c : '-'));
  if (perm & 0o4000) r[2] = r[2] === 'x' ? 's' : 'S';
  if (perm & 0o2000) r[5] = r[5] === 'x' ? 's' : 'S';
  if (perm & 0o1000) r[8] = r[8] === 'x' ? 't' : 'T';
  return t + r.join('');
}

const MAX_ROWS = 3000;

/** Workers decoding xz blocks, one per core beyond this one (at least two). */
function blockDecoders(): { decoders: BlockDecoder[]; close(): void } {
  const n = Math.max(2, Math.min(4, (navigator.hardwareConcurrency || 2) - 0));
  const workers = Array.from({ length: n }, () => new Worker(new URL('./xz-worker.js', import.meta.url), { type: 'module' }));
  const waiting = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
  let ids = 0;
  for (const w of workers) {
    w.onmessage = (ev: MessageEvent<{ id: number; out?: Uint8Array; error?: string }>) => {
      const p = waiting.get(ev.data.id);
      waiting.delete(ev.data.id);
      if (ev.data.out) p?.resolve(ev.data.out);
      else p?.reject(new CorruptInputError('xz', ev.data.error ?? 'decoder failed'));
    };
  }
  const decoders = workers.map((w): BlockDecoder => (stream) => new Promise((resolve, reject) => {
    const id = ids++;
    waiting.set(id, { resolve, reject });
    w.postMessage({ id, stream }, [stream.buffer]);
  }));
  return { decoders, close: () => workers.forEach((w) => w.terminate()) };
}

async function build(req: BuildRequest): Promise<void> {
  registerBrowserDecoders();
  const xz = blockDecoders();
  try {
    await buildWith(req, xz.decoders);
  } finally {
    xz.close();
  }
}

async function buildWith(req: BuildRequest, decoders: BlockDecoder[]): Promise<void> {
  const p = await planWebBake({
    blockDecoders: decoders,
    rootfs: fileOf(req.rootfs), kernel: req.kernel.map(fileOf), syslinux: req.syslinux.map(fileOf), busybox: req.busybox && fileOf(req.busybox),
    modules: req.modules, options: req.options, size: req.size, uuid: req.uuid, sourceDateEpoch: req.sourceDateEpoch, lenient: req.lenient,
    xzDecompress: xzWhole, onPhase: (phase, done, total) => post({ type: 'progress', phase, done, total }),
    overlay: req.overlayOwner ? (time) => loadOverlay(req.overlayOwner!, time) : undefined,
  });
  const rows: TreeRow[] = [];
  let total = 0;
  for (const e of walkTree(p.loaded.tree.root)) {
    const n = e.node;
    total++;
    if (rows.length >= MAX_ROWS) continue;
    const warn = n.kind === 'file' && n.perm & 0o6000 ? (n.perm & 0o4000 ? 'setuid' : 'setgid') : n.kind === 'symlink' && n.target.startsWith('/') ? 'absolute link' : e.path.some((x) => x.length > 255) ? 'name over 255 bytes' : undefined;
    rows.push({ path: `/${e.path.map(displayName).join('/')}`, mode: modeString(n.kind, n.perm), owner: `${n.uid}:${n.gid}`, size: n.kind === 'file' ? n.size : 0, target: n.kind === 'symlink' ? displayName(n.target) : undefined, warn });
  }
  post({ type: 'tree', rows, total, warnings: p.warnings });
  post({ type: 'layout', layout: layoutSummary(p.plan) });
  const command = cliCommand({ rootfs: req.rootfs.name, kernel: req.kernel.map((f) => f.name), syslinux: req.syslinux.map((f) => f.name), modules: req.modules, options: req.options, size: req.size, uuid: req.uuid, sourceDateEpoch: req.sourceDateEpoch, busybox: p.busybox.startsWith("the rootfs's") ? undefined : req.busybox?.name });
  const notes = [...p.built.notes, `busybox: ${p.busybox}`, `syslinux: ${p.syslinux}`, `modules in load order: ${p.built.loadOrder.map((x) => x.slice(x.lastIndexOf('/') + 1)).join(' ') || '(none)'}`];
  const dir = await navigator.storage.getDirectory();
  if (req.output === 'initrd') {
    const dev = await OpfsBlockDevice.create(dir, req.target, p.initrd.length, navigator.storage);
    await dev.writeAt(0, p.initrd);
    dev.close();
    await p.loaded.content.close();
    post({ type: 'done', file: req.target, name: 'initrd.gz', offset: 0, bytes: p.initrd.length, sha256: sha256().update(p.initrd).hex(), command: command.replace(' bake ', ' bake ') + '   # then: the initrd is /boot/initrd of this disk', uuid: p.uuid, notes });
    return;
  }
  const dev = await OpfsBlockDevice.create(dir, req.target, p.plan.diskBytes, navigator.storage);
  const totalBytes = fileBytes(p.plan.root.fs.catalog);
  post({ type: 'progress', phase: 'writing the disk', done: 0, total: totalBytes });
  let shown = 0;
  await writeWebBake(p, dev, {
    onProgress: (n) => {
      if (n - shown >= 1 << 20) post({ type: 'progress', phase: 'writing the disk', done: (shown = n), total: totalBytes });
    },
  });
  // The download is offered as soon as the image is complete; the proof, sha256 of what is
  // in OPFS read back (the whole disk, or the partition), follows: hashing a 1 GiB disk
  // took as long as writing it, and the user need not wait for it to download.
  const offset = req.output === 'ext4' ? 1 << 20 : 0;
  const written = dev.writtenRanges();
  const size = dev.size;
  dev.close();
  post({ type: 'done', file: req.target, name: req.output === 'ext4' ? 'root.ext4' : 'disk.img', offset, bytes: size - offset, command, uuid: p.uuid, notes });
  const file = await (await dir.getFileHandle(req.target)).getFile();
  // hash-wasm: about ten times @noble/hashes's speed, which matters for a GiB of image.
  const h = await createSHA256();
  h.init();
  const zeros = new Uint8Array(PIECE);
  let hashed = 0;
  for (const piece of imagePieces(written, size, offset)) {
    h.update(piece.zero ? zeros.subarray(0, piece.length) : new Uint8Array(await file.slice(piece.at, piece.at + piece.length).arrayBuffer()));
    if ((hashed += piece.length) % (64 << 20) < piece.length) post({ type: 'progress', phase: 'sha256', done: hashed, total: size - offset });
  }
  post({ type: 'sha256', sha256: h.digest('hex') });
}

/** The workspace's overlay tree through the lightning-fs SourceFs adapter. */
async function loadOverlay(owner: string, time: number) {
  const o = parseOwner(owner);
  if (!o) throw new InvalidOptionError('overlay owner', `expected UID:GID, not ${JSON.stringify(owner)}`);
  const FS = (await import('@isomorphic-git/lightning-fs')).default;
  const lfs = new FS(WORKSPACE);
  const loaded = await loadDirectory(new LightningSourceFs(lfs.promises, OVERLAY, { uid: o.uid, gid: o.gid, time }), { label: 'overlay' });
  loaded.warnings.push(`overlay: lightning-fs keeps no owners, times or xattrs: its entries are ${o.uid}:${o.gid}, dated ${new Date(time * 1000).toISOString()}, without xattrs`);
  return loaded;
}

/** Checks the browser's own backends (the e2e test asks): OPFS device round trip, lightning-fs adapter against memory. */
async function selftest(): Promise<void> {
  const results: Record<string, string> = {};
  try {
    const dir = await navigator.storage.getDirectory();
    const dev = await OpfsBlockDevice.create(dir, 'cake-selftest.img', 3 << 20);
    const data = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff);
    await dev.writeAt(1_000_000, data);
    const back = await dev.readAt(999_000, 202_000);
    const ok = back.subarray(1000, 201_000).every((b, i) => b === data[i]) && back.subarray(0, 1000).every((b) => b === 0) && back.subarray(201_000).every((b) => b === 0);
    dev.close();
    await dir.removeEntry('cake-selftest.img');
    results.opfs = ok ? 'ok' : 'mismatch';
  } catch (e) {
    results.opfs = String(e);
  }
  try {
    const FS = (await import('@isomorphic-git/lightning-fs')).default;
    const lfs = new FS('cake-selftest', { wipe: true });
    const p = lfs.promises;
    const mem = new MemorySourceFs();
    await p.mkdir('/o', { mode: 0o755 });
    await p.mkdir('/o/etc', { mode: 0o755 });
    mem.addDir('etc', { mode: 0o040755 });
    await p.writeFile('/o/etc/hostname', 'cake\n', { mode: 0o644 });
    mem.addFile('etc/hostname', new TextEncoder().encode('cake\n'), { mode: 0o100644 });
    await p.mkdir('/o/root', { mode: 0o700 });
    mem.addDir('root', { mode: 0o040700 });
    await p.writeFile('/o/root/caf\u00e9', new Uint8Array([1, 2, 3]), { mode: 0o600 });
    mem.addFile('root/caf\u00c3\u00a9', new Uint8Array([1, 2, 3]), { mode: 0o100600 });
    await p.symlink('/etc/hostname', '/o/root/link');
    mem.addSymlink('root/link', '/etc/hostname', { mode: 0o120777 });
    const a = await loadDirectory(new LightningSourceFs(p, '/o'));
    const b = await loadDirectory(mem);
    const [ha, hb] = [await hashTree(a.tree, a.content, sha256Hasher), await hashTree(b.tree, b.content, sha256Hasher)];
    results.lightningfs = ha === hb ? 'ok' : `${ha} != ${hb}`;
  } catch (e) {
    results.lightningfs = String(e);
  }
  post({ type: 'selftest', results });
}

self.onmessage = (ev: MessageEvent<BuildRequest | { type: 'selftest' }>) => {
  const m = ev.data;
  if (m.type === 'selftest') void selftest();
  else build(m).catch((e) => post({ type: 'error', line: errorLine(e) }));
};
