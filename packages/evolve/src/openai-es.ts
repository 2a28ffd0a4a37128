/**
 * `OpenAiEs`: the public ask/tell wrapper around `strategies/openai-es.ts` (minimisation).
 */
import type { RngState } from '@vsml/rng';

import { checkKnownKeys, checkOption, EvolveError } from './errors.js';
import type { JsonNumber } from './json.js';
import { decodeArray, decodeNumber, decodeRecord, encodeArray, encodeNumber, encodeRecord, field, readCheckpoint } from './json.js';
import type { AskTellOptimizer, Best, NormalSource } from './strategies/base.js';
import { checkPopulation } from './strategies/base.js';
import { defaultPopSize } from './strategies/cmaes-params.js';
import type { OpenAiEsParams, OpenAiEsState, OpenAiEsTellInfo, Shaping } from './strategies/openai-es.js';
import { openAiEsAsk, openAiEsInit, openAiEsTell, pairSeed } from './strategies/openai-es.js';

/** Termination of OpenAI-ES (it has no convergence criteria of its own). */
export interface OpenAiEsTermination {
  /** stop after this many generations (default ∞) */
  readonly maxiter?: number;
  /** stop after this many evaluations (default ∞) */
  readonly maxfevals?: number;
  /** stop once the best candidate's f ≤ ftarget (default −∞) */
  readonly ftarget?: number;
}

/** Options of {@link OpenAiEs}; every setting but x0 and seed has the official VSML value as default. */
export interface OpenAiEsOptions {
  /** initial θ */
  readonly x0: Float64Array | readonly number[];
  /** seed of the noise generator and of the per-pair evaluation seeds */
  readonly seed: number;
  /** antithetic pairs per generation (default ⌈(4 + ⌊3 ln n⌋)/2⌉; VSML: 1024) */
  readonly pairs?: number;
  /** noise σ (default 0.05) */
  readonly sigma?: number;
  /** 'none' = raw loss differences (default, VSML) or 'centeredRank' */
  readonly shaping?: Shaping;
  /** 'adam' (default) or 'sgd' */
  readonly optimizer?: 'adam' | 'sgd';
  /** learning rate (default 0.025) */
  readonly lr?: number;
  /** Adam β1 (default 0.9) */
  readonly beta1?: number;
  /** Adam β2 (default 0.999) */
  readonly beta2?: number;
  /** Adam ε (default 1e-8) */
  readonly eps?: number;
  /** SGD momentum (default 0) */
  readonly momentum?: number;
  /** L2 weight decay added to the gradient (default 0) */
  readonly weightDecay?: number;
  /** gradient-norm clipping (default 0 = off) */
  readonly clipGradNorm?: number;
  readonly termination?: OpenAiEsTermination;
  /** an injected N(0,1) stream instead of the seeded generator (tests); such an instance cannot be checkpointed */
  readonly normalSource?: NormalSource;
}

/**
 * The official VSML OpenAI-ES setting ([VS] `configs/default.yaml`, cmaes.md §4): 1024 antithetic pairs (2048
 * evaluations per step), σ = 0.05 fixed, no shaping, Adam(0.9, 0.999, 1e-8) with lr 0.025, no clipping.
 * Use as `new OpenAiEs({ ...OPENAI_ES_VSML, x0, seed })`.
 */
export const OPENAI_ES_VSML = {
  pairs: 1024,
  sigma: 0.05,
  shaping: 'none',
  optimizer: 'adam',
  lr: 0.025,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  clipGradNorm: 0,
} as const satisfies Partial<OpenAiEsOptions>;

const OPTION_KEYS = [
  'x0', 'seed', 'pairs', 'sigma', 'shaping', 'optimizer', 'lr', 'beta1', 'beta2', 'eps', 'momentum', 'weightDecay',
  'clipGradNorm', 'termination', 'normalSource',
] as const;

/** Checkpoint format written by {@link OpenAiEs.toJSON}. */
export const OPENAI_ES_CHECKPOINT_FORMAT = 'vsml-evolve/openai-es';
const CHECKPOINT_VERSION = 1;

/** Plain JSON data of an {@link OpenAiEs}. */
export interface OpenAiEsCheckpoint {
  readonly format: typeof OPENAI_ES_CHECKPOINT_FORMAT;
  readonly version: 1;
  readonly options: Record<string, JsonNumber | boolean | string | Record<string, JsonNumber | boolean>>;
  readonly state: Record<string, unknown>;
}

/**
 * OpenAI-ES with antithetic pairs and Adam (minimisation).
 *
 * ```ts
 * const es = new OpenAiEs({ ...OPENAI_ES_VSML, pairs: 64, x0, seed: 1 });
 * const xs = es.ask();                       // [θ+σε_0, θ−σε_0, θ+σε_1, …]
 * const seeds = es.candidateSeeds();         // one data/episode seed per pair, shared by its two members
 * es.tell(xs, xs.map((x, k) => loss(x, seeds[k])));
 * ```
 */
export class OpenAiEs implements AskTellOptimizer {
  /** fixed settings */
  readonly params: OpenAiEsParams;
  private readonly s: OpenAiEsState;
  private readonly termination: Required<OpenAiEsTermination>;
  private readonly normal: NormalSource | undefined;

