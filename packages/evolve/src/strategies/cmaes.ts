/**
 * CMA-ES maths: one generation as small named steps, in the tutorial's order (cmaes.md §1.2).
 *
 * Sources: N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 ([T], equation numbers below), as
 * implemented line by line by CyberAgentAILab/cmaes `_cma.py` and evosax `cma_es.py`; separable mode after Ros &
 * Hansen 2008 with pycma's sep learning rates. The functions update the plain-data {@link CmaesState} in place (the
 * state passed in is consumed); {@link CmaEs} is the public wrapper.
 */
import { Rng } from '@vsml/rng';
import type { RngState } from '@vsml/rng';

import { dot } from '../linalg.js';
import { countNonFinite, rankOrder } from '../shaping.js';
import type { Best, NormalSource } from './base.js';
import { updateBest } from './base.js';
import type { CmaesParams } from './cmaes-params.js';
import { sumWeights } from './cmaes-params.js';
import type { CovarianceState } from './covariance.js';
import { initCovariance, invSqrtCTimes, refreshDecomposition, sqrtCTimes, updateCovariance } from './covariance.js';
import type { FitnessHistory } from './termination.js';
import { initHistory, recordGeneration } from './termination.js';

/** Everything that changes during a run (plain data: typed arrays, numbers, the generator state). */
export interface CmaesState extends CovarianceState {
  /** m: mean of the search distribution */
  mean: Float64Array;
  /** σ: step size */
  sigma: number;
  /** σ at the start (read by tolfacupx, tolupsigma) */
  readonly sigma0: number;
  /** p_σ: conjugate evolution path (step size) */
  pSigma: Float64Array;
  /** p_c: evolution path (covariance) */
  pC: Float64Array;
  /** completed generations g */
  generation: number;
  /** fitness evaluations told */
  evaluations: number;
  /** NaN/±∞ fitness values told (ranked worst) */
  nonFinite: number;
  /** generations skipped because no fitness value was finite */
  skipped: number;
  /** h_σ of the last generation (1 or 0) */
  hSigma: number;
  /** best finite candidate so far */
  best: Best | null;
  /** the random generator, advanced only by ask */
  rng: RngState;
  /** fitness records for termination */
  history: FitnessHistory;
}

/** Initial state: m = x0, σ = σ0, C = I, p_σ = p_c = 0 (cmaes.md §1.1, last row). */
export function cmaesInit(p: CmaesParams, x0: Float64Array, sigma0: number, seed: number): CmaesState {
  return {
    ...initCovariance(p.n, p.diagonal),
    mean: Float64Array.from(x0),
    sigma: sigma0,
    sigma0,
    pSigma: new Float64Array(p.n),
    pC: new Float64Array(p.n),
    generation: 0,
    evaluations: 0,
    nonFinite: 0,
    skipped: 0,
    hSigma: 1,
    best: null,
    rng: Rng.fromSeed(seed).state(),
    history: initHistory(),
  };
}

/**
 * Samples λ candidates x_k = m + σ C^{1/2} z_k, z_k ~ N(0, I) (eq. 38–40). Candidate k reads the k-th block of n
 * normals. Uses `normal` if given (an injected stream), else the state's generator (which it advances).
 */
export function cmaesAsk(s: CmaesState, p: CmaesParams, normal?: NormalSource): Float64Array[] {
  const rng = normal === undefined ? Rng.fromState(s.rng) : undefined;
  const draw: NormalSource = normal ?? (() => rng!.normal());
  const n = p.n;
  const z = new Float64Array(n);
  const y = new Float64Array(n);
  const xs: Float64Array[] = [];
  for (let k = 0; k < p.lambda; k++) {
    for (let i = 0; i < n; i++) z[i] = draw();
    sqrtCTimes(s, z, y); // eq. 39
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = s.mean[i]! + s.sigma * y[i]!; // eq. 40
    xs.push(x);
  }
  if (rng !== undefined) s.rng = rng.state();
  return xs;
}

/** What one `tell` did. */
export interface CmaesTellInfo {
  /** indices of the candidates from best to worst (non-finite last) */
  readonly order: readonly number[];
  /** non-finite fitness values in this generation */
  readonly nonFinite: number;
  /** false when every fitness value was non-finite: the distribution was left unchanged */
  readonly updated: boolean;
}

/** y_{k:λ} = (x_{k:λ} − m)/σ with the m and σ that produced the samples (eq. 41, 47). */
export function selectedSteps(s: CmaesState, xs: readonly Float64Array[], order: readonly number[]): Float64Array[] {
  return order.map((k) => {
    const x = xs[k]!;
    const y = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) y[i] = (x[i]! - s.mean[i]!) / s.sigma;
    return y;
  });
}

/** y_w = Σ_{i≤μ} w_i y_{i:λ} (eq. 41). */
export function weightedStep(p: CmaesParams, ys: readonly Float64Array[]): Float64Array {
  const yw = new Float64Array(p.n);
  for (let k = 0; k < p.mu; k++) {
    const w = p.weights[k]!;
    const y = ys[k]!;
    for (let i = 0; i < p.n; i++) yw[i] = yw[i]! + w * y[i]!;
  }
  return yw;
}

/** m ← m + c_m σ y_w (eq. 42). */
export function updateMean(s: CmaesState, p: CmaesParams, yw: Float64Array): void {
  for (let i = 0; i < p.n; i++) s.mean[i] = s.mean[i]! + p.cM * s.sigma * yw[i]!;
}

