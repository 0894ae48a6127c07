// What a run starts must end with it: every child process (in a process group of its own,
// so what it starts ends too) and every temporary file or directory. Three ways out:
// - the normal end: `settle()` ends any helper still running and waits for it, so no
//   process of ours is left when the command returns;
// - a catchable signal (SIGINT, SIGTERM, SIGHUP): the CLI's handler (installSignalHandlers)
//   kills every tracked process group and removes every temp synchronously, then exits
//   with 128+N;
// - SIGKILL, which no process can catch: a small guardian process (perl, Essential on
//   Debian-family hosts) is told every group and temp as they come and go, notices when
//   our end of its pipe closes, and kills and removes what is left. Best effort: without
//   perl there is no guardian (and `store gc` still clears stale build directories).
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { InterruptedError } from '../util/errors.js';
import { removeTree } from '../util/remove-tree.js';

interface Tracked {
  /** Killed as a process group (spawned detached), or alone (it shares our terminal). */
  group: boolean;
  exited: Promise<void>;
}

const children = new Map<ChildProcess, Tracked>();
const temps = new Set<string>();
let stopping = false;
/** A child owns the terminal (an interactive shell): the keyboard's SIGINT and SIGQUIT are its, not ours. */
let foreground = 0;

// --- the guardian -------------------------------------------------------------------------

// Commands on stdin, one per line: "+g PGID", "-g PGID", "+p PID", "-p PID", "+t HEX",
// "-t HEX" (a path, hex so any byte survives), "bye" (exit at once). At end of input
// without "bye", our process is gone: kill and remove what is registered. (A normal end
// kills the guardian instead: there is nothing left for it to do.)
// File::Path loads only when it is needed: a cold perl should start in no time.
const GUARDIAN = String.raw`
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = $SIG{PIPE} = 'IGNORE';
my (%g, %p, %t);
while (my $l = <STDIN>) {
  chomp $l;
  if ($l eq 'bye') { exit 0; }
  my ($op, $a) = $l =~ /^([-+][gpt]) (\S+)$/ or next;
  my $k = substr($op, 1);
  my $v = $k eq 't' ? pack('H*', $a) : $a;
  my $h = $k eq 'g' ? \%g : $k eq 'p' ? \%p : \%t;
  if (substr($op, 0, 1) eq '+') { $h->{$v} = 1 } else { delete $h->{$v} }
}
kill 'KILL', -$_ for keys %g;
kill 'KILL', $_ for keys %p;
if (%t) { require File::Path; }
for my $t (keys %t) { if (-d $t && !-l $t) { File::Path::remove_tree($t, { safe => 0 }) } else { unlink $t } }
exit 0;`;

let guardian: ChildProcess | null | undefined;

function tell(line: string): void {
  if (guardian === undefined) startGuardian();
  if (!guardian?.stdin?.writable) return;
  try {
    guardian.stdin.write(`${line}\n`);
  } catch {
    /* gone: nothing to tell */
  }
}

/**
 * Starts the guardian now rather than at the first temp or child: at the start of a command
 * that will write an output, Node is still small (forking a 40 MB process costs a fraction
 * of an 80 MB one) and perl starts while the command line loads.
 */
export function startGuardianEarly(): void {
  if (guardian === undefined) startGuardian();
}

function startGuardian(): void {
  guardian = null;
  if (process.platform !== 'linux' || process.env.CAKE_IMG_NO_GUARDIAN === '1') return;
  try {
    const g = spawn('perl', ['-e', GUARDIAN], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    g.on('error', () => {
      guardian = null;
    });
    g.stdin!.on('error', () => {});
    g.unref();
    (g.stdin as unknown as { unref?: () => void }).unref?.();
    guardian = g;
  } catch {
    guardian = null;
  }
}

const hex = (p: string): string => Buffer.from(p).toString('hex');

// --- temps --------------------------------------------------------------------------------

/** Registers a temporary path (file or directory) to remove if the run ends before `forget()`. */
export function removeOnExit(path: string): () => void {
  temps.add(path);
  tell(`+t ${hex(path)}`);
  return () => {
    if (temps.delete(path)) tell(`-t ${hex(path)}`);
  };
}

function removeSync(path: string): void {
  try {
    const st = fs.lstatSync(path);
    if (st.isDirectory()) removeTree(path);
    else fs.unlinkSync(path);
  } catch {
    /* already gone */
  }
}


// --- children -----------------------------------------------------------------------------

export interface TrackedSpawnOptions extends SpawnOptions {
  /**
   * Run it in a process group of its own (default), which is killed whole: whatever it
   * starts ends with it. false for a child that must share our terminal (an interactive
   * QEMU reads the keyboard; a background process group would be stopped by SIGTTIN).
   */
  group?: boolean;
}

function killTracked(child: ChildProcess, t: Tracked, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(t.group ? -child.pid : child.pid, signal);
  } catch {
    /* already gone */
  }
}

