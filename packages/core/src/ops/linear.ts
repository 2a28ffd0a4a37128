/**
 * Affine maps whose weights are either shared (`w [K, N]`, `b [N]`) or per population member (`w [P, K, N]`,
 * `b [P, N]`). Per member, the leading dimension of the input (E rows) is P blocks of E/P consecutive rows
 * (row e belongs to member floor(e·P/E)), so one batched matmul serves the whole population.
 */
import * as tf from '@tensorflow/tfjs-core';
import { VsmlError, fmtShape } from '../errors.js';
import { LAYER_NORM_EPS } from '../layout.js';

/** Whether a weight carries a leading population dimension (rank 3 for matrices, rank 2 for vectors). */
function perMember(w: tf.Tensor, baseRank: number): boolean {
  return w.rank === baseRank + 1;
}

/** `x [E, ..., K] · w` with `w [K, N]` or `[P, K, N]` → `[E, ..., N]`. */
export function matmulRows(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const K = x.shape[x.rank - 1]!;
  const N = w.shape[w.rank - 1]!;
  if (w.shape[w.rank - 2] !== K) {
    throw new VsmlError('SHAPE_MISMATCH', `matmulRows: input ${fmtShape(x.shape)} does not fit weight ${fmtShape(w.shape)}`);
  }
  const outShape = [...x.shape.slice(0, -1), N];
  if (!perMember(w, 2)) return tf.reshape(tf.matMul(tf.reshape(x, [-1, K]), w), outShape);
  const P = w.shape[0]!;
  if (x.shape[0]! % P !== 0) {
    throw new VsmlError('SHAPE_MISMATCH', `matmulRows: ${x.shape[0]} rows cannot be split over P = ${P} members`);
  }
  return tf.reshape(tf.matMul(tf.reshape(x, [P, -1, K]), w), outShape);
}

/** `x [E, ..., N] + b` with `b [N]` or `[P, N]`. */
export function addBias(x: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (!perMember(b, 1)) return tf.add(x, b);
  const P = b.shape[0]!;
  const N = b.shape[1]!;
  return tf.reshape(tf.add(tf.reshape(x, [P, -1, N]), tf.reshape(b, [P, 1, N])), x.shape);
}

/** `x [E, ..., N] * s` with `s [N]` or `[P, N]`. */
export function mulRows(x: tf.Tensor, s: tf.Tensor): tf.Tensor {
  if (!perMember(s, 1)) return tf.mul(x, s);
  const P = s.shape[0]!;
  const N = s.shape[1]!;
  return tf.reshape(tf.mul(tf.reshape(x, [P, -1, N]), tf.reshape(s, [P, 1, N])), x.shape);
}

/** `x·w + b`. */
export function affine(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return addBias(matmulRows(x, w), b);
}

/**
 * Layer norm over the last axis (Haiku `LayerNorm(axis=-1, create_scale, create_offset)`, eps 1e-5, biased
 * variance): `scale · (x − mean) / sqrt(var + eps) + offset`.
 */
export function layerNorm(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const d = tf.sub(x, mean);
  const variance = tf.mean(tf.square(d), -1, true);
  const y = tf.mul(d, tf.rsqrt(tf.add(variance, LAYER_NORM_EPS)));
  return addBias(mulRows(y, scale), offset);
}
