/**
 * OpenAI-ES (Salimans et al. 2017, "Evolution Strategies as a Scalable Alternative to Reinforcement Learning") with
 * antithetic pairs, as the official VSML code runs it (cmaes.md §4): pairs θ ± σ ε_k, the gradient estimate
 * ĝ = (1/(Nσ)) Σ_k s_k e_k over all N members (e_k = ±ε), then a first-order optimiser (Adam) on ĝ; σ fixed.
 * Functions update the plain-data {@link OpenAiEsState} in place.
 */
import { Rng } from '@vsml/rng';
import type { RngState } from '@vsml/rng';

import type { OptimizerOptions, OptimizerState } from '../optim.js';
import { optimizerInit, optimizerStep } from '../optim.js';
import { centeredRanks, countNonFinite, rankOrder } from '../shaping.js';
import type { Best, NormalSource } from './base.js';
import { updateBest } from './base.js';

/** Fitness shaping: raw differences (VSML) or centred ranks (Salimans et al.; evosax default). */
export type Shaping = 'none' | 'centeredRank';

/** Fixed settings of OpenAI-ES. */
export interface OpenAiEsParams extends OptimizerOptions {
  /** dimension */
  readonly n: number;
  /** antithetic pairs per generation (population = 2 · pairs) */
  readonly pairs: number;
  /** noise standard deviation σ (fixed) */
  readonly sigma: number;
  /** fitness shaping */
  readonly shaping: Shaping;
  /** L2 weight decay: wd·θ is added to the gradient estimate (0 = off) */
  readonly weightDecay: number;
  /** the gradient (after weight decay) is rescaled to at most this norm (0 = off) */
  readonly clipGradNorm: number;
}

/** Everything that changes during a run (plain data). */
export interface OpenAiEsState {
  /** θ: centre of the search distribution */
  theta: Float64Array;
  /** optimiser moments */
  opt: OptimizerState;
  /** seed the per-pair evaluation seeds are derived from */
  readonly seed: number;
  generation: number;
  evaluations: number;
  /** NaN/±∞ fitness values told */
  nonFinite: number;
  /** pairs left out of raw-difference estimates because a member's fitness was not finite */
  droppedPairs: number;
  best: Best | null;
  rng: RngState;
  /** ĝ of the last tell, before weight decay and clipping (null before the first) */
  gradient: Float64Array | null;
}

export function openAiEsInit(p: OpenAiEsParams, x0: Float64Array, seed: number): OpenAiEsState {
  return {
    theta: Float64Array.from(x0),
    opt: optimizerInit(p.n),
    seed,
    generation: 0,
    evaluations: 0,
    nonFinite: 0,
    droppedPairs: 0,
    best: null,
    rng: Rng.fromSeed(seed).state(),
    gradient: null,
  };
}

/** Candidates [θ+σε_0, θ−σε_0, θ+σε_1, θ−σε_1, …]: member 2k and 2k+1 form pair k. */
export function openAiEsAsk(s: OpenAiEsState, p: OpenAiEsParams, normal?: NormalSource): Float64Array[] {
  const rng = normal === undefined ? Rng.fromState(s.rng) : undefined;
  const draw: NormalSource = normal ?? (() => rng!.normal());
  const xs: Float64Array[] = [];
  for (let k = 0; k < p.pairs; k++) {
    const plus = new Float64Array(p.n);
    const minus = new Float64Array(p.n);
    for (let i = 0; i < p.n; i++) {
      const e = p.sigma * draw();
      plus[i] = s.theta[i]! + e;
      minus[i] = s.theta[i]! - e;
    }
    xs.push(plus, minus);
  }
  if (rng !== undefined) s.rng = rng.state();
  return xs;
}

/**
 * The evaluation seed of pair k in generation g: both members get the same one, so they can share a data batch and
 * the episode's random numbers (common random numbers).
 */
export function pairSeed(seed: number, generation: number, pair: number): number {
  return Rng.fromSeed(seed, generation, pair).uint32();
}

