/** Small helpers shared by the commands of this issue: output sinks, backend option, number parsing. */
import type { Command } from 'commander';
import { initBackend, parseBackendRequest, type BackendInfo } from '@vsml/core';
import { finishRun, writeJsonAtomic, type RunDir } from '../runs/run-dir.js';

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

/** Parses an integer option (e.g. `--seed`). */
export function integer(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got '${v}'`);
    return n;
  };
}

/** Parses a comma-separated list option. */
export function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Initialises the backend of a run and records its name in `run.json`. */
export async function recordBackend(run: RunDir, backend: string | undefined): Promise<BackendInfo> {
  const info = await setupBackend(backend);
  run.info.backend = info.name;
  writeJsonAtomic(run.file('run.json'), run.info);
  return info;
}

/**
 * A stop request for a long run: Ctrl-C / SIGTERM or a programmatic `AbortSignal` sets `stopped`; the run then
 * checkpoints and returns (resumable). `dispose` removes the handlers.
 */
export function interruptible(signal?: AbortSignal): { readonly signal: AbortSignal; stopped(): boolean; dispose(): void } {
  const ac = new AbortController();
  const stop = () => ac.abort();
  signal?.addEventListener('abort', stop);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: ac.signal,
    stopped: () => ac.signal.aborted,
    dispose: () => {
      signal?.removeEventListener('abort', stop);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** Options every resumable training command (metatrain, clone, improve) takes. */
export interface RunCliOptions {
  /** preset name or `.json` file */
  preset?: string;
  /** JSON merged over the preset */
  config?: string;
  seed?: number;
  backend?: string;
  /** run directory */
  out?: string;
  /** continue this run directory from its last checkpoint */
  resume?: string;
  /** no progress output */
  quiet?: boolean;
  /** command line to record (default: process.argv) */
  commandLine?: string;
  /** programmatic use: stop (the run checkpoints first and stays resumable) */
  signal?: AbortSignal;
  /** programmatic use: called after every step (meta-step, logged iteration, generation) with the steps done */
  onStep?: (step: number) => void;
}

/** Adds `--preset`, `--config`, `--backend`, `--out` and `--resume` (the options of {@link RunCliOptions} that every training command words alike). */
export function runOptions(cmd: Command, command: string): Command {
  return cmd
    .option('--preset <name>', 'preset: quick | paper (apps/bench/presets) or a path to a .json preset', 'quick')
    .option('--config <file>', 'JSON merged over the preset (the file wins)')
    .option('--backend <name>', BACKEND_HELP)
    .option('--out <dir>', `run directory (default runs/<timestamp>-${command}-<name>)`)
    .option('--resume <dir>', 'continue a run from its last checkpoint');
}

/**
 * Runs the body of a training command on its run directory: an error thrown by it marks the run `failed` (with the
 * message) and is rethrown. A body that returns leaves the status it set (`completed` or `interrupted`).
 */
export async function guardRun<T>(run: RunDir, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (run.info.status === 'running') finishRun(run, 'failed', e);
    throw e;
  }
}

/**
 * Test hook (for the kill tests of apps/bench; not for users): with `VSML_TEST_KILL_AT_STEP=<n>` in the environment
 * the process kills itself with SIGKILL (no handler, no checkpoint, no status update: like `kill -9` or a power
 * loss) right after step `n` of a training command has been logged. The same hook inside a checkpoint write is
 * `VSML_TEST_KILL_IN_WRITE` of @vsml/core's `writeTypedJsonAtomic`.
 */
export function testKillHook(step: number): void {
  const at = process.env['VSML_TEST_KILL_AT_STEP'];
  if (at !== undefined && at !== '' && Number(at) === step) process.kill(process.pid, 'SIGKILL');
}
