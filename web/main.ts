// The page: inputs (kept in the lightning-fs workspace), options, Build and Cancel, and
// what the worker reports: progress with an ETA, the rootfs tree with warnings, the disk
// layout, the download (from OPFS, never through memory) with its sha256 and the
// equivalent CLI command, or the CLI's one error line.
import type { LayoutSummary } from './layout.js';
import type { BuildRequest, Output, TreeRow, WorkerMessage } from './protocol.js';
import { FIELDS, type Field, Workspace } from './workspace.js';

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const form = $<HTMLFormElement>('#form');
const input = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
const workspace = new Workspace();
const kept: Partial<Record<Field, File[]>> = {};
let worker: Worker | null = null;
let built = 0;

function filesOf(field: Field): File[] {
  const picked = input(field).files;
  return picked && picked.length ? [...picked] : kept[field] ?? [];
}

function showKept(): void {
  const parts = FIELDS.filter((f) => kept[f]?.length).map((f) => `${f}: ${kept[f]!.map((x) => x.name).join(', ')}`);
  $('#kept').textContent = parts.length ? `Kept from before (used when nothing new is picked): ${parts.join('; ')}` : '';
}

async function restore(): Promise<void> {
  for (const f of FIELDS) kept[f] = await workspace.kept(f).catch(() => []);
  showKept();
}

// Keeping a pick in IndexedDB copies the file (a kernel package is 70 MB, a rootfs can be
// hundreds): it waits until the page is idle, so it never competes with a build for the CPU.
const pendingKeeps = new Map<Field, File[]>();
let building = false;
let keepTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleKeeps(): void {
  clearTimeout(keepTimer);
  keepTimer = setTimeout(() => void runKeeps(), 1500);
}
async function runKeeps(): Promise<void> {
  for (const [f, files] of pendingKeeps) {
    if (building) return;
    pendingKeeps.delete(f);
    await workspace.keep(f, files).catch((e) => console.warn('workspace:', e));
  }
  document.body.dataset.kept = String(pendingKeeps.size === 0);
}

for (const f of FIELDS) {
  input(f).addEventListener('change', () => {
    const files = [...(input(f).files ?? [])];
    kept[f] = files;
    showKept();
    pendingKeeps.set(f, files);
    document.body.dataset.kept = 'false';
    scheduleKeeps();
  });
}

$('#forget').addEventListener('click', async () => {
  await workspace.forget();
  for (const f of FIELDS) kept[f] = [];
  showKept();
  await showOverlay();
});

let overlayCount = 0;
async function showOverlay(): Promise<void> {
  const files = await workspace.overlayFiles().catch(() => []);
  overlayCount = files.length;
  $('#overlay-note').hidden = !files.length;
  $('#overlay-list').replaceChildren(...files.map((f) => {
    const li = document.createElement('li');
    const rm = Object.assign(document.createElement('button'), { type: 'button', textContent: 'remove' });
    rm.addEventListener('click', () => void workspace.overlayRemove(f.path).then(showOverlay));
    li.append(`${f.path} (${f.size} bytes, mode ${(f.mode & 0o7777).toString(8)}) `, rm);
    return li;
  }));
}

$('#overlay-add').addEventListener('click', async () => {
  const path = input('overlay-path').value.trim();
  const picked = input('overlay-file').files?.[0];
  const data = picked ? new Uint8Array(await picked.arrayBuffer()) : new TextEncoder().encode((form.elements.namedItem('overlay-content') as HTMLTextAreaElement).value);
  const mode = parseInt(input('overlay-mode').value, 8);
  try {
    if (!path.startsWith('/') || !(mode >= 0 && mode <= 0o7777)) throw new Error('give an absolute path and an octal mode');
    await workspace.overlayAdd(path, data, mode);
    await showOverlay();
  } catch (e) {
    fail(`cake-img: error: overlay: ${(e as Error).message}`);
  }
});

$('#copy-qemu').addEventListener('click', () => void navigator.clipboard?.writeText($('#qemu').textContent ?? ''));

function fmtBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) (n /= 1024), i++;
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

