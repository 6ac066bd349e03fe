/**
 * Typed errors for the whole library. Library code throws `HypersegError` with a stable `code`,
 * a message that says what was expected and what was received, an optional suggestion and a
 * cause; it never exits the process. The CLI (src/cli/run.ts) is the one place that prints them
 * and picks the exit code.
 */

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_INPUT'
  | 'NON_FINITE'
  | 'OUT_OF_BALL'
  | 'SHAPE_MISMATCH'
  | 'FILE_NOT_FOUND'
  | 'FILE_FORMAT'
  | 'FILE_TRUNCATED'
  | 'UNSUPPORTED'
  | 'TOO_LARGE'
  | 'IO'
  | 'WORKER_ERROR'
  | 'WORKER_DIED'
  | 'TIMEOUT'
  /** Long work stopped by Ctrl-C / SIGTERM before it finished; re-running continues it (exit code 130). */
  | 'INTERRUPTED';

export class HypersegError extends Error {
  readonly code: ErrorCode;
  readonly suggestion?: string;

  constructor(code: ErrorCode, message: string, options: { suggestion?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HypersegError';
    this.code = code;
    this.suggestion = options.suggestion;
  }
}

/**
 * `e` with `where` put before its message when it is a HypersegError (same code and suggestion, the original
 * kept as the cause), else `e` unchanged: for callers that know which file or run a lower layer's error is about.
 */
export function within(where: string, e: unknown): unknown {
  return e instanceof HypersegError ? new HypersegError(e.code, `${where}: ${e.message}`, { suggestion: e.suggestion, cause: e }) : e;
}

/** Throws INVALID_ARGUMENT with `message` unless `condition` holds. */
export function check(condition: unknown, message: string, suggestion?: string): asserts condition {
  if (!condition) throw new HypersegError('INVALID_ARGUMENT', message, { suggestion });
}

/** Formats a shape for messages: [64, 64]. */
export function fmtShape(shape: ArrayLike<number>): string {
  return `[${Array.from(shape).join(', ')}]`;
}
