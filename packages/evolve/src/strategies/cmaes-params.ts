/**
 * CMA-ES strategy parameters: everything that depends only on the dimension n and the population size λ.
 *
 * Full mode follows Hansen's tutorial (arXiv:1604.00772, "[T]"), line by line as CyberAgent `cmaes.CMA` and evosax
 * implement it, with active (negative) recombination weights. Separable mode (Ros & Hansen 2008) keeps the same
 * weights, c_σ and d_σ and swaps in pycma's sep-specific learning rates c_1, c_μ, c_c (design note cmaes.md §2.1).
 * Equation numbers refer to [T].
 */

/** Fixed strategy parameters (plain data; derived from n and λ only). */
export interface CmaesParams {
  /** n: problem dimension */
  readonly n: number;
  /** λ: population size */
  readonly lambda: number;
  /** μ: number of positively weighted (selected) candidates */
  readonly mu: number;
  /** recombination weights w_1..w_λ: positive for i ≤ μ (sum 1), negative after (active CMA) or 0 */
  readonly weights: readonly number[];
  /** μ_eff: variance-effective selection mass of the positive weights */
  readonly muEff: number;
  /** μ_eff⁻: the same for the negative part */
  readonly muEffMinus: number;
  /** c_m: learning rate for the mean */
  readonly cM: number;
  /** c_σ: time constant (inverse) for the cumulation of the step-size path p_σ */
  readonly cSigma: number;
  /** d_σ: damping of the step-size update, usually close to 1 */
  readonly dSigma: number;
  /** c_c: time constant (inverse) for the cumulation of the covariance path p_c */
  readonly cC: number;
  /** c_1: learning rate of the rank-one update of C */
  readonly c1: number;
  /** c_μ: learning rate of the rank-μ update of C */
  readonly cMu: number;
  /** E‖N(0, I)‖ */
  readonly chiN: number;
  /** generations between two eigendecompositions of C (full mode; < 1 means every generation) */
  readonly lazyGap: number;
  /** separable CMA-ES: C is diagonal */
  readonly diagonal: boolean;
  /** negative weights in the covariance update */
  readonly active: boolean;
}

/** Default population size λ = 4 + ⌊3 ln n⌋ (eq. 48). */
export function defaultPopSize(n: number): number {
  return 4 + Math.floor(3 * Math.log(n));
}

/** Options of {@link cmaesParams}. */
export interface CmaesParamsOptions {
  /** λ (default {@link defaultPopSize}) */
  readonly popSize?: number;
  /** sep-CMA-ES learning rates (default false) */
  readonly diagonal?: boolean;
  /** negative weights (default true) */
  readonly active?: boolean;
}

/** Computes all strategy parameters for dimension n. */
export function cmaesParams(n: number, options: CmaesParamsOptions = {}): CmaesParams {
  const lambda = options.popSize ?? defaultPopSize(n); // eq. 48
  const diagonal = options.diagonal ?? false;
  const active = options.active ?? true;
  const mu = Math.floor(lambda / 2);

  // raw weights w'_i = ln((λ+1)/2) − ln i, i = 1..λ (eq. 49)
  const raw = Array.from({ length: lambda }, (_, i) => Math.log((lambda + 1) / 2) - Math.log(i + 1));
  const pos = raw.slice(0, mu);
  const neg = raw.slice(mu);
  const sumPos = pos.reduce((s, w) => s + w, 0);
  const sumNegAbs = neg.reduce((s, w) => s + Math.abs(w), 0);
  const muEff = sumPos ** 2 / pos.reduce((s, w) => s + w * w, 0);
  const sumNegSq = neg.reduce((s, w) => s + w * w, 0);
  const muEffMinus = sumNegSq > 0 ? neg.reduce((s, w) => s + w, 0) ** 2 / sumNegSq : 0;

  const cM = 1; // eq. 54
  const cSigma = (muEff + 2) / (n + muEff + 5); // eq. 55
  const dSigma = 1 + 2 * Math.max(0, Math.sqrt((muEff - 1) / (n + 1)) - 1) + cSigma; // eq. 55
  const chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n)); // p. 28

  let cC: number;
  let c1: number;
  let cMu: number;
  if (!diagonal) {
    const alphaCov = 2;
    cC = (4 + muEff / n) / (n + 4 + (2 * muEff) / n); // eq. 56
    c1 = alphaCov / ((n + 1.3) ** 2 + muEff); // eq. 57
    cMu = Math.min(1 - c1, (alphaCov * (muEff - 2 + 1 / muEff)) / ((n + 2) ** 2 + (alphaCov * muEff) / 2)); // eq. 58
  } else {
    // pycma's sep-CMA rates (CMA_diagonal=True), cmaes.md §2.1
    cC = (1 + 1 / n + muEff / n) / (Math.sqrt(n) + 1 / n + (2 * muEff) / n);
    c1 = 1 / (n + 2 * Math.sqrt(n) + muEff / n);
    cMu = Math.min(1 - c1, (0.25 + muEff + 1 / muEff - 2) / (n + 4 * Math.sqrt(n) + muEff / 2));
  }

  // negative weights: α⁻ = min(α⁻_μ, α⁻_μeff, α⁻_posdef) (eq. 50–53)
  const alphaMu = 1 + c1 / cMu; // eq. 50
  const alphaMuEff = 1 + (2 * muEffMinus) / (muEff + 2); // eq. 51
  const alphaPosDef = (1 - c1 - cMu) / (n * cMu); // eq. 52
  const alphaMinus = Math.min(alphaMu, alphaMuEff, alphaPosDef);
  const weights = raw.map((w, i) => {
    if (i < mu) return w / sumPos; // eq. 53, positive part sums to 1
    if (!active || sumNegAbs === 0) return 0;
    return (alphaMinus * w) / sumNegAbs; // eq. 53, negative part
  });

  const lazyGap = 1 / (10 * n * (c1 + cMu)); // [T]/pycma lazy_update_gap (cmaes.md §2.2)
  return {
    n, lambda, mu, weights, muEff, muEffMinus, cM, cSigma, dSigma, cC, c1, cMu, chiN, lazyGap, diagonal, active,
  };
}

/** Σ_j w_j over all λ weights (negative ones included): the decay term c_μ Σw of eq. 47. */
export function sumWeights(p: CmaesParams): number {
  return p.weights.reduce((s, w) => s + w, 0);
}

/** Default maximal number of iterations (pycma `maxiter`): 100 + 150 (n+3)² / √λ. */
export function defaultMaxIter(n: number, lambda: number): number {
  return 100 + (150 * (n + 3) ** 2) / Math.sqrt(lambda);
}
