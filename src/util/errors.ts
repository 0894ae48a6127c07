// Every failure a user can cause is a CakeError: one line, a stable code, the stage it
// happened in. Anything else reaching the CLI is a bug and gets a stack trace.
//
// Exit codes (the CLI maps errors to them; README "Exit codes"): 2 when the command line
// itself is wrong (InvalidOptionError, and commander's own usage errors); 1 for every
// other CakeError (bad input, a fault of the host, a tool that failed); 128+N when a
// signal N stopped the run; 70 for a bug.

export type Stage = 'options' | 'source' | 'plan' | 'write' | 'tool';

export class CakeError extends Error {
  readonly code: string;
  readonly stage: Stage;
  readonly data: Record<string, unknown>;

  constructor(code: string, stage: Stage, message: string, data: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.stage = stage;
    this.data = data;
  }

  /** The process exit status this error ends a command with. */
  get exitCode(): number {
    return 1;
  }
}

/** A command-line or API option has a bad value: a usage error (exit 2). */
export class InvalidOptionError extends CakeError {
  constructor(option: string, message: string) {
    super('EINVALIDOPTION', 'options', `${option}: ${message}`, { option });
  }

  override get exitCode(): number {
    return 2;
  }
}

/** Where in a binary input a decoder found it corrupt (ext4-view-rs style: not only free text). */
export interface CorruptAt {
  /** The format or struct being decoded ("tar header", "ext4 superblock", "gzip"). */
  format?: string;
  /** Byte offset in the input (or the struct's position in it). */
  offset?: number;
  /** The field found wrong. */
  field?: string;
}

/** Input bytes or a source entry are not what they claim to be. `where` names the file/entry. */
export class CorruptInputError extends CakeError {
  readonly where: string;
  readonly format: string | undefined;
  readonly offset: number | undefined;
  readonly field: string | undefined;

  constructor(where: string, message: string, data: Record<string, unknown> & CorruptAt = {}) {
    super('ECORRUPT', 'source', `${where}: ${message}`, { where, ...data });
    this.where = where;
    this.format = data.format;
    this.offset = data.offset;
    this.field = data.field;
  }
}

/** A source entry is valid but something we cannot represent (e.g. a name over 255 bytes). */
export class UnsupportedError extends CakeError {
  constructor(where: string, message: string, data: Record<string, unknown> = {}) {
    super('EUNSUPPORTED', 'plan', `${where}: ${message}`, { where, ...data });
  }
}

/** An input the host will not let us read (permissions, I/O error, a vanished file). */
export class ReadError extends CakeError {
  constructor(where: string, message: string, data: Record<string, unknown> = {}) {
    super('EREAD', 'source', `${where}: ${message}`, { where, ...data });
  }
}

/** An output that cannot be written where it was asked for (bad path, no room, no permission). */
export class OutputError extends CakeError {
  constructor(where: string, message: string, data: Record<string, unknown> = {}) {
    super('EOUTPUT', 'write', `${where}: ${message}`, { where, ...data });
  }
}

/** The run was stopped by a signal; everything it started has been cleaned up. */
export class InterruptedError extends CakeError {
  readonly signal: string;
  readonly signalNumber: number;
  constructor(signal: string, signalNumber: number) {
    super('EINTERRUPTED', 'tool', `stopped by ${signal}; partial outputs removed`, { signal });
    this.signal = signal;
    this.signalNumber = signalNumber;
  }

  override get exitCode(): number {
    return 128 + this.signalNumber;
  }
}

/** The tree does not fit in the requested size. `advice` is an option that makes it fit, when there is one. */
export class DoesNotFitError extends CakeError {
  readonly neededBytes: number;
  readonly availableBytes: number;
  constructor(what: string, neededBytes: number, availableBytes: number, advice: string | null = `use --size ${suggestSize(neededBytes)} or --size auto`) {
    super(
      'ENOSPACE',
      'plan',
      `${what} needs at least ${formatBytes(neededBytes)} (${neededBytes} bytes) but the size is ${formatBytes(availableBytes)}${advice ? `; ${advice}` : ''}`,
      { neededBytes, availableBytes },
    );
    this.neededBytes = neededBytes;
    this.availableBytes = availableBytes;
  }
}

/** A host tool ran and failed. */
export class ToolError extends CakeError {
  constructor(command: string, exitCode: number | null, stderrTail: string) {
    super('ETOOL', 'tool', `${command} failed (exit ${exitCode ?? 'signal'}): ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`, {
      command,
      exitCode,
    });
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** The smallest whole-MiB size option at least `bytes` (what a "use --size" advice says). */
export function suggestSize(bytes: number): string {
  const mib = Math.ceil(bytes / (1 << 20));
  return `${mib}M`;
}

/**
 * A path (or any text from outside) as it appears in a message: as is when it is plain
 * printable text, else JSON-quoted, so a name holding a newline or an escape sequence
 * still prints on one line and cannot pass for something else.
 */
export function quote(text: string): string {
  return /^[\x21-\x7e\u00a0-\uffff]*$/.test(text) && !/[\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(text) && text !== '' ? text : JSON.stringify(text);
}

/**
 * A whole message made safe for one terminal line: control characters (newlines
 * included) become JSON-style escapes. The CLI passes every error through this.
 */
export function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/**
 * Planning errors name entries by their path in the tree ("/etc/x"); a user with several
 * sources needs the source too. Re-labels such an error as "SOURCE: /etc/x: ...".
 */
export function inSource(label: string, e: unknown): unknown {
  if (e instanceof DoesNotFitError && e.message.startsWith('the ')) {
    const out = new CakeError(e.code, e.stage, `${quote(label)}: ${e.message}`, { ...e.data, source: label });
    Object.defineProperty(out, 'name', { value: e.name });
    return out;
  }
  if (!(e instanceof CakeError)) return e;
  const where = e.data.where;
  if (typeof where !== 'string' || !where.startsWith('/') || !e.message.startsWith(`${where}: `)) return e;
  const rest = e.message.slice(where.length + 2);
  const out = new CakeError(e.code, e.stage, `${label}: ${where}: ${rest}`, { ...e.data, source: label });
  Object.defineProperty(out, 'name', { value: e.name });
  return out;
}
