/**
 * The one error class of `@vsml/clone`. Identify errors by `name === 'CloneError'` and `code` (both survive worker
 * threads and `structuredClone`, where `instanceof` does not).
 */

/** Every error code `CloneError` can carry, with what it means. */
export const CloneErrorCodes = {
  /** A clone preset / stage / meta-test / improve config failed validation; `details.issues` lists key paths. */
  BAD_CONFIG: 'BAD_CONFIG',
  /** A function argument is invalid (wrong type, out of range, inconsistent options). */
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  /** A tensor or array has the wrong shape, or sizes do not agree with the model. */
  SHAPE_MISMATCH: 'SHAPE_MISMATCH',
  /** Fashion-MNIST (or another held-out dataset) was requested for cloning or improving. */
  FORBIDDEN_DATASET: 'FORBIDDEN_DATASET',
  /** A checkpoint does not belong to this curriculum / improve run (other preset, stage or model). */
  CHECKPOINT_MISMATCH: 'CHECKPOINT_MISMATCH',
  /** A loss, gradient or state became NaN or infinite. */
  NOT_FINITE: 'NOT_FINITE',
} as const;

/** The error code type: one of the keys of {@link CloneErrorCodes}. */
export type CloneErrorCode = keyof typeof CloneErrorCodes;

/** The error of `@vsml/clone`: a typed `code`, a message saying what is wrong and where, optional `details`. */
export class CloneError extends Error {
  override readonly name = 'CloneError';
  readonly code: CloneErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: CloneErrorCode, message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }

  /** Plain data for crossing a worker boundary: `{name, code, message, details}`. */
  toJSON(): { name: 'CloneError'; code: CloneErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** True for a `CloneError`, also one that crossed a worker boundary as plain data (checks `name` and `code`). */
export function isCloneError(e: unknown): e is { name: 'CloneError'; code: CloneErrorCode; message: string } {
  if (e instanceof CloneError) return true;
  if (!e || typeof e !== 'object') return false;
  const o = e as { name?: unknown; code?: unknown };
  return o.name === 'CloneError' && typeof o.code === 'string' && o.code in CloneErrorCodes;
}
