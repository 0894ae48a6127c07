// How `cake-img build` shows its work. Three renderers of one event stream:
// - a terminal: one live line per running step (files and bytes, or a spinner while a
//   script runs), finished steps and log lines scrolling above;
// - not a terminal: plain log lines, one per event that matters;
// - --json: one JSON object per line (start, progress, log, end, error, summary) for CI.
import { formatBytes } from '../util/errors.js';

export type BuildEvent =
  | { type: 'start'; output: string; step: 'cook' | 'bake' }
  | { type: 'progress'; output: string; phase: string; files?: number; bytes?: number }
  | { type: 'log'; output: string; line: string }
  | { type: 'end'; output: string; step: 'cook' | 'bake'; cached: boolean; status: StepStatus; ms: number; sha256: string; path: string; size: number }
  | { type: 'error'; output: string; message: string }
  | { type: 'summary'; rows: SummaryRow[] };

/** Where a step's output came from: made by this build, reused from the local store (or --out), or pulled from the registry cache. */
export type StepStatus = 'built' | 'cached' | 'pulled';

export interface SummaryRow {
  output: string;
  step: 'cook' | 'bake';
  size: number;
  sha256: string;
  ms: number;
  /** Reused from the local store or --out (status 'cached'); kept beside status for older readers. */
  cached: boolean;
  status: StepStatus;
  path: string;
}

export interface Reporter {
  emit(e: BuildEvent): void;
  close(): void;
}

type Write = (s: string) => void;

export function jsonReporter(write: Write): Reporter {
  return {
    emit: (e) => write(`${JSON.stringify({ ...e, time: new Date().toISOString() })}\n`),
    close: () => {},
  };
}

function describe(e: Extract<BuildEvent, { type: 'progress' }>): string {
  const parts = [e.phase];
  if (e.files !== undefined) parts.push(`${e.files} files`);
  if (e.bytes !== undefined) parts.push(formatBytes(e.bytes));
  return parts.join(', ');
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

export function plainReporter(write: Write): Reporter {
  const lastPhase = new Map<string, string>();
  return {
    emit(e) {
      switch (e.type) {
        case 'start':
          write(`[${e.output}] ${e.step}\n`);
          break;
        case 'progress':
          // Phases only: counts would flood a log.
          if (lastPhase.get(e.output) !== e.phase) write(`[${e.output}] ${e.phase}\n`);
          lastPhase.set(e.output, e.phase);
          break;
        case 'log':
          write(`[${e.output}] ${e.line}\n`);
          break;
        case 'end':
          write(`[${e.output}] ${e.status === 'built' ? 'done' : e.status} in ${seconds(e.ms)}: ${e.sha256}\n`);
          break;
        case 'error':
          write(`[${e.output}] failed: ${e.message}\n`);
          break;
        case 'summary':
          write(summaryTable(e.rows));
          break;
      }
    },
    close: () => {},
  };
}

const SPIN = ['-', '\\', '|', '/'];

export function ttyReporter(write: Write, columns = () => process.stderr.columns || 100): Reporter {
  const live = new Map<string, { text: string; since: number }>();
  let drawn = 0;
  let tick = 0;
  const clear = (): void => {
    if (drawn) write(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  };
  const draw = (): void => {
    const lines = [...live].map(([o, s]) => `${SPIN[tick % 4]} ${o}: ${s.text} (${seconds(Date.now() - s.since)})`.slice(0, columns() - 1));
    if (lines.length) write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  const timer = setInterval(() => {
    tick++;
    clear();
    draw();
  }, 200);
  timer.unref();
  const above = (s: string): void => {
    clear();
    write(s);
    draw();
  };
  return {
    emit(e) {
      switch (e.type) {
        case 'start':
          live.set(e.output, { text: e.step, since: Date.now() });
          above('');
          break;
        case 'progress': {
          const s = live.get(e.output);
          if (s) s.text = describe(e);
          break;
        }
        case 'log':
          above(`  ${e.output}: ${e.line}\n`);
          break;
        case 'end':
          live.delete(e.output);
          above(`${e.status === 'built' ? '+' : e.status === 'pulled' ? 'v' : '='} ${e.output} ${e.status === 'built' ? 'done' : e.status} in ${seconds(e.ms)}\n`);
          break;
        case 'error':
          live.delete(e.output);
          above(`x ${e.output}: ${e.message}\n`);
          break;
        case 'summary':
          above(summaryTable(e.rows));
          break;
      }
    },
    close() {
      clearInterval(timer);
      clear();
    },
  };
}

/** The table printed at the end: output, size, sha256, time, and built, cached or pulled. */
export function summaryTable(rows: SummaryRow[]): string {
  const head = ['output', 'size', 'sha256', 'time', 'status'];
  const body = rows.map((r) => [r.output, formatBytes(r.size), r.sha256, seconds(r.ms), r.status]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return `\n${[line(head), ...body.map(line)].join('\n')}\n`;
}
