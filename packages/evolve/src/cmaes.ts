/**
 * `CmaEs`: the public ask/tell wrapper around the CMA-ES maths in `strategies/cmaes.ts` (full covariance, or
 * separable with `diagonal: true`). Minimisation; only the ranks of the fitness values enter the update.
 */
import type { RngState } from '@vsml/rng';

import { checkKnownKeys, checkOption, EvolveError } from './errors.js';
import type { JsonNumber } from './json.js';
import { decodeArray, decodeNumber, decodeRecord, encodeArray, encodeNumber, encodeRecord, field, readCheckpoint } from './json.js';
import type { AskTellOptimizer, Best, NormalSource } from './strategies/base.js';
import { checkPopulation } from './strategies/base.js';
import type { CmaesParams } from './strategies/cmaes-params.js';
import { cmaesParams, defaultPopSize } from './strategies/cmaes-params.js';
import type { CmaesState, CmaesTellInfo } from './strategies/cmaes.js';
import { cmaesAsk, cmaesInit, cmaesTell } from './strategies/cmaes.js';
import type { StopReason, TerminationOptions } from './strategies/termination.js';
import { checkStop, STOP_REASONS, terminationDefaults } from './strategies/termination.js';

/** Options of {@link CmaEs}. */
export interface CmaEsOptions {
  /** initial mean m⁰ (its length is the dimension n) */
  readonly x0: Float64Array | readonly number[];
  /** initial step size σ⁰ > 0 (about a quarter of the search range) */
  readonly sigma0: number;
  /** seed of the random generator (a safe integer) */
  readonly seed: number;
  /** λ, candidates per generation (default 4 + ⌊3 ln n⌋; at least 2) */
  readonly popSize?: number;
  /** separable CMA-ES: diagonal C with pycma's sep learning rates; O(n) per candidate (default false) */
  readonly diagonal?: boolean;
  /** active CMA: negative weights for the worst candidates in the covariance update (default true) */
  readonly active?: boolean;
  /** termination settings (pycma names and defaults) */
  readonly termination?: Partial<TerminationOptions>;
  /**
   * An injected N(0,1) stream instead of the seeded generator, for tests against a reference trace. A strategy
   * using it cannot be checkpointed.
   */
  readonly normalSource?: NormalSource;
}

const OPTION_KEYS = ['x0', 'sigma0', 'seed', 'popSize', 'diagonal', 'active', 'termination', 'normalSource'] as const;
const TERMINATION_KEYS: readonly string[] = [
  'ftarget', 'maxfevals', 'maxiter', 'tolfun', 'tolfunhist', 'tolx', 'tolconditioncov', 'tolstagnation',
  'tolflatfitness', 'tolfacupx', 'tolupsigma', 'noeffectaxis', 'noeffectcoord',
];

/** Checkpoint format written by {@link CmaEs.toJSON}. */
export const CMAES_CHECKPOINT_FORMAT = 'vsml-evolve/cmaes';
const CHECKPOINT_VERSION = 1;

/** Plain JSON data of a {@link CmaEs} (see `toJSON`). */
export interface CmaEsCheckpoint {
  readonly format: typeof CMAES_CHECKPOINT_FORMAT;
  readonly version: 1;
  readonly options: {
    readonly n: number;
    readonly popSize: number;
    readonly diagonal: boolean;
    readonly active: boolean;
    readonly seed: number;
    readonly termination: Record<string, JsonNumber | boolean>;
  };
  readonly state: Record<string, unknown>;
}

function checkTermination(t: Partial<TerminationOptions> | undefined, where: string): void {
  if (t === undefined) return;
  checkOption(typeof t === 'object' && t !== null, where, () => 'termination must be an object');
  checkKnownKeys(t, TERMINATION_KEYS, `${where}.termination`);
  for (const [k, v] of Object.entries(t)) {
    if (k === 'noeffectaxis' || k === 'noeffectcoord') {
      checkOption(typeof v === 'boolean', where, () => `termination.${k} must be a boolean`);
    } else {
      checkOption(typeof v === 'number' && !Number.isNaN(v), where, () => `termination.${k} must be a number`);
    }
  }
}

/**
 * CMA-ES with ask/tell (minimisation).
 *
 * ```ts
 * const es = new CmaEs({ x0: new Float64Array(10).fill(1), sigma0: 0.5, seed: 1 });
 * while (!es.stop()) {
 *   const xs = es.ask();
 *   es.tell(xs, xs.map(f));
 * }
 * es.best; // { x, f, generation }
 * ```
 */
export class CmaEs implements AskTellOptimizer {
  /** fixed strategy parameters (derived from n, λ and the mode) */
  readonly params: CmaesParams;
  private readonly s: CmaesState;
  private readonly seed: number;
  private readonly userTermination: Partial<TerminationOptions>;
  private readonly termination: TerminationOptions;
  private readonly normal: NormalSource | undefined;

