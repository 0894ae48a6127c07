// Answers from apt's package lists, remembered while the lists stay the same. Asking apt
// (`apt-cache depends`, `apt-get download --print-uris`) costs about a second each, and a
// no-op build asked twice (the kernel, the busybox package) before deciding it had nothing
// to do. The answers depend only on apt's state: the lists in /var/lib/apt/lists and the
// configuration in /etc/apt (sources, pinning, apt.conf), and APT_CONFIG. A fingerprint of
// their names, sizes and mtimes keys the memo, so `apt-get update`, a new source or a pin
// makes apt be asked again. The memo is an optimisation: any fault reading or writing it
// means asking apt.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from './cache.js';

const LISTS = '/var/lib/apt/lists';
const CONFIG = '/etc/apt';
const MEMO = 'answers.json';

/** Names, sizes and mtimes under `dir` (one level below for directories), sorted. */
function stateOf(dir: string, depth = 2): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return [`${dir}: none`];
  }
  const out: string[] = [];
  for (const n of names) {
    if (n === 'lock' || n === 'partial') continue;
    const p = path.join(dir, n);
    try {
      const st = fs.statSync(p);
      out.push(`${p} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory() && depth > 1) out.push(...stateOf(p, depth - 1));
    } catch {
      out.push(`${p}: gone`);
    }
  }
  return out;
}

/** The fingerprint of apt's state that the answers depend on. */
export function aptFingerprint(): string {
  const h = createHash('sha256');
  for (const line of [...stateOf(LISTS), ...stateOf(CONFIG), `APT_CONFIG=${process.env.APT_CONFIG ?? ''}`]) h.update(`${line}\n`);
  if (process.env.APT_CONFIG) for (const line of stateOf(path.dirname(process.env.APT_CONFIG), 1)) h.update(`${line}\n`);
  return h.digest('hex');
}

interface Memo {
  fingerprint: string;
  answers: Record<string, unknown>;
}

let loaded: { file: string; memo: Memo } | null | undefined;

function load(): { file: string; memo: Memo } | null {
  if (loaded !== undefined) return loaded;
  try {
    const file = path.join(cacheDir('apt'), MEMO);
    const fingerprint = aptFingerprint();
    let memo: Memo = { fingerprint, answers: {} };
    try {
      const old = JSON.parse(fs.readFileSync(file, 'utf8')) as Memo;
      if (old.fingerprint === fingerprint && old.answers && typeof old.answers === 'object') memo = old;
    } catch {
      /* none yet, or unreadable: start afresh */
    }
    loaded = { file, memo };
  } catch {
    loaded = null; // no cache directory: no memo
  }
  return loaded;
}

function save(m: { file: string; memo: Memo }): void {
  const tmp = `${m.file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(m.memo), { flag: 'wx' });
    fs.renameSync(tmp, m.file);
  } catch {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* not there */
    }
  }
}

/** `ask()`'s answer for `key`, remembered while apt's state is the same. */
export async function aptAnswer<T>(key: string, ask: () => Promise<T>): Promise<T> {
  const m = load();
  if (m && Object.hasOwn(m.memo.answers, key)) return m.memo.answers[key] as T;
  const answer = await ask();
  if (m) {
    m.memo.answers[key] = answer;
    save(m);
  }
  return answer;
}
