/**
 * A pool of worker threads (piscina) for what parallelises: independent episodes, meta-test seeds × datasets,
 * population members. A task is plain (structured-cloneable) data; a worker runs a named export of a module that a
 * worker thread can import on its own (plain `.mjs`, or built output: worker threads cannot load `.ts` sources), and
 * returns plain data. `map` returns results in task order whatever the thread count and the completion order, so a
 * caller that reduces them in that order gets bit-identical results for 1 and N threads.
 *
 * (`@vsml/evolve`'s `PopulationEvaluator` is the fitness-only pool of that package, which may import nothing of
 * core; everything above evolve uses this one.)
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Piscina } from 'piscina';

import { VsmlError } from './errors.js';

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** path (absolute, or relative to the working directory) or file URL of the module with the task function */
  readonly module: string | URL;
  /** name of the exported function `(task) => result | Promise<result>` (default 'default') */
  readonly exportName?: string;
  /** worker threads (default 1) */
  readonly threads?: number;
}

/** What a task's worker threw, as plain data (`name`, `code`, `message`, `details?`). */
export interface WorkerErrorReport {
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

interface WorkerReply {
  ok: boolean;
  value?: unknown;
  error?: WorkerErrorReport;
}

/** The worker entry shipped next to this module (src/ under tests, dist/ when built). */
const WORKER_FILE = join(dirname(fileURLToPath(import.meta.url)), 'pool-worker.mjs');

function moduleUrl(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (m.startsWith('file:')) return m;
  return pathToFileURL(resolve(m)).href;
}

/**
 * The error a failed task rejects with: an `Error` with the worker's `name` and `code` (e.g. `CloneError` /
 * `FORBIDDEN_DATASET`, so `isCloneError` still works) and `details`; `VsmlError WORKER_FAILED` when the thread died.
 */
function rethrow(r: WorkerErrorReport, index: number): Error {
  const e = new Error(`${r.message} (worker task ${index})`);
  return Object.assign(e, { name: r.name, code: r.code, details: r.details });
}

/** A pool of worker threads running one module's export on tasks; call {@link WorkerPool.close} when done. */
export class WorkerPool {
  private readonly pool: Piscina;
  private readonly url: string;
  private readonly exportName: string;

  constructor(options: WorkerPoolOptions) {
    if (options === null || typeof options !== 'object') throw new VsmlError('BAD_ARGUMENT', 'WorkerPool: options must be an object');
    if (typeof options.module !== 'string' && !(options.module instanceof URL)) {
      throw new VsmlError('BAD_ARGUMENT', 'WorkerPool: module must be a path or file URL');
    }
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new VsmlError('BAD_ARGUMENT', `WorkerPool: threads must be an integer >= 1, got ${threads}`);
    this.url = moduleUrl(options.module);
    this.exportName = options.exportName ?? 'default';
    this.pool = new Piscina({ filename: WORKER_FILE, minThreads: threads, maxThreads: threads });
  }

  /** worker threads in the pool */
  get threads(): number {
    return this.pool.threads.length;
  }

  /**
   * Runs one task on the next free thread.
   * @throws the worker's error (its `name`, `code`, `details`), or VsmlError WORKER_FAILED when the thread died
   */
  async run<R>(task: unknown, index = 0): Promise<R> {
    let r: WorkerReply;
    try {
      r = (await this.pool.run({ moduleUrl: this.url, exportName: this.exportName, task })) as WorkerReply;
    } catch (e) {
      throw new VsmlError('WORKER_FAILED', `WorkerPool: worker thread failed on task ${index}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (!r.ok) throw rethrow(r.error ?? { name: 'VsmlError', code: 'WORKER_FAILED', message: 'malformed worker reply' }, index);
    return r.value as R;
  }

  /**
   * Runs every task (concurrently across the threads); results in task order. Rejects with the error of the first
   * failed task (in task order) after every task has settled.
   * @param onResult called as each task finishes (completion order), e.g. for progress
   */
  async map<T, R>(tasks: readonly T[], onResult?: (result: R, index: number) => void | Promise<void>): Promise<R[]> {
    const settled = await Promise.allSettled(
      tasks.map(async (t, i) => {
        const r = await this.run<R>(t, i);
        await onResult?.(r, i);
        return r;
      }),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
  }

  /** Stops the worker threads (pending tasks are rejected). */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/** One-shot helper: a pool for one list of tasks, closed afterwards; results in task order. */
export async function runInWorkers<T, R>(tasks: readonly T[], options: WorkerPoolOptions, onResult?: (result: R, index: number) => void | Promise<void>): Promise<R[]> {
  const pool = new WorkerPool(options);
  try {
    return await pool.map<T, R>(tasks, onResult);
  } finally {
    await pool.close();
  }
}
