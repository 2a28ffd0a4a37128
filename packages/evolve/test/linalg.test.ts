/** The symmetric eigensolver (tred2 + tql2) used by full CMA-ES. */
import { Rng } from '@vsml/rng';

import { eigh, EvolveError } from '../src/index.js';

function randomSymmetric(n: number, seed: number, scales?: number[]): Float64Array {
  const rng = Rng.fromSeed(seed);
  const G = rng.fillNormal(new Float64Array(n * n));
  const A = new Float64Array(n * n);
  // A = G diag(scales) Gᵀ (positive semi-definite when scales ≥ 0) or (G + Gᵀ)/2
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (scales === undefined) {
        A[i * n + j] = (G[i * n + j]! + G[j * n + i]!) / 2;
      } else {
        let s = 0;
        for (let k = 0; k < n; k++) s += G[i * n + k]! * scales[k]! * G[j * n + k]!;
        A[i * n + j] = s;
      }
    }
  }
  return A;
}

function checkDecomposition(A: Float64Array, n: number): void {
  const { values, vectors: V } = eigh(A, n);
  let maxAbs = 0;
  for (const v of A) maxAbs = Math.max(maxAbs, Math.abs(v));
  const tol = 1e-12 * Math.max(1, maxAbs) * n;
  for (let i = 1; i < n; i++) expect(values[i]!).toBeGreaterThanOrEqual(values[i - 1]!);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let vtv = 0; // (Vᵀ V)_ij
      let rec = 0; // (V diag(d) Vᵀ)_ij
      for (let k = 0; k < n; k++) {
        vtv += V[k * n + i]! * V[k * n + j]!;
        rec += V[i * n + k]! * values[k]! * V[j * n + k]!;
      }
      expect(Math.abs(vtv - (i === j ? 1 : 0))).toBeLessThan(1e-12 * n);
      expect(Math.abs(rec - A[i * n + j]!)).toBeLessThan(tol);
    }
  }
}

describe('eigh', () => {
  it.each([1, 2, 3, 5, 10, 20, 40])('decomposes a random symmetric n×n matrix, n = %i', (n) => {
    checkDecomposition(randomSymmetric(n, n), n);
  });

  it('handles ill-conditioned covariance-like matrices (cond 1e12)', () => {
    const n = 12;
    const scales = Array.from({ length: n }, (_, i) => 10 ** ((12 * i) / (n - 1)));
    checkDecomposition(randomSymmetric(n, 7, scales), n);
  });

  it('handles repeated eigenvalues (identity, block matrices) and diagonal input', () => {
    const n = 6;
    const I = new Float64Array(n * n);
    for (let i = 0; i < n; i++) I[i * n + i] = 1;
    checkDecomposition(I, n);
    const { values } = eigh(I, n);
    expect(Array.from(values)).toEqual(new Array(n).fill(1));
    const D = new Float64Array(n * n);
    [5, 1, 3, 3, 2, 4].forEach((v, i) => (D[i * n + i] = v));
    checkDecomposition(D, n);
    expect(Array.from(eigh(D, n).values)).toEqual([1, 2, 3, 3, 4, 5]);
    const Z = new Float64Array(n * n);
    checkDecomposition(Z, n);
  });

  it('known 2×2 case', () => {
    const { values } = eigh(Float64Array.from([2, 1, 1, 2]), 2);
    expect(values[0]).toBeCloseTo(1, 14);
    expect(values[1]).toBeCloseTo(3, 14);
  });

  it('rejects non-finite input with EvolveError NUMERICAL and does not modify its argument', () => {
    const A = Float64Array.from([1, NaN, NaN, 1]);
    expect(() => eigh(A, 2)).toThrow(EvolveError);
    try {
      eigh(A, 2);
    } catch (e) {
      expect((e as EvolveError).code).toBe('NUMERICAL');
    }
    const B = randomSymmetric(4, 3);
    const copy = Float64Array.from(B);
    eigh(B, 4);
    expect(B).toEqual(copy);
  });
});
