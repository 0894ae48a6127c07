// Every failure a user can cause is a CakeError: one line, a stable code, the stage it
// happened in. Anything else reaching the CLI is a bug and gets a stack trace.

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
}

/** A command-line or API option has a bad value. */
export class InvalidOptionError extends CakeError {
  constructor(option: string, message: string) {
    super('EINVALIDOPTION', 'options', `${option}: ${message}`, { option });
  }
}

/** Input bytes or a source entry are not what they claim to be. `where` names the file/entry. */
export class CorruptInputError extends CakeError {
  constructor(where: string, message: string, data: Record<string, unknown> = {}) {
    super('ECORRUPT', 'source', `${where}: ${message}`, { where, ...data });
  }
}

/** A source entry is valid but something we cannot represent (e.g. a name over 255 bytes). */
export class UnsupportedError extends CakeError {
  constructor(where: string, message: string, data: Record<string, unknown> = {}) {
    super('EUNSUPPORTED', 'plan', `${where}: ${message}`, { where, ...data });
  }
}

/** The tree does not fit in the requested size. */
export class DoesNotFitError extends CakeError {
  readonly neededBytes: number;
  readonly availableBytes: number;
  constructor(what: string, neededBytes: number, availableBytes: number) {
    super(
      'ENOSPACE',
      'plan',
      `${what} needs at least ${formatBytes(neededBytes)} (${neededBytes} bytes) but the size is ${formatBytes(availableBytes)}; use --size ${suggestSize(neededBytes)} or --size auto`,
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
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

function suggestSize(bytes: number): string {
  const mib = Math.ceil(bytes / (1 << 20));
  return `${mib}M`;
}