/** Result of {@link estimateGradient}. */
export interface GradientEstimate {
  /** ĝ, an estimate of ∇f(θ) */
  readonly grad: Float64Array;
  /** pairs that entered the estimate */
  readonly usedPairs: number;
}

/**
 * ĝ from an antithetic population. With ε_k = (x_{2k} − x_{2k+1})/(2σ):
 * - 'none': ĝ = mean over pairs with finite fitness of ε_k (f(x_{2k}) − f(x_{2k+1}))/(2σ) (VSML; unbiased for ∇f of
 *   the Gaussian-smoothed objective, exact in expectation for a quadratic);
 * - 'centeredRank': ĝ = (1/(Nσ)) Σ_k (s_{2k} − s_{2k+1}) ε_k with s the centred ranks (non-finite ranked worst).
 */
export function estimateGradient(
  p: OpenAiEsParams,
  xs: readonly Float64Array[],
  fitness: ArrayLike<number>,
): GradientEstimate {
  const n = p.n;
  const grad = new Float64Array(n);
  const shaped = p.shaping === 'centeredRank' ? centeredRanks(fitness) : undefined;
  let used = 0;
  for (let k = 0; k < p.pairs; k++) {
    let coef: number;
    if (shaped !== undefined) {
      coef = shaped[2 * k]! - shaped[2 * k + 1]!;
    } else {
      const fp = fitness[2 * k]!;
      const fm = fitness[2 * k + 1]!;
      if (!Number.isFinite(fp) || !Number.isFinite(fm)) continue;
      coef = fp - fm;
    }
    used++;
    if (coef === 0) continue;
    const xp = xs[2 * k]!;
    const xm = xs[2 * k + 1]!;
    for (let i = 0; i < n; i++) grad[i] = grad[i]! + (coef * (xp[i]! - xm[i]!)) / (2 * p.sigma);
  }
  const scale = shaped !== undefined ? 1 / (2 * p.pairs * p.sigma) : used > 0 ? 1 / (2 * p.sigma * used) : 0;
  for (let i = 0; i < n; i++) grad[i] = grad[i]! * scale;
  return { grad, usedPairs: used };
}

/** d = ĝ + wd·θ, then rescaled to norm ≤ clipGradNorm (when > 0). */
export function regularisedGradient(p: OpenAiEsParams, theta: Float64Array, g: Float64Array): Float64Array {
  const d = Float64Array.from(g);
  if (p.weightDecay !== 0) for (let i = 0; i < p.n; i++) d[i] = d[i]! + p.weightDecay * theta[i]!;
  if (p.clipGradNorm > 0) {
    let sq = 0;
    for (let i = 0; i < p.n; i++) sq += d[i]! * d[i]!;
    const norm = Math.sqrt(sq);
    if (norm > p.clipGradNorm) for (let i = 0; i < p.n; i++) d[i] = (d[i]! * p.clipGradNorm) / norm;
  }
  return d;
}

/** What one tell did. */
export interface OpenAiEsTellInfo {
  readonly usedPairs: number;
  readonly nonFinite: number;
  /** false when no pair was usable: θ and the optimiser were left unchanged */
  readonly updated: boolean;
}

/** One generation: gradient estimate, weight decay, clipping, optimiser step on θ. */
export function openAiEsTell(
  s: OpenAiEsState,
  p: OpenAiEsParams,
  xs: readonly Float64Array[],
  fitness: ArrayLike<number>,
): OpenAiEsTellInfo {
  const nf = countNonFinite(fitness);
  s.best = updateBest(s.best, xs, fitness, rankOrder(fitness), s.generation);
  const { grad, usedPairs } = estimateGradient(p, xs, fitness);
  s.gradient = grad;
  s.evaluations += 2 * p.pairs;
  s.nonFinite += nf;
  if (p.shaping === 'none') s.droppedPairs += p.pairs - usedPairs;
  const updated = usedPairs > 0 && nf < 2 * p.pairs;
  if (updated) optimizerStep(s.opt, p, regularisedGradient(p, s.theta, grad), s.theta);
  s.generation++;
  return { usedPairs, nonFinite: nf, updated };
}
