/**
 * The evolution path on the flat V_M vector, through `@vsml/evolve`.
 *
 * - {@link esEstimator}: OpenAI-ES as the official code runs it: antithetic pairs θ ± σε_k (σ 0.05), both members of
 *   a pair evaluated on the same episode from the same initial state (one unit seed per pair), raw loss differences
 *   ĝ = mean_k ε_k (L⁺_k − L⁻_k)/(2σ) (evolve's `estimateGradient`, shaping 'none'); the outer loop applies Adam
 *   (official: lr 0.025, no clipping). The noise of a step comes from `Rng.fromSeed(ctx.seed, 'nois')`, its unit
 *   seeds from evolve's `pairSeed(ctx.seed, 0, k)` (ctx.seed: the outer generator's draw): a resumed run repeats them.
 * - {@link sepCmaEstimator}: separable CMA-ES (`CmaEs` with `diagonal: true`) owning its search distribution; every
 *   candidate of a generation is evaluated on the same episodes (common random numbers); returns the new mean.
 */
import { CmaEs, estimateGradient, pairSeed, type OpenAiEsParams } from '@vsml/evolve';
import { Rng } from '@vsml/rng';
import { MetatrainError } from '../errors.js';
import type { Evaluator, EvalUnit } from './evaluators.js';
import type { Estimator, EstimatorOut } from './types.js';

/** Options of {@link esEstimator}. */
export interface EsEstimatorOptions {
  readonly evaluator: Evaluator;
  /** antithetic pairs per step (official 1024) */
  readonly pairs: number;
  /** noise σ (official 0.05) */
  readonly sigma?: number;
  /** 'none' = raw loss differences (official) or 'centeredRank' */
  readonly shaping?: 'none' | 'centeredRank';
}

const K_NOISE = 0x6e6f6973; // 'nois'

/** OpenAI-ES gradient estimator (see module comment). */
export function esEstimator(opts: EsEstimatorOptions): Estimator {
  const sigma = opts.sigma ?? 0.05;
  const pairs = opts.pairs;
  if (!Number.isInteger(pairs) || pairs < 1) throw new MetatrainError('BAD_ARGUMENT', `esEstimator: pairs must be a positive integer, got ${pairs}`);
  return {
    name: 'es',
    async estimate(theta, ctx): Promise<EstimatorOut> {
      const n = theta.length;
      const rng = Rng.fromSeed(ctx.seed, K_NOISE);
      const xs: Float64Array[] = [];
      const units: EvalUnit[] = [];
      for (let k = 0; k < pairs; k++) {
        const plus = new Float64Array(n);
        const minus = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const e = sigma * rng.normal();
          plus[i] = theta[i]! + e;
          minus[i] = theta[i]! - e;
        }
        const seed = pairSeed(ctx.seed, 0, k);
        xs.push(plus, minus);
        units.push({ vmFlat: Float32Array.from(plus), seed }, { vmFlat: Float32Array.from(minus), seed });
      }
      const losses = await opts.evaluator.evaluate(units);
      const params: OpenAiEsParams = {
        n,
        pairs,
        sigma,
        shaping: opts.shaping ?? 'none',
        weightDecay: 0,
        clipGradNorm: 0,
        optimizer: 'adam',
        lr: 0,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        momentum: 0,
      };
      const { grad, usedPairs } = estimateGradient(params, xs, losses);
      let sum = 0;
      let finite = 0;
      for (const l of losses) if (Number.isFinite(l)) {
        sum += l;
        finite++;
      }
      if (usedPairs === 0) throw new MetatrainError('NOT_FINITE', `es: every pair had a non-finite loss at step ${ctx.step}`);
      return { meanLoss: sum / finite, grad: Float32Array.from(grad), metrics: { usedPairs, evaluations: units.length } };
    },
  };
}

/** Options of {@link sepCmaEstimator}. */
export interface SepCmaOptions {
  readonly evaluator: Evaluator;
  /** λ, candidates per generation (even numbers recommended) */
  readonly popSize: number;
  /** initial step size σ⁰ (default 0.05) */
  readonly sigma0?: number;
  /** episodes (unit seeds) per candidate, shared by all candidates of a generation (default 1) */
  readonly episodes?: number;
  /** seed of the strategy's sampling generator (default 0) */
  readonly seed?: number;
}

/** sep-CMA-ES on V_M (see module comment). */
export function sepCmaEstimator(opts: SepCmaOptions): Estimator {
  let es: CmaEs | null = null;
  const episodes = opts.episodes ?? 1;
  return {
    name: 'sep-cma',
    async estimate(theta, ctx): Promise<EstimatorOut> {
      es ??= new CmaEs({ x0: Float64Array.from(theta), sigma0: opts.sigma0 ?? 0.05, seed: opts.seed ?? 0, popSize: opts.popSize, diagonal: true });
      const xs = es.ask();
      const seeds = Array.from({ length: episodes }, (_, e) => pairSeed(ctx.seed, 0, e));
      const units: EvalUnit[] = [];
      for (const x of xs) {
        const v = Float32Array.from(x);
        for (const seed of seeds) units.push({ vmFlat: v, seed });
      }
      const losses = await opts.evaluator.evaluate(units);
      const fitness = xs.map((_, i) => {
        let s = 0;
        for (let e = 0; e < episodes; e++) s += losses[i * episodes + e]!;
        return s / episodes;
      });
      es.tell(xs, fitness);
      const finite = fitness.filter(Number.isFinite);
      return {
        meanLoss: finite.reduce((a, b) => a + b, 0) / Math.max(1, finite.length),
        theta: Float32Array.from(es.mean),
        metrics: { sigma: (es as unknown as { sigma: number }).sigma ?? NaN, bestLoss: Math.min(...finite) },
      };
    },
    state: () => (es ? es.toJSON() : null),
    restore(state) {
      es = state === null || state === undefined ? null : CmaEs.fromJSON(state);
    },
  };
}
