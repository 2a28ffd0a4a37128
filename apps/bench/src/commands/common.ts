/** Small helpers shared by the commands of this issue: output sinks, backend option, number parsing. */
import { initBackend, parseBackendRequest, type BackendInfo } from '@vsml/core';

/** Where a command writes its result (stdout in the CLI; a buffer in tests). */
export interface Out {
  write(text: string): void;
}

/** An `Out` that collects everything written. */
export function bufferOut(): Out & { text(): string } {
  const parts: string[] = [];
  return { write: (t) => void parts.push(t), text: () => parts.join('') };
}

export const stdout: Out = { write: (t) => void process.stdout.write(t) };

/** Help text of `--backend`. */
export const BACKEND_HELP = 'auto | tensorflow | wasm | cpu (default: $VSML_BACKEND, else auto)';

/** Initialises the backend from a `--backend` value (undefined: VSML_BACKEND or auto). */
export function setupBackend(backend: string | undefined): Promise<BackendInfo> {
  return initBackend(backend === undefined ? {} : { backend: parseBackendRequest(backend, '--backend') });
}

/** Parses a positive integer option. */
export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

/** Parses a non-negative integer option. */
export function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
    return n;
  };
}

/** Parses `784,10` or `784,32,10` into layer sizes. */
export function layerSizes(v: string): number[] {
  const sizes = v.split(',').map((s) => Number(s.trim()));
  if (sizes.length < 2 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`--layers must be comma-separated positive sizes like 784,10 or 784,32,10, got '${v}'`);
  }
  return sizes;
}