/** p_σ ← (1 − c_σ) p_σ + √(c_σ (2 − c_σ) μ_eff) C^{-1/2} y_w, with the C used for sampling (eq. 43). */
export function updatePSigma(s: CmaesState, p: CmaesParams, yw: Float64Array): void {
  const cInvYw = invSqrtCTimes(s, yw, new Float64Array(p.n));
  const a = Math.sqrt(p.cSigma * (2 - p.cSigma) * p.muEff);
  for (let i = 0; i < p.n; i++) s.pSigma[i] = (1 - p.cSigma) * s.pSigma[i]! + a * cInvYw[i]!;
}

/** σ ← σ exp((c_σ/d_σ)(‖p_σ‖/E‖N(0,I)‖ − 1)) (eq. 44), the exponent clipped to ±1 (pycma `max_delta_log_sigma`). */
export function updateSigma(s: CmaesState, p: CmaesParams): void {
  const dLog = (p.cSigma / p.dSigma) * (Math.sqrt(dot(s.pSigma, s.pSigma)) / p.chiN - 1);
  s.sigma *= Math.exp(Math.min(1, Math.max(-1, dLog)));
}

/** h_σ = 1 if ‖p_σ‖/√(1 − (1−c_σ)^{2(g+1)}) < (1.4 + 2/(n+1)) E‖N(0,I)‖, else 0; from the new p_σ ([T] p. 28). */
export function hSigma(s: CmaesState, p: CmaesParams): number {
  const lhs = Math.sqrt(dot(s.pSigma, s.pSigma)) / Math.sqrt(1 - (1 - p.cSigma) ** (2 * (s.generation + 1)));
  return lhs < (1.4 + 2 / (p.n + 1)) * p.chiN ? 1 : 0;
}

/** p_c ← (1 − c_c) p_c + h_σ √(c_c (2 − c_c) μ_eff) y_w (eq. 45). */
export function updatePC(s: CmaesState, p: CmaesParams, yw: Float64Array, hSig: number): void {
  const a = hSig * Math.sqrt(p.cC * (2 - p.cC) * p.muEff);
  for (let i = 0; i < p.n; i++) s.pC[i] = (1 - p.cC) * s.pC[i]! + a * yw[i]!;
}

/** w°_i = w_i if w_i ≥ 0, else w_i · n / ‖C^{-1/2} y_{i:λ}‖² (eq. 46). */
export function activeWeights(s: CmaesState, p: CmaesParams, ys: readonly Float64Array[]): number[] {
  const buf = new Float64Array(p.n);
  return p.weights.map((w, k) => {
    if (w >= 0) return w;
    const v = invSqrtCTimes(s, ys[k]!, buf);
    const sq = dot(v, v);
    return sq > 0 ? (w * p.n) / sq : 0;
  });
}

/**
 * C ← (1 + c_1 δ(h_σ) − c_1 − c_μ Σ_j w_j) C + c_1 p_c p_cᵀ + c_μ Σ_i w°_i y_{i:λ} y_{i:λ}ᵀ, where
 * δ(h_σ) = (1 − h_σ) c_c (2 − c_c) and Σ_j w_j runs over all weights, negative ones included (eq. 47).
 */
export function updateC(s: CmaesState, p: CmaesParams, ys: readonly Float64Array[], wo: readonly number[], hSig: number): void {
  const delta = (1 - hSig) * p.cC * (2 - p.cC);
  const decay = 1 + p.c1 * delta - p.c1 - p.cMu * sumWeights(p);
  updateCovariance(s, decay, p.c1, s.pC, p.cMu, ys, wo);
}

/**
 * One generation of CMA-ES: rank, then mean, p_σ, σ, h_σ, p_c, active weights, C, and (lazily) the
 * eigendecomposition, in this order (cmaes.md §1.2). Non-finite fitness ranks worst; if nothing is finite, the
 * distribution is left unchanged (the generation and evaluations still count).
 */
export function cmaesTell(
  s: CmaesState,
  p: CmaesParams,
  xs: readonly Float64Array[],
  fitness: ArrayLike<number>,
): CmaesTellInfo {
  const order = rankOrder(fitness); // step 2: rank (minimisation), NaN/±∞ last
  const sorted = order.map((k) => (Number.isFinite(fitness[k]!) ? fitness[k]! : Infinity));
  const nf = countNonFinite(fitness);
  s.best = updateBest(s.best, xs, fitness, order, s.generation);
  s.evaluations += p.lambda;
  s.nonFinite += nf;
  const updated = nf < p.lambda;
  if (updated) {
    const ys = selectedSteps(s, xs, order);
    const yw = weightedStep(p, ys); // eq. 41
    updateMean(s, p, yw); // eq. 42
    updatePSigma(s, p, yw); // eq. 43
    updateSigma(s, p); // eq. 44
    const hSig = hSigma(s, p); // p. 28
    s.hSigma = hSig;
    updatePC(s, p, yw, hSig); // eq. 45
    const wo = activeWeights(s, p, ys); // eq. 46
    updateC(s, p, ys, wo, hSig); // eq. 47
  } else {
    s.skipped++;
  }
  recordGeneration(s.history, p, sorted, s.generation);
  s.generation++;
  if (updated) refreshDecomposition(s, p.n, s.generation, p.lazyGap);
  return { order, nonFinite: nf, updated };
}