  constructor(options: CmaEsOptions) {
    const where = 'CmaEs';
    checkOption(typeof options === 'object' && options !== null, where, () => 'options must be an object');
    checkKnownKeys(options, OPTION_KEYS, where);
    const { x0, sigma0, seed } = options;
    checkOption(
      (x0 instanceof Float64Array || Array.isArray(x0)) && x0.length > 0,
      where,
      () => 'x0 must be a non-empty Float64Array or number array',
    );
    const mean = Float64Array.from(x0);
    checkOption(mean.every(Number.isFinite), where, () => 'x0 has a non-finite entry');
    checkOption(typeof sigma0 === 'number' && sigma0 > 0 && Number.isFinite(sigma0), where, () => `sigma0 must be a finite number > 0, got ${sigma0}`);
    checkOption(Number.isSafeInteger(seed), where, () => `seed must be a safe integer, got ${seed}`);
    const n = mean.length;
    const popSize = options.popSize ?? defaultPopSize(n);
    checkOption(Number.isInteger(popSize) && popSize >= 2, where, () => `popSize must be an integer >= 2, got ${popSize}`);
    checkOption(options.diagonal === undefined || typeof options.diagonal === 'boolean', where, () => 'diagonal must be a boolean');
    checkOption(options.active === undefined || typeof options.active === 'boolean', where, () => 'active must be a boolean');
    checkOption(options.normalSource === undefined || typeof options.normalSource === 'function', where, () => 'normalSource must be a function');
    checkTermination(options.termination, where);

    this.params = cmaesParams(n, { popSize, diagonal: options.diagonal ?? false, active: options.active ?? true });
    this.s = cmaesInit(this.params, mean, sigma0, seed);
    this.seed = seed;
    this.userTermination = { ...options.termination };
    this.termination = terminationDefaults(n, popSize, this.userTermination);
    this.normal = options.normalSource;
  }

  /** problem dimension n */
  get dimension(): number {
    return this.params.n;
  }

  /** λ */
  get popSize(): number {
    return this.params.lambda;
  }

  /** a copy of the mean m */
  get mean(): Float64Array {
    return Float64Array.from(this.s.mean);
  }

  /** the step size σ */
  get sigma(): number {
    return this.s.sigma;
  }

  /** completed generations */
  get generation(): number {
    return this.s.generation;
  }

  /** fitness values told so far (λ per generation) */
  get evaluations(): number {
    return this.s.evaluations;
  }

  /** NaN/±∞ fitness values told so far (ranked worst) */
  get nonFiniteEvaluations(): number {
    return this.s.nonFinite;
  }

  /** the best finite candidate told so far, or null */
  get best(): Best | null {
    return this.s.best;
  }

  /**
   * The internal state (m, σ, C, B, D, p_σ, p_c, counters, history), read-only: copy what you keep, mutate nothing.
   * In full mode `C` and `B` are n×n row-major; in diagonal mode `C` holds the n variances.
   */
  get state(): Readonly<CmaesState> {
    return this.s;
  }

  /** λ new candidates x_k = m + σ C^{1/2} z_k (advances the generator). */
  ask(): Float64Array[] {
    return cmaesAsk(this.s, this.params, this.normal);
  }

  /** Updates the distribution from the fitness of `xs` (same order as returned by `ask`; smaller is better). */
  tell(xs: readonly Float64Array[], fitness: readonly number[] | Float64Array): CmaesTellInfo {
    checkPopulation('CmaEs.tell', xs, fitness, this.params.n, this.params.lambda);
    return cmaesTell(this.s, this.params, xs, fitness);
  }

  /** Termination reasons that hold now (pycma names, e.g. `['tolfun']`), or null to go on. */
  stop(): StopReason[] | null {
    const reasons = checkStop({
      p: this.params,
      opts: this.termination,
      mean: this.s.mean,
      sigma: this.s.sigma,
      sigma0: this.s.sigma0,
      pC: this.s.pC,
      cov: this.s,
      generation: this.s.generation,
      evaluations: this.s.evaluations,
      bestF: this.s.best?.f ?? Infinity,
      history: this.s.history,
    });
    return reasons.length > 0 ? reasons : null;
  }