  constructor(options: OpenAiEsOptions) {
    const where = 'OpenAiEs';
    checkOption(typeof options === 'object' && options !== null, where, () => 'options must be an object');
    checkKnownKeys(options, OPTION_KEYS, where);
    const { x0, seed } = options;
    checkOption(
      (x0 instanceof Float64Array || Array.isArray(x0)) && x0.length > 0,
      where,
      () => 'x0 must be a non-empty Float64Array or number array',
    );
    const theta = Float64Array.from(x0);
    checkOption(theta.every(Number.isFinite), where, () => 'x0 has a non-finite entry');
    checkOption(Number.isSafeInteger(seed), where, () => `seed must be a safe integer, got ${seed}`);
    const n = theta.length;
    const p: OpenAiEsParams = {
      n,
      pairs: options.pairs ?? Math.ceil(defaultPopSize(n) / 2),
      sigma: options.sigma ?? OPENAI_ES_VSML.sigma,
      shaping: options.shaping ?? OPENAI_ES_VSML.shaping,
      optimizer: options.optimizer ?? OPENAI_ES_VSML.optimizer,
      lr: options.lr ?? OPENAI_ES_VSML.lr,
      beta1: options.beta1 ?? OPENAI_ES_VSML.beta1,
      beta2: options.beta2 ?? OPENAI_ES_VSML.beta2,
      eps: options.eps ?? OPENAI_ES_VSML.eps,
      momentum: options.momentum ?? 0,
      weightDecay: options.weightDecay ?? OPENAI_ES_VSML.weightDecay,
      clipGradNorm: options.clipGradNorm ?? OPENAI_ES_VSML.clipGradNorm,
    };
    checkOption(Number.isInteger(p.pairs) && p.pairs >= 1, where, () => `pairs must be an integer >= 1, got ${p.pairs}`);
    checkOption(p.sigma > 0 && Number.isFinite(p.sigma), where, () => `sigma must be a finite number > 0, got ${p.sigma}`);
    checkOption(p.shaping === 'none' || p.shaping === 'centeredRank', where, () => `shaping must be 'none' or 'centeredRank', got ${String(p.shaping)}`);
    checkOption(p.optimizer === 'adam' || p.optimizer === 'sgd', where, () => `optimizer must be 'adam' or 'sgd', got ${String(p.optimizer)}`);
    checkOption(p.lr > 0 && Number.isFinite(p.lr), where, () => `lr must be a finite number > 0, got ${p.lr}`);
    checkOption(p.beta1 >= 0 && p.beta1 < 1, where, () => `beta1 must be in [0, 1), got ${p.beta1}`);
    checkOption(p.beta2 >= 0 && p.beta2 < 1, where, () => `beta2 must be in [0, 1), got ${p.beta2}`);
    checkOption(p.eps >= 0 && Number.isFinite(p.eps), where, () => `eps must be a finite number >= 0, got ${p.eps}`);
    checkOption(p.momentum >= 0 && p.momentum < 1, where, () => `momentum must be in [0, 1), got ${p.momentum}`);
    checkOption(p.weightDecay >= 0 && Number.isFinite(p.weightDecay), where, () => `weightDecay must be >= 0, got ${p.weightDecay}`);
    checkOption(p.clipGradNorm >= 0, where, () => `clipGradNorm must be >= 0 (0 = off), got ${p.clipGradNorm}`);
    checkOption(options.normalSource === undefined || typeof options.normalSource === 'function', where, () => 'normalSource must be a function');
    const t = options.termination ?? {};
    checkKnownKeys(t, ['maxiter', 'maxfevals', 'ftarget'], `${where}.termination`);
    this.termination = { maxiter: t.maxiter ?? Infinity, maxfevals: t.maxfevals ?? Infinity, ftarget: t.ftarget ?? -Infinity };
    this.params = p;
    this.s = openAiEsInit(p, theta, seed);
    this.normal = options.normalSource;
  }

  get dimension(): number {
    return this.params.n;
  }

  /** evaluations per generation: 2 · pairs */
  get popSize(): number {
    return 2 * this.params.pairs;
  }

  /** a copy of θ */
  get mean(): Float64Array {
    return Float64Array.from(this.s.theta);
  }

  /** the (fixed) noise σ */
  get sigma(): number {
    return this.params.sigma;
  }

  get generation(): number {
    return this.s.generation;
  }

  get evaluations(): number {
    return this.s.evaluations;
  }

  /** NaN/±∞ fitness values told so far */
  get nonFiniteEvaluations(): number {
    return this.s.nonFinite;
  }

  /** best finite candidate told so far (a perturbed θ, not θ itself), or null */
  get best(): Best | null {
    return this.s.best;
  }

  /** a copy of the last gradient estimate ĝ (before weight decay and clipping), or null */
  get gradient(): Float64Array | null {
    return this.s.gradient === null ? null : Float64Array.from(this.s.gradient);
  }

  /** the internal state, read-only (copy what you keep) */
  get state(): Readonly<OpenAiEsState> {
    return this.s;
  }

