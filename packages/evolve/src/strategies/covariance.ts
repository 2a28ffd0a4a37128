/**
 * The two covariance models of CMA-ES, as small functions on plain data.
 *
 * Full: C is n×n (row-major) with a lazily refreshed eigendecomposition C = B diag(D²) Bᵀ. Candidates are drawn as
 * y = C^{1/2} z with the symmetric root C^{1/2} = B D Bᵀ: the same law as the tutorial's y = B D z (Bᵀz is again
 * N(0, I)), but independent of the eigensolver's sign and order conventions, so runs are reproducible across solvers.
 *
 * Diagonal (sep-CMA-ES): C = diag(c), D = √c, y = D ⊙ z; O(n) per sample, no eigendecomposition.
 */
import { EvolveError } from '../errors.js';
import { eigh } from '../linalg.js';

/** Covariance part of the CMA-ES state. */
export interface CovarianceState {
  /** full: n×n row-major; diagonal: the n variances c_i */
  C: Float64Array;
  /** full: eigenvectors of C as columns (n×n row-major) from the last decomposition; diagonal: empty */
  B: Float64Array;
  /** full: √eigenvalues of C (ascending) from the last decomposition; diagonal: √c_i */
  D: Float64Array;
  /** generation of the last decomposition (full mode) */
  eigenGeneration: number;
}

/** C = I. */
export function initCovariance(n: number, diagonal: boolean): CovarianceState {
  if (diagonal) return { C: new Float64Array(n).fill(1), B: new Float64Array(0), D: new Float64Array(n).fill(1), eigenGeneration: 0 };
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) C[i * n + i] = 1;
  return { C, B: Float64Array.from(C), D: new Float64Array(n).fill(1), eigenGeneration: 0 };
}

/** out ← C^{1/2} z (eq. 39 with the symmetric root; see the module note). */
export function sqrtCTimes(cov: CovarianceState, z: Float64Array, out: Float64Array): Float64Array {
  const n = z.length;
  const { B, D } = cov;
  if (B.length === 0) {
    for (let i = 0; i < n; i++) out[i] = D[i]! * z[i]!;
    return out;
  }
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const zi = z[i]!;
    if (zi === 0) continue;
    const row = i * n;
    for (let j = 0; j < n; j++) t[j] = t[j]! + B[row + j]! * zi; // t = Bᵀ z
  }
  for (let j = 0; j < n; j++) t[j] = t[j]! * D[j]!; // t = D Bᵀ z
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += B[row + j]! * t[j]!;
    out[i] = s; // B D Bᵀ z
  }
  return out;
}

/** out ← C^{-1/2} y = B D⁻¹ Bᵀ y, with the B, D used for sampling (eq. 43, 46). */
export function invSqrtCTimes(cov: CovarianceState, y: Float64Array, out: Float64Array): Float64Array {
  const n = y.length;
  const { B, D } = cov;
  if (B.length === 0) {
    for (let i = 0; i < n; i++) out[i] = y[i]! / D[i]!;
    return out;
  }
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const yi = y[i]!;
    const row = i * n;
    for (let j = 0; j < n; j++) t[j] = t[j]! + B[row + j]! * yi;
  }
  for (let j = 0; j < n; j++) t[j] = t[j]! / D[j]!;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += B[row + j]! * t[j]!;
    out[i] = s;
  }
  return out;
}

/**
 * C ← decay·C + c_1 p_c p_cᵀ + c_μ Σ_k w°_k y_k y_kᵀ (eq. 47; for the diagonal model only the diagonal of each
 * outer product). `ys` are y_{k:λ} in rank order and `wo` their (active) weights w°.
 */
export function updateCovariance(
  cov: CovarianceState,
  decay: number,
  c1: number,
  pC: Float64Array,
  cMu: number,
  ys: readonly Float64Array[],
  wo: readonly number[],
): void {
  const C = cov.C;
  const n = pC.length;
  if (cov.B.length === 0) {
    for (let i = 0; i < n; i++) {
      let rankMu = 0;
      for (let k = 0; k < ys.length; k++) {
        const yki = ys[k]![i]!;
        rankMu += wo[k]! * yki * yki;
      }
      C[i] = decay * C[i]! + c1 * pC[i]! * pC[i]! + cMu * rankMu;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let rankMu = 0;
      for (let k = 0; k < ys.length; k++) rankMu += wo[k]! * ys[k]![i]! * ys[k]![j]!;
      const v = decay * C[i * n + j]! + c1 * pC[i]! * pC[j]! + cMu * rankMu;
      C[i * n + j] = v;
      C[j * n + i] = v;
    }
  }
}

/**
 * Refreshes B and D from C: every generation in diagonal mode (D = √c), and in full mode once `generation` is at
 * least `lazyGap` generations past the last decomposition (cmaes.md §2.2). Eigenvalues below 1e-14 × the largest are
 * lifted to that floor by adding the difference to C's diagonal (keeps C positive definite; never triggers in
 * exact arithmetic thanks to α⁻_posdef).
 */
export function refreshDecomposition(cov: CovarianceState, n: number, generation: number, lazyGap: number): void {
  const C = cov.C;
  if (cov.B.length === 0) {
    let maxC = 0;
    for (let i = 0; i < n; i++) maxC = Math.max(maxC, C[i]!);
    if (!(maxC > 0) || !Number.isFinite(maxC)) {
      throw new EvolveError('NUMERICAL', `sep-CMA: variances became non-finite or non-positive (generation ${generation})`);
    }
    const floor = maxC * 1e-14;
    for (let i = 0; i < n; i++) {
      if (!(C[i]! >= floor)) C[i] = floor;
      cov.D[i] = Math.sqrt(C[i]!);
    }
    return;
  }
  if (generation - cov.eigenGeneration < lazyGap) return;
  const { values, vectors } = eigh(C, n);
  const top = values[n - 1]!;
  if (!(top > 0)) throw new EvolveError('NUMERICAL', `CMA-ES: covariance matrix is not positive (generation ${generation})`);
  const floor = top * 1e-14;
  if (values[0]! < floor) {
    const lift = floor - values[0]!;
    for (let i = 0; i < n; i++) {
      C[i * n + i] = C[i * n + i]! + lift;
      values[i] = values[i]! + lift;
    }
  }
  for (let i = 0; i < n; i++) cov.D[i] = Math.sqrt(values[i]!);
  cov.B = vectors;
  cov.eigenGeneration = generation;
}

/** √C_ii for every coordinate. */
export function coordinateStds(cov: CovarianceState, n: number): Float64Array {
  const out = new Float64Array(n);
  const diag = cov.B.length === 0;
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(diag ? cov.C[i]! : cov.C[i * n + i]!);
  return out;
}
