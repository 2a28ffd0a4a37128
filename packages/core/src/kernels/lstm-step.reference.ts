/**
 * The custom LSTM step written straight from the equations (official `recurrent.CustomLSTM`):
 *
 *   G = [fwdMsg, bwdMsg, h]·W + b            split into (i, g, f, o) in this order
 *   i = σ(i − 5), f = σ(f + 5), g = tanh(g), o = σ(o)
 *   c' = f·c + i·g,   h' = o·tanh(c')
 *
 * Uses Split and Tanh; the fast kernel (`lstm-step.fast.ts`) computes the same function without them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GATE_OFFSETS } from '../layout.js';

/** One LSTM step from the full gate pre-activation `G [..., 4H]` (before the ±5 offsets) and `c [..., H]`. */
export function lstmFromPreactivation(G: tf.Tensor, c: tf.Tensor): { h: tf.Tensor; c: tf.Tensor } {
  const [gi, gg, gf, go] = tf.split(G, 4, -1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const i = tf.sigmoid(tf.add(gi, GATE_OFFSETS.i));
  const g = tf.tanh(tf.add(gg, GATE_OFFSETS.g));
  const f = tf.sigmoid(tf.add(gf, GATE_OFFSETS.f));
  const o = tf.sigmoid(tf.add(go, GATE_OFFSETS.o));
  const c2 = tf.add(tf.mul(f, c), tf.mul(i, g));
  return { h: tf.mul(o, tf.tanh(c2)), c: c2 };
}
