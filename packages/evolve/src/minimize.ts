/**
 * `minimize`: CMA-ES with IPOP restarts (Auger & Hansen 2005; cmaes.md §2.4): after a run stops on a local criterion,
 * start again with the population size multiplied by `incPopSize` (λ doubling by default), until the target is
 * reached, the budget is spent, or `restarts` restarts have been made.
 */
import { Rng } from '@vsml/rng';

import { CmaEs } from './cmaes.js';
import { checkKnownKeys, checkOption } from './errors.js';
import type { Best } from './strategies/base.js';
import { defaultPopSize } from './strategies/cmaes-params.js';
import type { TerminationOptions } from './strategies/termination.js';

/** A fitness function of one candidate (sync or async). */
export type Objective = (x: Float64Array) => number | Promise<number>;

/** Anything that evaluates a whole population, e.g. a {@link PopulationEvaluator} over worker threads. */
export interface BatchObjective {
  evaluate(xs: readonly Float64Array[]): Promise<{ readonly fitness: readonly number[] }>;
}

/** Progress of {@link minimize}, reported after every generation. */
export interface MinimizeProgress {
  /** 0 for the first run, then 1, 2, … */
  readonly restart: number;
  /** λ of the current run */
  readonly popSize: number;
  /** generation within the current run */
  readonly generation: number;
  /** evaluations over all runs */
  readonly evaluations: number;
  /** σ of the current run */
  readonly sigma: number;
  /** best f of the current run */
  readonly runBest: number;
  /** best f over all runs */
  readonly best: number;
}

/** Options of {@link minimize}. */
export interface MinimizeOptions {
  /** start point, or a function giving one per run (e.g. uniform in a box, as in cmaes.md §3.4) */
  readonly x0: Float64Array | readonly number[] | ((run: { restart: number; rng: Rng }) => Float64Array | readonly number[]);
  /** initial σ of every run */
  readonly sigma0: number;
  readonly seed: number;
  /** λ of the first run (default 4 + ⌊3 ln n⌋) */
  readonly popSize?: number;
  /** separable CMA-ES (default false) */
  readonly diagonal?: boolean;
  /** active CMA (default true) */
  readonly active?: boolean;
  /** maximal number of restarts (default 9; 0 = a single run) */
  readonly restarts?: number;
  /** factor on λ at each restart (default 2) */
  readonly incPopSize?: number;
  /** stop once f ≤ ftarget (default −∞) */
  readonly ftarget?: number;
  /** evaluation budget over all runs (default ∞) */
  readonly maxfevals?: number;
  /** per-run termination settings (ftarget and maxfevals are set from the options above) */
  readonly termination?: Partial<Omit<TerminationOptions, 'ftarget' | 'maxfevals'>>;
  /** called after every generation; return `false` to stop */
  readonly onProgress?: (p: MinimizeProgress) => void | boolean;
}

/** One CMA-ES run inside {@link minimize}. */
export interface RunSummary {
  readonly restart: number;
  readonly popSize: number;
  readonly seed: number;
  readonly generations: number;
  readonly evaluations: number;
  /** best f of the run (∞ if nothing finite) */
  readonly best: number;
  /** why the run ended */
  readonly stop: readonly string[];
}

/** Result of {@link minimize}. */
export interface MinimizeResult {
  /** best candidate over all runs (null if no evaluation was finite) */
  readonly best: Best | null;
  /** its f (∞ if none) */
  readonly f: number;
  /** evaluations over all runs */
  readonly evaluations: number;
  /** true when `ftarget` was reached */
  readonly success: boolean;
  /** why minimize ended: 'ftarget', 'maxfevals', 'restarts' (all used), 'callback' */
  readonly stop: readonly string[];
  readonly runs: readonly RunSummary[];
}

const OPTION_KEYS = [
  'x0', 'sigma0', 'seed', 'popSize', 'diagonal', 'active', 'restarts', 'incPopSize', 'ftarget', 'maxfevals',
  'termination', 'onProgress',
] as const;

function isThenable(v: unknown): v is PromiseLike<number> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

