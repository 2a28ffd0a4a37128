/**
 * Sub-RNN ops (official `models.SubRNN`): the custom LSTM step and the two messengers, on any batch of
 * independent sub-RNNs `[..., ·]`. Parameters shared (`lstm.w [2M+H, 4H]`) or per member (leading P; the leading
 * input dimension must then be a multiple of P).
 */
import * as tf from '@tensorflow/tfjs-core';
import { VsmlError, fmtShape } from '../errors.js';
import { lstmFromGates, prepareGates } from '../kernels/lstm-step.fast.js';
import { lstmFromPreactivation } from '../kernels/lstm-step.reference.js';
import type { KernelName } from '../kernels/dense-tick.js';
import type { RnnParams } from '../params.js';
import { addBias, affine, layerNorm, matmulRows } from './linear.js';
import { op } from './scope.js';

/** LSTM state of a batch of sub-RNNs. */
export interface LstmState {
  /** [..., H] */
  readonly h: tf.Tensor;
  /** [..., H] */
  readonly c: tf.Tensor;
}

function dims(rnn: Pick<RnnParams, 'lstmW'>): { K: number; H4: number } {
  const s = rnn.lstmW.shape;
  return { K: s[s.length - 2]!, H4: s[s.length - 1]! };
}

/**
 * One custom-LSTM step of a batch of independent sub-RNNs (gate order i, g, f, o; forget +5, input −5):
 * input `[fwdIn, bwdIn]` (`[..., M]` each), state `h, c` (`[..., H]`).
 * `kernel: 'fused'` (default) uses per-gate matmuls and tanh through sigmoid; `'reference'` the literal
 * concat → matmul → split → tanh form.
 */
export const lstmCellStep = op(
  'lstmCellStep',
  (
    rnn: Pick<RnnParams, 'lstmW' | 'lstmB'>,
    fwdIn: tf.Tensor,
    bwdIn: tf.Tensor,
    h: tf.Tensor,
    c: tf.Tensor,
    opts: { kernel?: KernelName } = {},
  ): LstmState => {
    const { K, H4 } = dims(rnn);
    const H = H4 / 4;
    const M = fwdIn.shape[fwdIn.rank - 1]!;
    if (2 * M + H !== K || bwdIn.shape[bwdIn.rank - 1] !== M || h.shape[h.rank - 1] !== H || c.shape[c.rank - 1] !== H) {
      throw new VsmlError(
        'SHAPE_MISMATCH',
        `lstmCellStep: fwdIn ${fmtShape(fwdIn.shape)}, bwdIn ${fmtShape(bwdIn.shape)}, h ${fmtShape(h.shape)}, c ${fmtShape(c.shape)} do not fit lstm.w ${fmtShape(rnn.lstmW.shape)} (expected [..., M], [..., M], [..., H], [..., H] with 2M+H = ${K})`,
      );
    }
    if (opts.kernel === 'reference') {
      return lstmFromPreactivation(affine(tf.concat([fwdIn, bwdIn, h], -1), rnn.lstmW, rnn.lstmB), c);
    }
    const g = prepareGates(rnn.lstmW, rnn.lstmB, M, H);
    const pre = g.hid.map((w, k) =>
      addBias(tf.add(tf.add(matmulRows(fwdIn, g.fwd[k]!), matmulRows(bwdIn, g.bwd[k]!)), matmulRows(h, w)), g.bias[k]!),
    );
    return lstmFromGates(pre, c);
  },
);

/**
 * The two messengers of a sub-RNN: `fwd = h·fwd.w + fwd.b`, `bwd = h·bwd.w + bwd.b` (`[..., H]` → `[..., M]`),
 * each layer-normalised over its M entries when the group has layer-norm parameters.
 */
export const messengers = op('messengers', (rnn: RnnParams, h: tf.Tensor): { fwd: tf.Tensor; bwd: tf.Tensor } => {
  let fwd = affine(h, rnn.fwdW, rnn.fwdB);
  let bwd = affine(h, rnn.bwdW, rnn.bwdB);
  if (rnn.fwdNorm) fwd = layerNorm(fwd, rnn.fwdNorm.scale, rnn.fwdNorm.offset);
  if (rnn.bwdNorm) bwd = layerNorm(bwd, rnn.bwdNorm.scale, rnn.bwdNorm.offset);
  return { fwd, bwd };
});

/** One full sub-RNN step: LSTM step, then both messengers on the new h. */
export const subRnnStep = op(
  'subRnnStep',
  (
    rnn: RnnParams,
    fwdIn: tf.Tensor,
    bwdIn: tf.Tensor,
    h: tf.Tensor,
    c: tf.Tensor,
    opts: { kernel?: KernelName } = {},
  ): { h: tf.Tensor; c: tf.Tensor; fwd: tf.Tensor; bwd: tf.Tensor } => {
    const s = lstmCellStep(rnn, fwdIn, bwdIn, h, c, opts);
    return { ...s, ...messengers(rnn, s.h) };
  },
);