  /** 2·pairs candidates, pair k = members 2k (θ+σε_k) and 2k+1 (θ−σε_k). */
  ask(): Float64Array[] {
    return openAiEsAsk(this.s, this.params, this.normal);
  }

  /**
   * Evaluation seeds for the current generation, one per candidate and equal within a pair: use them for the data
   * batch and episode randomness so both members of a pair see the same noise (common random numbers).
   */
  candidateSeeds(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.params.pairs; k++) {
      const seed = pairSeed(this.s.seed, this.s.generation, k);
      out.push(seed, seed);
    }
    return out;
  }

  /** Estimates the gradient from the pairs' fitness and takes one optimiser step. */
  tell(xs: readonly Float64Array[], fitness: readonly number[] | Float64Array): OpenAiEsTellInfo {
    checkPopulation('OpenAiEs.tell', xs, fitness, this.params.n, 2 * this.params.pairs);
    return openAiEsTell(this.s, this.params, xs, fitness);
  }

  /** 'maxiter', 'maxfevals', 'ftarget' when they hold, else null. */
  stop(): string[] | null {
    const out: string[] = [];
    if ((this.s.best?.f ?? Infinity) <= this.termination.ftarget) out.push('ftarget');
    if (this.s.evaluations >= this.termination.maxfevals) out.push('maxfevals');
    if (this.s.generation >= this.termination.maxiter) out.push('maxiter');
    return out.length > 0 ? out : null;
  }

  /** Full state as plain JSON data (with the generator); `OpenAiEs.fromJSON` continues identically. */
  toJSON(): OpenAiEsCheckpoint {
    if (this.normal !== undefined) {
      throw new EvolveError('NOT_SERIALISABLE', 'OpenAiEs.toJSON: this instance draws from an injected normalSource; nothing to save');
    }
    const { n: _n, ...settings } = this.params;
    const s = this.s;
    return {
      format: OPENAI_ES_CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      options: { ...settings, seed: s.seed, termination: encodeRecord(this.termination) },
      state: {
        theta: encodeArray(s.theta),
        opt: { m: encodeArray(s.opt.m), v: encodeArray(s.opt.v), t: s.opt.t },
        generation: s.generation,
        evaluations: s.evaluations,
        nonFinite: s.nonFinite,
        droppedPairs: s.droppedPairs,
        best: s.best === null ? null : { x: encodeArray(s.best.x), f: encodeNumber(s.best.f), generation: s.best.generation },
        rng: s.rng,
        gradient: s.gradient === null ? null : encodeArray(s.gradient),
      },
    };
  }

  /** Restores a strategy saved with {@link OpenAiEs.toJSON} (the object, or its JSON text). */
  static fromJSON(json: unknown): OpenAiEs {
    const where = OPENAI_ES_CHECKPOINT_FORMAT;
    const o = readCheckpoint(json, where, CHECKPOINT_VERSION);
    const opts = field(o, 'options', where);
    const st = field(o, 'state', where);
    const theta = decodeArray(st['theta'], `${where}.state.theta`);
    const { termination, ...settings } = opts;
    let es: OpenAiEs;
    try {
      es = new OpenAiEs({
        ...(settings as Partial<OpenAiEsOptions>),
        x0: theta,
        seed: settings['seed'] as number,
        termination: decodeRecord(termination ?? {}, `${where}.options.termination`) as OpenAiEsTermination,
      });
    } catch (e) {
      throw new EvolveError('INVALID_CHECKPOINT', `${where}: options do not make a valid OpenAiEs (${(e as Error).message})`, { cause: e });
    }
    const s = es.s;
    const n = theta.length;
    const opt = field(st, 'opt', `${where}.state`);
    s.opt = {
      m: decodeArray(opt['m'], `${where}.state.opt.m`, n),
      v: decodeArray(opt['v'], `${where}.state.opt.v`, n),
      t: decodeNumber(opt['t'], `${where}.state.opt.t`),
    };
    for (const k of ['generation', 'evaluations', 'nonFinite', 'droppedPairs'] as const) {
      const v = st[k];
      if (!Number.isSafeInteger(v)) throw new EvolveError('INVALID_CHECKPOINT', `${where}.state.${k}: expected an integer`);
      s[k] = v as number;
    }
    const best = st['best'] as Record<string, unknown> | null | undefined;
    s.best =
      best === null || best === undefined
        ? null
        : {
            x: decodeArray(best['x'], `${where}.state.best.x`, n),
            f: decodeNumber(best['f'], `${where}.state.best.f`),
            generation: decodeNumber(best['generation'], `${where}.state.best.generation`),
          };
    const rng = st['rng'] as RngState;
    if (rng?.kind !== 'xoroshiro128plus' || !Array.isArray(rng.words) || rng.words.length !== 4) {
      throw new EvolveError('INVALID_CHECKPOINT', `${where}.state.rng: not a generator state`);
    }
    s.rng = { kind: rng.kind, words: [...rng.words], spare: rng.spare ?? null };
    s.gradient = st['gradient'] === null || st['gradient'] === undefined ? null : decodeArray(st['gradient'], `${where}.state.gradient`, n);
    return es;
  }
}
