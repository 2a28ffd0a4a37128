/**
 * The workshop form of VSML (seed paper, §3 and Appendix A): the generic VS Meta RNN update (Eq. 3) and the
 * equivalent single RNN with a sparse, shared weight matrix W̃ (Eq. 4, Theorem 1).
 *
 *   Eq. 1   s_j    ← σ(b̂_j + Σ_i s_i W_ij)                                      (a plain RNN, N units)
 *   Eq. 3   s_abj  ← σ(b̂_j + Σ_i s_abi W_ij + Σ_{c,i} s_cai C_ij)               (A×B copies sharing W, C, b̂)
 *   Eq. 14  optional backward interaction  + Σ_{c,i} s_bci U_ij
 *   Eq. 19  W̃_cdiabj = [d=a]·C_ij + [d=b][c=a]·W_ij   (+ [c=b]·U_ij)            (Eq. 4 is its case table)
 *
 * Sub-RNN (a, b) receives from every sub-RNN (c, a), which needs a to be a valid second index: the paper takes
 * A = B, and so do these functions. The implementation in `kernels/` is the LSTM form actually used.
 */
import * as tf from '@tensorflow/tfjs-core';
import { VsmlError, fmtShape } from './errors.js';

/** Non-linearity σ of the workshop update. */
export type WorkshopActivation = 'tanh' | 'sigmoid' | 'identity';

function activate(x: tf.Tensor, a: WorkshopActivation): tf.Tensor {
  return a === 'tanh' ? tf.tanh(x) : a === 'sigmoid' ? tf.sigmoid(x) : x;
}

function checkSquare(name: string, t: tf.Tensor, N: number): void {
  if (t.rank !== 2 || t.shape[0] !== N || t.shape[1] !== N) {
    throw new VsmlError('SHAPE_MISMATCH', `${name} has shape ${fmtShape(t.shape)}, expected [${N},${N}]`);
  }
}

/**
 * One step of the VS Meta RNN, Eq. 3 (plus Eq. 14 when `U` is given): `s [A, A, N]` → `s' [A, A, N]`, with
 * W, C (and U) `[N, N]` and bias `[N]` shared by all A·A sub-RNNs.
 */
export function vsMetaRnnStep(
  s: tf.Tensor,
  W: tf.Tensor,
  C: tf.Tensor,
  bias: tf.Tensor,
  opts: { U?: tf.Tensor; activation?: WorkshopActivation } = {},
): tf.Tensor {
  if (s.rank !== 3 || s.shape[0] !== s.shape[1]) {
    throw new VsmlError('SHAPE_MISMATCH', `vsMetaRnnStep: s has shape ${fmtShape(s.shape)}, expected [A,A,N] (the paper takes A = B)`);
  }
  const [A, , N] = s.shape as [number, number, number];
  checkSquare('vsMetaRnnStep: W', W, N);
  checkSquare('vsMetaRnnStep: C', C, N);
  if (opts.U) checkSquare('vsMetaRnnStep: U', opts.U, N);
  return tf.tidy(() => {
    const own = tf.reshape(tf.matMul(tf.reshape(s, [A * A, N]), W), [A, A, N]); // Σ_i s_abi W_ij
    // Σ_{c,i} s_cai C_ij: sum over the first axis gives, for each a, Σ_c s_ca· ; broadcast over b
    const inter = tf.reshape(tf.matMul(tf.sum(s, 0), C), [A, 1, N]);
    let pre = tf.add(tf.add(own, inter), bias);
    if (opts.U) {
      // Σ_{c,i} s_bci U_ij: sum over the second axis gives, for each b, Σ_c s_bc· ; broadcast over a
      pre = tf.add(pre, tf.reshape(tf.matMul(tf.sum(s, 1), opts.U), [1, A, N]));
    }
    return activate(pre, opts.activation ?? 'tanh');
  });
}

/**
 * The dense equivalent weight matrix of Theorem 1, Eq. 19 / Eq. 4: `W̃ [A·B·N, A·B·N]`, row (c, d, i), column
 * (a, b, j), both flattened row-major: `W̃[(c·B+d)·N+i, (a·B+b)·N+j] = [d=a]C_ij + [d=b][c=a]W_ij (+ [c=b]U_ij)`.
 * Built on the host (A·B·N squared entries; meant for small checks).
 */
export function sparseSharedMatrix(W: tf.Tensor, C: tf.Tensor, A: number, B: number = A, U?: tf.Tensor): tf.Tensor2D {
  const N = W.shape[0]!;
  checkSquare('sparseSharedMatrix: W', W, N);
  checkSquare('sparseSharedMatrix: C', C, N);
  if (U) checkSquare('sparseSharedMatrix: U', U, N);
  if (A !== B) throw new VsmlError('BAD_ARGUMENT', `sparseSharedMatrix: Eq. 3 needs A = B, got A = ${A}, B = ${B}`);
  const w = W.dataSync();
  const c = C.dataSync();
  const u = U?.dataSync();
  const n = A * B * N;
  const out = new Float32Array(n * n);
  for (let ci = 0; ci < A; ci++) {
    for (let d = 0; d < B; d++) {
      for (let a = 0; a < A; a++) {
        for (let b = 0; b < B; b++) {
          const useC = d === a;
          const useW = d === b && ci === a;
          const useU = u !== undefined && ci === b;
          if (!useC && !useW && !useU) continue;
          for (let i = 0; i < N; i++) {
            const row = ((ci * B + d) * N + i) * n + (a * B + b) * N;
            for (let j = 0; j < N; j++) {
              let v = 0;
              if (useC) v += c[i * N + j]!;
              if (useW) v += w[i * N + j]!;
              if (useU) v += u![i * N + j]!;
              out[row + j] = v;
            }
          }
        }
      }
    }
  }
  return tf.tensor2d(out, [n, n]);
}

/**
 * One step of a plain RNN (Eq. 1) on the flattened state: `s' = σ(b̂ + s·W̃)` with `s [A·B·N]` (or `[A, B, N]`,
 * returned in the same shape) and the bias `[N]` repeated for every sub-RNN.
 */
export function denseRnnStep(s: tf.Tensor, Wtilde: tf.Tensor, bias: tf.Tensor, activation: WorkshopActivation = 'tanh'): tf.Tensor {
  const n = s.size;
  if (Wtilde.rank !== 2 || Wtilde.shape[0] !== n || Wtilde.shape[1] !== n) {
    throw new VsmlError('SHAPE_MISMATCH', `denseRnnStep: W̃ has shape ${fmtShape(Wtilde.shape)}, expected [${n},${n}]`);
  }
  return tf.tidy(() => {
    const N = bias.shape[0]!;
    const pre = tf.add(tf.matMul(tf.reshape(s, [1, n]), Wtilde), tf.tile(tf.reshape(bias, [1, N]), [1, n / N]));
    return tf.reshape(activate(pre, activation), s.shape);
  });
}
