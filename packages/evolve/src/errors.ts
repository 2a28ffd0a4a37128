/**
 * The one error class of `@vsml/evolve`. Identify it by `name === 'EvolveError'` and `code` as well as by
 * `instanceof`: errors that cross a worker thread arrive as plain data ({@link ErrorReport}).
 */

/** Every code an {@link EvolveError} can carry, with what it means. */
export const EVOLVE_ERROR_CODES = {
  /** a constructor / function option is missing, has the wrong type, is out of range, or is unknown */
  INVALID_OPTIONS: 'invalid options',
  /** `tell()` got a population or fitness list of the wrong length or dimension */
  INVALID_POPULATION: 'invalid population or fitness',
  /** `fromJSON()` got data that is not a checkpoint of this class and format version */
  INVALID_CHECKPOINT: 'invalid checkpoint',
  /** `toJSON()` on a strategy whose random numbers come from an injected source (nothing to save) */
  NOT_SERIALISABLE: 'state not serialisable',
  /** the symmetric eigensolver did not converge or the covariance matrix became non-finite */
  NUMERICAL: 'numerical failure',
  /** a fitness function threw (or rejected) inside a worker thread */
  WORKER_THREW: 'fitness function threw in a worker',
  /** a fitness function in a worker returned something that is not a number */
  WORKER_BAD_RESULT: 'fitness function returned a non-number',
  /** the worker module could not be imported or has no function under the given export name */
  WORKER_MODULE: 'worker module or export not found',
  /** the worker thread itself died (not a plain throw from the fitness function) */
  WORKER_CRASHED: 'worker thread crashed',
} as const;

/** A typed {@link EvolveError} code. */
export type EvolveErrorCode = keyof typeof EVOLVE_ERROR_CODES;

/** Error data that crosses threads and goes into logs: what {@link PopulationEvaluator} reports. */
export interface ErrorReport {
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

export class EvolveError extends Error {
  override readonly name = 'EvolveError' as const;
  readonly code: EvolveErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: EvolveErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** True for an `EvolveError` or its plain-data form (works across worker threads and package copies). */
  static is(e: unknown): e is { name: 'EvolveError'; code: EvolveErrorCode; message: string } {
    return (
      typeof e === 'object' &&
      e !== null &&
      (e as { name?: unknown }).name === 'EvolveError' &&
      typeof (e as { code?: unknown }).code === 'string' &&
      (e as { code: string }).code in EVOLVE_ERROR_CODES
    );
  }

  /** Plain data for logs and messages between threads. */
  toJSON(): ErrorReport {
    return this.details === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** Throws `EvolveError('INVALID_OPTIONS')` unless `ok`; the message is built only on failure. */
export function checkOption(ok: boolean, where: string, message: () => string): asserts ok {
  if (!ok) throw new EvolveError('INVALID_OPTIONS', `${where}: ${message()}`);
}

/** Rejects keys of `obj` that are not in `known` (options are strict objects, like zod's `.strict()`). */
export function checkKnownKeys(obj: object, known: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      throw new EvolveError('INVALID_OPTIONS', `${where}: unknown option '${k}' (known: ${known.join(', ')})`);
    }
  }
}