let phaseStart = 0;
let lastPhase = '';
/** When each phase began (ms since Build), kept on the body for benchmarks. */
let phaseLog: [string, number][] = [];
let buildStart = 0;
function progress(phase: string, done?: number, total?: number): void {
  if (phase !== lastPhase) {
    lastPhase = phase;
    phaseStart = performance.now();
    phaseLog.push([phase, Math.round(phaseStart - buildStart)]);
    document.body.dataset.phases = JSON.stringify(phaseLog);
  }
  $('#phase').textContent = done !== undefined ? `${phase}: ${fmtBytes(done)}${total ? ` of ${fmtBytes(total)}` : ''}` : phase;
  const bar = $<HTMLProgressElement>('#bar');
  if (done !== undefined && total) {
    bar.value = done / total;
    const secs = (performance.now() - phaseStart) / 1000;
    $('#eta').textContent = done > 0 && secs > 1 ? `about ${Math.max(0, Math.round((secs * (total - done)) / done))} s left` : '';
  } else {
    bar.removeAttribute('value');
    $('#eta').textContent = '';
  }
}

function showTree(rows: TreeRow[], total: number, warnings: string[]): void {
  $('#tree-section').hidden = false;
  $('#tree-count').textContent = `(${total} entries${rows.length < total ? `, first ${rows.length} shown` : ''})`;
  const w = $('#warnings');
  w.replaceChildren(...warnings.map((x) => Object.assign(document.createElement('li'), { textContent: x })));
  const body = $('#tree tbody');
  body.replaceChildren(...rows.map((r) => {
    const tr = document.createElement('tr');
    if (r.warn) (tr.className = 'warn'), (tr.title = r.warn);
    for (const c of [r.mode, r.owner, String(r.size), r.target ? `${r.path} -> ${r.target}` : r.path]) tr.append(Object.assign(document.createElement('td'), { textContent: c }));
    return tr;
  }));
}

const COLORS: Record<string, string> = { '/boot/vmlinux': '#b4552d', '/boot/initrd': '#2d6cb4', '/boot/ldlinux.sys': '#2da05a', '/boot/ldlinux.c32': '#8a2db4' };

function showLayout(l: LayoutSummary): void {
  $('#layout-section').hidden = false;
  const svg = $('#layout');
  const ns = 'http://www.w3.org/2000/svg';
  const W = 940;
  const el = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text) e.textContent = text;
    return e;
  };
  const parts: Element[] = [];
  const toX = (byte: number) => 10 + (byte / l.diskBytes) * W;
  parts.push(el('rect', { x: 10, y: 10, width: toX(l.partitionStart) - 10, height: 30, fill: '#999' }), el('text', { x: 12, y: 55, 'font-size': 11 }, 'MBR + gap'));
  for (const g of l.groups) {
    const x = toX(l.partitionStart + g.start * l.blockSize);
    const w = (g.blocks * l.blockSize / l.diskBytes) * W;
    parts.push(el('rect', { x, y: 10, width: Math.max(1, w - 1), height: 30, fill: g.superblock ? '#d9c7b0' : '#eadfd2' }));
    if (g.superblock) parts.push(el('rect', { x, y: 10, width: 2, height: 30, fill: '#4a2c2a' }));
  }
  let ly = 70;
  for (const f of l.files) {
    for (const [start, len] of f.runs) parts.push(el('rect', { x: toX(l.partitionStart + start * l.blockSize), y: 10, width: Math.max(2, (len * l.blockSize / l.diskBytes) * W), height: 30, fill: COLORS[f.path] ?? '#000' }));
    parts.push(el('rect', { x: 10, y: ly - 9, width: 10, height: 10, fill: COLORS[f.path] ?? '#000' }), el('text', { x: 25, y: ly, 'font-size': 11 }, f.path));
    ly += 14;
    if (ly > 115) ly = 70;
  }
  svg.replaceChildren(...parts);
  const holds = (g: LayoutSummary['groups'][number]) => l.files.filter((f) => f.runs.some(([s, n]) => s < g.start + g.blocks && s + n > g.start)).map((f) => f.path).join(', ');
  $('#groups tbody').replaceChildren(...l.groups.map((g) => {
    const tr = document.createElement('tr');
    for (const c of [String(g.index), `${g.start}-${g.start + g.blocks - 1}`, g.superblock ? (g.index ? 'backup' : 'primary') : '', String(g.freeBlocks), holds(g)]) tr.append(Object.assign(document.createElement('td'), { textContent: c }));
    return tr;
  }));
}

