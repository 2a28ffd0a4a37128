/**
 * The one error class of `@vsml/metatrain`. Identify errors by `name === 'MetatrainError'` and `code` (both survive
 * worker threads and `structuredClone`, where `instanceof` does not).
 */

/** Every {@link MetatrainError} code, with what it means. */
export const METATRAIN_ERROR_CODES = {
  /** A config object (task, estimator, outer loop, meta-test, baseline) failed validation; `details.issues` lists key paths. */
  BAD_CONFIG: 'BAD_CONFIG',
  /** A function argument is invalid (wrong type, out of range, inconsistent options). */
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  /** Arrays have the wrong size for the declared shapes (e.g. x is not [T, P, D]). */
  SHAPE_MISMATCH: 'SHAPE_MISMATCH',
  /** A learner does not support what was asked (e.g. a Meta RNN on another input size than it was built for). */
  UNSUPPORTED: 'UNSUPPORTED',
  /** A meta-loss or a gradient became NaN or infinite. */
  NOT_FINITE: 'NOT_FINITE',
  /** A checkpoint to resume from does not fit the run (other model, estimator or task). */
  RESUME_MISMATCH: 'RESUME_MISMATCH',
  /** The population evaluator failed (worker crashed, module missing, a candidate threw). */
  EVALUATOR_FAILED: 'EVALUATOR_FAILED',
} as const;

/** A {@link MetatrainError} code. */
export type MetatrainErrorCode = keyof typeof METATRAIN_ERROR_CODES;

/** The error of `@vsml/metatrain`: a typed `code`, a message saying what is wrong and where, optional `details`. */
export class MetatrainError extends Error {
  override readonly name = 'MetatrainError' as const;
  readonly code: MetatrainErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: MetatrainErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** Plain data for crossing a worker boundary: `{name, code, message, details}`. */
  toJSON(): { name: 'MetatrainError'; code: MetatrainErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** True for a `MetatrainError`, also one that crossed a worker boundary as plain data. */
export function isMetatrainError(e: unknown): e is { name: 'MetatrainError'; code: MetatrainErrorCode; message: string } {
  if (e instanceof MetatrainError) return true;
  if (!e || typeof e !== 'object') return false;
  const o = e as { name?: unknown; code?: unknown };
  return o.name === 'MetatrainError' && typeof o.code === 'string' && o.code in METATRAIN_ERROR_CODES;
}

/** Formats zod issues as `where.path: message` lines. */
export function zodLines(issues: readonly { path: readonly PropertyKey[]; message: string; code?: string; keys?: readonly string[] }[], where: string): string[] {
  return issues.map((i) => {
    let p = where;
    for (const k of i.path) p += typeof k === 'number' ? `[${k}]` : `.${String(k)}`;
    if (i.code === 'unrecognized_keys' && i.keys) return i.keys.map((k) => `${p}.${k}: unknown key`).join('\n');
    return `${p}: ${i.message}`;
  });
}

/** Parses `input` with a zod schema or throws `MetatrainError('BAD_CONFIG')` listing every issue with its key path. */
export function parseConfig<T>(
  schema: { safeParse(x: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } } },
  input: unknown,
  where: string,
): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const lines = zodLines(r.error.issues, where);
  throw new MetatrainError('BAD_CONFIG', `invalid ${where}:\n  ${lines.join('\n  ')}`, { details: { issues: lines } });
}