/** `spawn`, tracked until it exits; when it exits its process group is killed (nothing it started lives on). */
export function spawnTracked(command: string, args: readonly string[], opts: TrackedSpawnOptions = {}): ChildProcess {
  const { group = true, ...rest } = opts;
  const child = spawn(command, args, { ...rest, detached: group });
  if (child.pid === undefined) return child; // failed to start: its 'error' event says why
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      // Stragglers the child left in its group (a backgrounded process) go with it.
      if (group) killTracked(child, t, 'SIGKILL');
      children.delete(child);
      tell(`-${group ? 'g' : 'p'} ${child.pid}`);
      resolve();
    });
  });
  const t: Tracked = { group, exited };
  children.set(child, t);
  tell(`+${group ? 'g' : 'p'} ${child.pid}`);
  return child;
}

/** Kills every tracked child and removes every temp, synchronously (signal and exit paths). */
export function cleanupSync(): void {
  for (const [child, t] of children) killTracked(child, t, 'SIGKILL');
  for (const p of [...temps].reverse()) removeSync(p);
  temps.clear();
  // Everything is done; the guardian has nothing left to do and must not linger.
  if (guardian?.pid !== undefined && guardian.exitCode === null) {
    try {
      process.kill(guardian.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/**
 * The normal end of a command: helpers still running (a prefetch, say) are ended and
 * waited for, and the guardian is dismissed, so no process of ours outlives the command.
 */
export async function settle(timeoutMs = 2000): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const [child, t] of children) {
    killTracked(child, t, 'SIGKILL');
    waits.push(t.exited);
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(waits), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
  for (const p of [...temps].reverse()) removeSync(p);
  temps.clear();
  const g = guardian;
  guardian = null;
  if (g && g.exitCode === null && g.signalCode === null) {
    const gone = new Promise<void>((r) => g.once('exit', () => r()));
    g.ref(); // waited for now: it must keep the event loop alive until it has gone
    // Everything is cleaned up: it has nothing to do. Killed rather than asked, so a
    // guardian still starting (a cold disk) does not hold the command up.
    try {
      process.kill(g.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    let t: NodeJS.Timeout | undefined;
    await Promise.race([gone, new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
    clearTimeout(t);
  }
}

/**
 * Lets the event loop handle a signal that has arrived: Node runs signal handlers from its
 * poll phase, which a run of synchronous writes and resolved promises never reaches; two
 * turns through the check phase make sure one poll has happened.
 */
export async function yieldToSignals(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

/**
 * Runs `fn` while a child shares our terminal and reads the keyboard (an interactive
 * shell): a Ctrl-C typed there is for the child, which gets it from the terminal too,
 * so it must not stop cake-img. SIGTERM and SIGHUP still end the run and the child.
 */
export async function withForegroundChild<T>(fn: () => Promise<T>): Promise<T> {
  const quit = (): void => {}; // Ctrl-\ too
  foreground++;
  process.on('SIGQUIT', quit);
  try {
    return await fn();
  } finally {
    foreground--;
    process.off('SIGQUIT', quit);
  }
}

/** True once a signal has started stopping the run (work in flight should not start more). */
export function isStopping(): boolean {
  return stopping;
}

const SIGNALS: [NodeJS.Signals, number][] = [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]];

/**
 * Makes SIGINT, SIGTERM and SIGHUP end the run cleanly: children killed, temps removed,
 * `report` told (the CLI prints one line), exit status 128+N. A second signal while
 * stopping exits at once. For programs that own the process (the CLI), not for libraries.
 */
export function installSignalHandlers(report: (e: InterruptedError) => void): void {
  for (const [name, num] of SIGNALS) {
    process.on(name, () => {
      if (name === 'SIGINT' && foreground > 0) return; // Ctrl-C is the interactive child's
      if (stopping) process.exit(128 + num);
      stopping = true;
      cleanupSync();
      try {
        report(new InterruptedError(name, num));
      } finally {
        process.exit(128 + num);
      }
    });
  }
}

process.on('exit', cleanupSync);
