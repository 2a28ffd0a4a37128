/**
 * The one error class of `@vsml/core`. Identify errors by `name === 'VsmlError'` and `code` (both survive
 * worker threads and `structuredClone`, where `instanceof` does not).
 */

/** Every error code `VsmlError` can carry, with what it means. */
export const VsmlErrorCodes = {
  /** A model config (or another config object) failed validation; `details.issues` lists key paths. */
  BAD_CONFIG: 'BAD_CONFIG',
  /** A function argument is invalid (wrong type, out of range, inconsistent options). */
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  /** A tensor or array has the wrong shape, or sizes do not agree with the model config. */
  SHAPE_MISMATCH: 'SHAPE_MISMATCH',
  /** A requested backend cannot be loaded (forced by option or `VSML_BACKEND`). */
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  /** A checkpoint file cannot be read or is not valid JSON / not a checkpoint. */
  CHECKPOINT_INVALID: 'CHECKPOINT_INVALID',
  /** A checkpoint file has an unknown format version. */
  CHECKPOINT_VERSION: 'CHECKPOINT_VERSION',
  /** A checkpoint of another kind (`vm` / `train`) than the caller expected. */
  CHECKPOINT_KIND: 'CHECKPOINT_KIND',
  /** A checkpoint's parameters are missing, unknown or mis-shaped for its model config. */
  CHECKPOINT_PARAMS: 'CHECKPOINT_PARAMS',
  /** Writing a checkpoint failed. */
  CHECKPOINT_IO: 'CHECKPOINT_IO',
  /** A trace file (`replayTrace`) is malformed. */
  TRACE_INVALID: 'TRACE_INVALID',
  /** A NaN or infinity appeared (only checked when `VSML_DEBUG` is set). */
  NOT_FINITE: 'NOT_FINITE',
  /** A worker thread of a `WorkerPool` died or could not load its task module. */
  WORKER_FAILED: 'WORKER_FAILED',
} as const;

/** The error code type: one of the keys of {@link VsmlErrorCodes}. */
export type VsmlErrorCode = keyof typeof VsmlErrorCodes;

/** The error of `@vsml/core`: a typed `code`, a message saying what is wrong and where, optional `details`. */
export class VsmlError extends Error {
  override readonly name = 'VsmlError';
  readonly code: VsmlErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: VsmlErrorCode, message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }

  /** Plain data for crossing a worker boundary: `{name, code, message, details}`. */
  toJSON(): { name: 'VsmlError'; code: VsmlErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** True for a `VsmlError`, also one that crossed a worker boundary as plain data (checks `name` and `code`). */
export function isVsmlError(e: unknown): e is { name: 'VsmlError'; code: VsmlErrorCode; message: string } {
  if (e instanceof VsmlError) return true;
  if (!e || typeof e !== 'object') return false;
  const o = e as { name?: unknown; code?: unknown };
  return o.name === 'VsmlError' && typeof o.code === 'string' && o.code in VsmlErrorCodes;
}

/** Throws `VsmlError(code, msg())` unless `cond`; the message is built only on failure. */
export function assert(cond: unknown, code: VsmlErrorCode, msg: () => string, details?: () => Record<string, unknown>): asserts cond {
  if (!cond) {
    throw details ? new VsmlError(code, msg(), { details: details() }) : new VsmlError(code, msg());
  }
}

/** Formats a shape for messages: `[3,16]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