  /** Full state as plain JSON data, including the generator: `CmaEs.fromJSON(es.toJSON())` continues identically. */
  toJSON(): CmaEsCheckpoint {
    if (this.normal !== undefined) {
      throw new EvolveError('NOT_SERIALISABLE', 'CmaEs.toJSON: this instance draws from an injected normalSource; nothing to save');
    }
    const s = this.s;
    const h = s.history;
    return {
      format: CMAES_CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      options: {
        n: this.params.n,
        popSize: this.params.lambda,
        diagonal: this.params.diagonal,
        active: this.params.active,
        seed: this.seed,
        termination: encodeRecord(this.userTermination as Record<string, number | boolean>),
      },
      state: {
        mean: encodeArray(s.mean),
        sigma: encodeNumber(s.sigma),
        sigma0: encodeNumber(s.sigma0),
        pSigma: encodeArray(s.pSigma),
        pC: encodeArray(s.pC),
        C: encodeArray(s.C),
        B: encodeArray(s.B),
        D: encodeArray(s.D),
        eigenGeneration: s.eigenGeneration,
        generation: s.generation,
        evaluations: s.evaluations,
        nonFinite: s.nonFinite,
        skipped: s.skipped,
        hSigma: s.hSigma,
        best: s.best === null ? null : { x: encodeArray(s.best.x), f: encodeNumber(s.best.f), generation: s.best.generation },
        rng: s.rng,
        history: {
          best: encodeArray(h.best),
          stagBest: encodeArray(h.stagBest),
          stagMedian: encodeArray(h.stagMedian),
          range: encodeNumber(h.range),
          flat: h.flat,
        },
      },
    };
  }

  /** Restores a strategy saved with {@link CmaEs.toJSON} (the object, or its JSON text). */
  static fromJSON(json: unknown): CmaEs {
    const where = CMAES_CHECKPOINT_FORMAT;
    const o = readCheckpoint(json, where, CHECKPOINT_VERSION);
    const opts = field(o, 'options', where);
    const st = field(o, 'state', where);
    const n = opts['n'];
    const popSize = opts['popSize'];
    if (!Number.isInteger(n) || !Number.isInteger(popSize) || typeof opts['diagonal'] !== 'boolean' || typeof opts['active'] !== 'boolean') {
      throw new EvolveError('INVALID_CHECKPOINT', `${where}.options: n, popSize, diagonal, active are required`);
    }
    const nn = n as number;
    const diagonal = opts['diagonal'];
    const mean = decodeArray(st['mean'], `${where}.state.mean`, nn);
    const termination = decodeRecord(opts['termination'] ?? {}, `${where}.options.termination`) as Partial<TerminationOptions>;
    let es: CmaEs;
    try {
      es = new CmaEs({
        x0: mean,
        sigma0: decodeNumber(st['sigma0'], `${where}.state.sigma0`),
        seed: opts['seed'] as number,
        popSize: popSize as number,
        diagonal,
        active: opts['active'],
        termination,
      });
    } catch (e) {
      throw new EvolveError('INVALID_CHECKPOINT', `${where}: options do not make a valid CmaEs (${(e as Error).message})`, { cause: e });
    }
    const s = es.s;
    const num = (k: string): number => decodeNumber(st[k], `${where}.state.${k}`);
    const int = (k: string): number => {
      const v = st[k];
      if (!Number.isSafeInteger(v)) throw new EvolveError('INVALID_CHECKPOINT', `${where}.state.${k}: expected an integer`);
      return v as number;
    };
    s.sigma = num('sigma');
    s.pSigma = decodeArray(st['pSigma'], `${where}.state.pSigma`, nn);
    s.pC = decodeArray(st['pC'], `${where}.state.pC`, nn);
    s.C = decodeArray(st['C'], `${where}.state.C`, diagonal ? nn : nn * nn);
    s.B = decodeArray(st['B'], `${where}.state.B`, diagonal ? 0 : nn * nn);
    s.D = decodeArray(st['D'], `${where}.state.D`, nn);
    s.eigenGeneration = int('eigenGeneration');
    s.generation = int('generation');
    s.evaluations = int('evaluations');
    s.nonFinite = int('nonFinite');
    s.skipped = int('skipped');
    s.hSigma = num('hSigma');
    const best = st['best'];
    if (best === null || best === undefined) {
      s.best = null;
    } else {
      const b = best as Record<string, unknown>;
      s.best = {
        x: decodeArray(b['x'], `${where}.state.best.x`, nn),
        f: decodeNumber(b['f'], `${where}.state.best.f`),
        generation: decodeNumber(b['generation'], `${where}.state.best.generation`),
      };
    }
    const rng = st['rng'] as RngState;
    if (rng?.kind !== 'xoroshiro128plus' || !Array.isArray(rng.words) || rng.words.length !== 4) {
      throw new EvolveError('INVALID_CHECKPOINT', `${where}.state.rng: not a generator state`);
    }
    s.rng = { kind: rng.kind, words: [...rng.words], spare: rng.spare ?? null };
    const h = field(st, 'history', `${where}.state`);
    s.history = {
      best: Array.from(decodeArray(h['best'], `${where}.state.history.best`)),
      stagBest: Array.from(decodeArray(h['stagBest'], `${where}.state.history.stagBest`)),
      stagMedian: Array.from(decodeArray(h['stagMedian'], `${where}.state.history.stagMedian`)),
      range: decodeNumber(h['range'], `${where}.state.history.range`),
      flat: decodeNumber(h['flat'], `${where}.state.history.flat`),
    };
    return es;
  }
}

export { STOP_REASONS };