async function evaluateAll(fn: Objective | BatchObjective, xs: Float64Array[]): Promise<readonly number[]> {
  if (typeof fn !== 'function') return (await fn.evaluate(xs)).fitness;
  const out: (number | PromiseLike<number>)[] = xs.map((x) => fn(x));
  return out.some(isThenable) ? Promise.all(out) : (out as number[]);
}

/**
 * Minimises `fn` with (IPOP-)CMA-ES. `fn` is called once per candidate (async functions of one generation run
 * concurrently), or pass a {@link BatchObjective} such as a {@link PopulationEvaluator}.
 *
 * ```ts
 * const r = await minimize((x) => x.reduce((s, v) => s + v * v, 0), { x0: [1, 1, 1], sigma0: 0.5, seed: 1, ftarget: 1e-10 });
 * r.best?.x; r.f; r.runs;
 * ```
 */
export async function minimize(fn: Objective | BatchObjective, options: MinimizeOptions): Promise<MinimizeResult> {
  const where = 'minimize';
  checkOption(typeof fn === 'function' || typeof fn?.evaluate === 'function', where, () => 'fn must be a function or have an evaluate(xs) method');
  checkOption(typeof options === 'object' && options !== null, where, () => 'options must be an object');
  checkKnownKeys(options, OPTION_KEYS, where);
  const restarts = options.restarts ?? 9;
  const inc = options.incPopSize ?? 2;
  const ftarget = options.ftarget ?? -Infinity;
  const maxfevals = options.maxfevals ?? Infinity;
  checkOption(Number.isInteger(restarts) && restarts >= 0, where, () => `restarts must be an integer >= 0, got ${restarts}`);
  checkOption(inc >= 1 && Number.isFinite(inc), where, () => `incPopSize must be >= 1, got ${inc}`);
  checkOption(maxfevals > 0, where, () => `maxfevals must be > 0, got ${maxfevals}`);
  checkOption(Number.isSafeInteger(options.seed), where, () => `seed must be a safe integer, got ${options.seed}`);

  let best: Best | null = null;
  let evaluations = 0;
  const runs: RunSummary[] = [];
  let stop: string[] = [];
  let lambda0: number | undefined = options.popSize;

  for (let restart = 0; restart <= restarts; restart++) {
    const x0 =
      typeof options.x0 === 'function' ? options.x0({ restart, rng: Rng.fromSeed(options.seed, 1, restart) }) : options.x0;
    lambda0 ??= defaultPopSize(x0.length);
    const popSize = Math.max(2, Math.round(lambda0 * inc ** restart));
    const seed = restart === 0 ? options.seed : Rng.fromSeed(options.seed, 2, restart).uint32();
    const es = new CmaEs({
      x0,
      sigma0: options.sigma0,
      seed,
      popSize,
      ...(options.diagonal === undefined ? {} : { diagonal: options.diagonal }),
      ...(options.active === undefined ? {} : { active: options.active }),
      termination: { ...options.termination, ftarget, maxfevals: maxfevals - evaluations },
    });
    let runStop: string[] | null = null;
    let userStop = false;
    while (runStop === null) {
      const xs = es.ask();
      const fitness = await evaluateAll(fn, xs);
      es.tell(xs, fitness);
      evaluations += es.popSize;
      if (es.best !== null && (best === null || es.best.f < best.f)) best = es.best;
      runStop = es.stop();
      if (options.onProgress !== undefined) {
        const goOn = options.onProgress({
          restart,
          popSize,
          generation: es.generation,
          evaluations,
          sigma: es.sigma,
          runBest: es.best?.f ?? Infinity,
          best: best?.f ?? Infinity,
        });
        if (goOn === false) {
          userStop = true;
          runStop ??= ['callback'];
        }
      }
    }
    runs.push({
      restart, popSize, seed, generations: es.generation, evaluations: es.evaluations, best: es.best?.f ?? Infinity, stop: runStop,
    });
    if (userStop) stop.push('callback');
    if ((best?.f ?? Infinity) <= ftarget) stop.push('ftarget');
    if (evaluations >= maxfevals) stop.push('maxfevals');
    if (stop.length > 0) break;
    if (restart === restarts) stop = ['restarts'];
  }
  const f = best?.f ?? Infinity;
  return { best, f, evaluations, success: f <= ftarget, stop, runs };
}
