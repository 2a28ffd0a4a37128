/**
 * Helpers for checkpoints: typed arrays become number arrays, and the non-finite numbers JSON cannot hold become the
 * strings 'NaN', 'Infinity', '-Infinity' (JSON.stringify would silently write null).
 */
import { EvolveError } from './errors.js';

/** A JSON-safe number. */
export type JsonNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export function encodeNumber(v: number): JsonNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

export function encodeArray(a: ArrayLike<number>): JsonNumber[] {
  return Array.from(a, encodeNumber);
}

/** Reads what {@link encodeNumber} wrote; throws `INVALID_CHECKPOINT` naming `where` for anything else. */
export function decodeNumber(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new EvolveError('INVALID_CHECKPOINT', `${where}: expected a number, got ${JSON.stringify(v)}`);
}

export function decodeArray(v: unknown, where: string, length?: number): Float64Array {
  if (!Array.isArray(v)) throw new EvolveError('INVALID_CHECKPOINT', `${where}: expected an array`);
  if (length !== undefined && v.length !== length) {
    throw new EvolveError('INVALID_CHECKPOINT', `${where}: expected ${length} numbers, got ${v.length}`);
  }
  return Float64Array.from(v, (x, i) => decodeNumber(x, `${where}[${i}]`));
}

/** Parses a JSON string if needed and checks the `format` tag and `version` of a checkpoint object. */
export function readCheckpoint(json: unknown, format: string, version: number): Record<string, unknown> {
  let obj = json;
  if (typeof obj === 'string') {
    try {
      obj = JSON.parse(obj);
    } catch (e) {
      throw new EvolveError('INVALID_CHECKPOINT', `${format}: not valid JSON`, { cause: e });
    }
  }
  if (typeof obj !== 'object' || obj === null) throw new EvolveError('INVALID_CHECKPOINT', `${format}: not an object`);
  const o = obj as Record<string, unknown>;
  if (o['format'] !== format) {
    throw new EvolveError('INVALID_CHECKPOINT', `expected a '${format}' checkpoint, got format ${JSON.stringify(o['format'])}`);
  }
  if (o['version'] !== version) {
    throw new EvolveError(
      'INVALID_CHECKPOINT',
      `${format}: checkpoint version ${JSON.stringify(o['version'])} is not supported (this build reads version ${version})`,
    );
  }
  return o;
}

/** The object at `o[key]`, or `INVALID_CHECKPOINT`. */
export function field(o: Record<string, unknown>, key: string, where: string): Record<string, unknown> {
  const v = o[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new EvolveError('INVALID_CHECKPOINT', `${where}.${key}: expected an object`);
  }
  return v as Record<string, unknown>;
}

/** A JSON-safe copy of a record of numbers (and booleans). */
export function encodeRecord(r: Readonly<Record<string, number | boolean>>): Record<string, JsonNumber | boolean> {
  const out: Record<string, JsonNumber | boolean> = {};
  for (const [k, v] of Object.entries(r)) out[k] = typeof v === 'boolean' ? v : encodeNumber(v);
  return out;
}

export function decodeRecord(v: unknown, where: string): Record<string, number | boolean> {
  if (typeof v !== 'object' || v === null) throw new EvolveError('INVALID_CHECKPOINT', `${where}: expected an object`);
  const out: Record<string, number | boolean> = {};
  for (const [k, x] of Object.entries(v)) out[k] = typeof x === 'boolean' ? x : decodeNumber(x, `${where}.${k}`);
  return out;
}
