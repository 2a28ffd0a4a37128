/**
 * Parallel evaluation of a population over worker threads (piscina). The fitness function lives in a module that a
 * worker thread can import on its own (plain `.mjs`/`.js`/`.cjs`, or built output); it is named by path and export:
 *
 * ```js
 * // fitness.mjs
 * export function loss(x, { index, seed, generation, context }) { return x.reduce((s, v) => s + v * v, 0); }
 * ```
 * Results come back in population order. A candidate whose function throws (or returns a non-number) gets
 * `failureFitness` and its error is reported as plain data; the pool keeps running.
 */
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Piscina } from 'piscina';

import type { ErrorReport } from './errors.js';
import { checkKnownKeys, checkOption } from './errors.js';

/** What the user's function receives besides the candidate. */
export interface CandidateInfo {
  /** position in the population */
  readonly index: number;
  /** evaluation seed of this candidate (e.g. `OpenAiEs.candidateSeeds()`), if given */
  readonly seed: number | undefined;
  /** generation, if given */
  readonly generation: number | undefined;
  /** the evaluator's `context` (structured-cloned once per task) */
  readonly context: unknown;
}

/** An error of one candidate: the thrown error's `name`, `code` (or 'WORKER_THREW') and `message`, plus its index. */
export interface CandidateError extends ErrorReport {
  readonly index: number;
}

/** Fitness in population order plus the errors of failed candidates. */
export interface EvaluationReport {
  readonly fitness: number[];
  readonly errors: CandidateError[];
}

/** Options of {@link PopulationEvaluator}. */
export interface PopulationEvaluatorOptions {
  /** path (absolute, or relative to the working directory) or file URL of the module with the fitness function */
  readonly module: string | URL;
  /** name of the exported function (default 'default') */
  readonly exportName?: string;
  /** worker threads (default: `os.availableParallelism()`) */
  readonly threads?: number;
  /** fitness given to a candidate whose function failed (default +∞: ranked worst by the strategies) */
  readonly failureFitness?: number;
  /** structured-cloneable data passed to every call as `info.context` */
  readonly context?: unknown;
}

/** Per-call extras of {@link PopulationEvaluator.evaluate}. */
export interface EvaluateInfo {
  /** one seed per candidate (same length as the population) */
  readonly seeds?: readonly number[];
  readonly generation?: number;
}

const OPTION_KEYS = ['module', 'exportName', 'threads', 'failureFitness', 'context'] as const;

interface WorkerResult {
  ok: boolean;
  f?: number;
  error?: ErrorReport;
}

/** The worker entry shipped next to this module (src/ under tests, dist/ when built). */
const WORKER_FILE = join(dirname(fileURLToPath(import.meta.url)), 'eval-worker.mjs');

function moduleUrl(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (m.startsWith('file:')) return m;
  return pathToFileURL(resolve(m)).href;
}

/** A pool of worker threads that evaluates populations; call {@link PopulationEvaluator.close} when done. */
export class PopulationEvaluator {
  private readonly pool: Piscina;
  private readonly url: string;
  private readonly exportName: string;
  private readonly failureFitness: number;
  private readonly context: unknown;

  constructor(options: PopulationEvaluatorOptions) {
    const where = 'PopulationEvaluator';
    checkOption(typeof options === 'object' && options !== null, where, () => 'options must be an object');
    checkKnownKeys(options, OPTION_KEYS, where);
    checkOption(
      typeof options.module === 'string' || options.module instanceof URL,
      where,
      () => 'module must be a path or file URL',
    );
    const threads = options.threads ?? availableParallelism();
    checkOption(Number.isInteger(threads) && threads >= 1, where, () => `threads must be an integer >= 1, got ${threads}`);
    this.url = moduleUrl(options.module);
    this.exportName = options.exportName ?? 'default';
    this.failureFitness = options.failureFitness ?? Infinity;
    this.context = options.context;
    this.pool = new Piscina({ filename: WORKER_FILE, minThreads: threads, maxThreads: threads });
  }

  /** worker threads in the pool */
  get threads(): number {
    return this.pool.threads.length;
  }

  /** Evaluates every candidate (concurrently across threads); fitness comes back in population order. */
  async evaluate(xs: readonly Float64Array[], info: EvaluateInfo = {}): Promise<EvaluationReport> {
    if (info.seeds !== undefined) {
      checkOption(info.seeds.length === xs.length, 'PopulationEvaluator.evaluate', () => `seeds has ${info.seeds?.length} entries for ${xs.length} candidates`);
    }
    const results = await Promise.all(
      xs.map((x, index) => {
        const task = {
          moduleUrl: this.url,
          exportName: this.exportName,
          x,
          info: { index, seed: info.seeds?.[index], generation: info.generation, context: this.context },
        };
        return (this.pool.run(task) as Promise<WorkerResult>).catch(
          (e: unknown): WorkerResult => ({
            ok: false,
            error: {
              name: 'EvolveError',
              code: 'WORKER_CRASHED',
              message: `worker thread failed on candidate ${index}: ${e instanceof Error ? e.message : String(e)}`,
            },
          }),
        );
      }),
    );
    const fitness: number[] = [];
    const errors: CandidateError[] = [];
    results.forEach((r, index) => {
      if (r.ok && typeof r.f === 'number') {
        fitness.push(r.f);
      } else {
        fitness.push(this.failureFitness);
        const e = r.error ?? { name: 'EvolveError', code: 'WORKER_BAD_RESULT', message: 'malformed worker result' };
        errors.push({ index, ...e });
      }
    });
    return { fitness, errors };
  }

  /** Stops the worker threads (pending evaluations are rejected). */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/** One-shot helper: a pool for one population, closed afterwards. */
export async function evaluatePopulation(
  xs: readonly Float64Array[],
  options: PopulationEvaluatorOptions & EvaluateInfo,
): Promise<EvaluationReport> {
  const { seeds, generation, ...poolOptions } = options;
  const pool = new PopulationEvaluator(poolOptions);
  try {
    return await pool.evaluate(xs, {
      ...(seeds === undefined ? {} : { seeds }),
      ...(generation === undefined ? {} : { generation }),
    });
  } finally {
    await pool.close();
  }
}
