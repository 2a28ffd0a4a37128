// Theorem 1 of the seed paper, checked numerically: the VS Meta RNN update (Eq. 3, with and without the backward
// interaction of Eq. 14) equals one plain RNN step (Eq. 1) with the sparse-shared matrix W̃ (Eq. 4 / Eq. 19).
import { tf, vsMetaRnnStep, sparseSharedMatrix, denseRnnStep } from '../src/index.js';
import { maxAbsDiff, useBackend } from './helpers/setup.js';

useBackend('wasm');

describe('workshop VS Meta RNN (Eq. 3) == dense RNN with W̃ (Eq. 4)', () => {
  for (const [A, N, withU] of [
    [1, 3, false],
    [2, 3, false],
    [3, 4, false],
    [4, 2, true],
  ] as const) {
    it(`A = B = ${A}, N = ${N}${withU ? ', with backward interaction U' : ''}: same next state`, () => {
      const seed = A * 10 + N;
      const s = tf.randomNormal([A, A, N], 0, 1, 'float32', seed);
      const W = tf.randomNormal([N, N], 0, 0.5, 'float32', seed + 1);
      const C = tf.randomNormal([N, N], 0, 0.5, 'float32', seed + 2);
      const U = withU ? tf.randomNormal([N, N], 0, 0.5, 'float32', seed + 3) : undefined;
      const b = tf.randomNormal([N], 0, 0.5, 'float32', seed + 4);
      for (const activation of ['tanh', 'sigmoid', 'identity'] as const) {
        const a = vsMetaRnnStep(s, W, C, b, { activation, ...(U ? { U } : {}) });
        const Wt = sparseSharedMatrix(W, C, A, A, U);
        const d = denseRnnStep(s, Wt, b, activation);
        expect(d.shape).toEqual([A, A, N]);
        expect(maxAbsDiff(a.dataSync(), d.dataSync())).toBeLessThan(1e-5);
        // and a second step (the equivalence holds for the recursion, not just one step)
        expect(maxAbsDiff(vsMetaRnnStep(a, W, C, b, { activation, ...(U ? { U } : {}) }).dataSync(), denseRnnStep(d, Wt, b, activation).dataSync())).toBeLessThan(1e-5);
      }
    });
  }

  it('W̃ follows the case table of Eq. 4: C if d=a ∧ (d≠b ∨ c≠a), W if d≠a ∧ d=b ∧ c=a, C+W if d=a=b=c, else 0', () => {
    const A = 3;
    const N = 2;
    const W = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const C = tf.tensor2d([
      [10, 20],
      [30, 40],
    ]);
    const w = [1, 2, 3, 4];
    const cc = [10, 20, 30, 40];
    const Wt = sparseSharedMatrix(W, C, A).arraySync();
    let nonzero = 0;
    for (let c = 0; c < A; c++)
      for (let d = 0; d < A; d++)
        for (let a = 0; a < A; a++)
          for (let b = 0; b < A; b++)
            for (let i = 0; i < N; i++)
              for (let j = 0; j < N; j++) {
                let want = 0;
                if (d === a && (d !== b || c !== a)) want = cc[i * N + j]!;
                else if (d !== a && d === b && c === a) want = w[i * N + j]!;
                else if (d === a && d === b && c === a) want = cc[i * N + j]! + w[i * N + j]!;
                const got = Wt[(c * A + d) * N + i]![(a * A + b) * N + j]!;
                expect(got).toBe(want);
                if (want !== 0) nonzero++;
              }
    // sparse: per output (a, b, j) only the A·N inputs (c, a, i) plus the N inputs (a, b, i) can be nonzero
    expect(nonzero).toBeLessThanOrEqual(A * A * N * (A * N + N));
  });

  it('A = B = 1 recovers the plain Meta RNN of Eq. 1 with weight W + C', () => {
    const W = tf.tensor2d([[0.5, -1], [2, 0.25]]);
    const C = tf.tensor2d([[1, 1], [-1, 0]]);
    expect(Array.from(sparseSharedMatrix(W, C, 1).dataSync())).toEqual(Array.from(tf.add(W, C).dataSync()));
  });

  it('rejects A ≠ B and mis-shaped matrices', () => {
    const W = tf.zeros([2, 2]);
    expect(() => sparseSharedMatrix(W, W, 2, 3)).toThrow(/A = B/);
    expect(() => vsMetaRnnStep(tf.zeros([2, 3, 2]), W, W, tf.zeros([2]))).toThrow(/expected \[A,A,N\]/);
    expect(() => vsMetaRnnStep(tf.zeros([2, 2, 2]), tf.zeros([3, 3]), W, tf.zeros([2]))).toThrow(/W has shape \[3,3\]/);
  });
});