async function showResult(m: Extract<WorkerMessage, { type: 'done' }>): Promise<void> {
  // Before any await: the 'sha256' message may come while the download is being set up.
  if (m.sha256) showSha256(m.sha256);
  else {
    // The worker is still reading the image back to hash it; the download need not wait.
    $('#sha256').textContent = 'computing…';
    delete $('#sha256').dataset.sha256;
  }
  const file = await (await (await navigator.storage.getDirectory()).getFileHandle(m.file)).getFile();
  const blob = m.offset ? file.slice(m.offset) : file;
  const a = $<HTMLAnchorElement>('#download');
  if (a.href.startsWith('blob:')) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(blob);
  a.download = m.name;
  a.textContent = `download ${m.name}`;
  $('#size').textContent = `${fmtBytes(m.bytes)}, root UUID ${m.uuid}`;
  $('#command').textContent = m.command;
  $('#qemu').textContent = `qemu-system-x86_64 -m 512 -drive file=${m.name},format=raw -nographic`;
  $('#notes').replaceChildren(...m.notes.map((n) => Object.assign(document.createElement('li'), { textContent: n })));
  $('#result').hidden = false;
}

function showSha256(hex: string): void {
  const sha = $('#sha256');
  sha.textContent = hex;
  sha.dataset.sha256 = hex;
}

function finish(): void {
  building = false;
  scheduleKeeps();
  $<HTMLButtonElement>('#build').disabled = false;
  $<HTMLButtonElement>('#cancel').disabled = true;
  $('#progress').hidden = true;
}

function fail(line: string): void {
  const e = $('#error');
  e.textContent = line;
  e.hidden = false;
  finish();
}

async function cleanOpfs(): Promise<void> {
  const dir = await navigator.storage.getDirectory();
  for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) {
    if (name.startsWith('cake-output-')) await dir.removeEntry(name).catch(() => {});
  }
}

$('#build').addEventListener('click', async () => {
  $('#error').hidden = true;
  $('#result').hidden = true;
  const rootfs = filesOf('rootfs')[0];
  if (!rootfs) return fail('cake-img: error: --rootfs: pick a rootfs tarball');
  const epoch = input('epoch').value.trim();
  if (epoch && !/^\d{1,15}$/.test(epoch)) return fail(`cake-img: error: SOURCE_DATE_EPOCH: must be a whole number of seconds (at most 15 digits), not ${JSON.stringify(epoch)}`);
  worker?.terminate();
  await cleanOpfs().catch(() => {});
  const req: BuildRequest = {
    type: 'build', rootfs, kernel: filesOf('kernel'), syslinux: filesOf('syslinux'), busybox: filesOf('busybox')[0],
    size: input('size').value.trim() || 'auto', options: input('options').value, modules: input('modules').value.split(',').map((s) => s.trim()).filter(Boolean),
    uuid: input('uuid').value.trim() || undefined, sourceDateEpoch: epoch ? Number(epoch) : undefined, lenient: input('lenient').checked,
    output: (form.elements.namedItem('output') as HTMLSelectElement).value as Output, target: `cake-output-${++built}.img`,
    overlayOwner: overlayCount ? input('overlay-owner').value.trim() : undefined,
  };
  building = true;
  $<HTMLButtonElement>('#build').disabled = true;
  $<HTMLButtonElement>('#cancel').disabled = false;
  $('#progress').hidden = false;
  phaseLog = [];
  buildStart = performance.now();
  progress('starting');
  const started = buildStart;
  const me = new Worker('worker.js', { type: 'module' });
  worker = me;
  worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
    const m = ev.data;
    if (worker !== me) return; // a build since replaced (its worker terminated)
    if (m.type === 'progress') progress(m.phase, m.done, m.total);
    else if (m.type === 'tree') showTree(m.rows, m.total, m.warnings);
    else if (m.type === 'layout') showLayout(m.layout);
    else if (m.type === 'error') fail(m.line);
    else if (m.type === 'done') {
      document.body.dataset.buildMs = String(Math.round(performance.now() - started));
      void showResult(m).then(finish, (e) => fail(String(e)));
    } else if (m.type === 'sha256') {
      document.body.dataset.sha256Ms = String(Math.round(performance.now() - started));
      showSha256(m.sha256);
    }
  };
  worker.onerror = (e) => fail(`cake-img: internal error: ${e.message}`);
  worker.postMessage(req);
});

$('#cancel').addEventListener('click', () => {
  worker?.terminate();
  worker = null;
  fail('cancelled');
});

/** For the tests: the worker's own check of its backends (OPFS, lightning-fs). */
(window as unknown as { cakeSelfTest: () => Promise<Record<string, string>> }).cakeSelfTest = () =>
  new Promise((resolve) => {
    const w = new Worker('worker.js', { type: 'module' });
    w.onmessage = (ev: MessageEvent<WorkerMessage>) => {
      if (ev.data.type === 'selftest') {
        resolve(ev.data.results);
        w.terminate();
      }
    };
    w.postMessage({ type: 'selftest' });
  });

void restore();
void showOverlay();
