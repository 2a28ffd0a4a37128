/**
 * The custom LSTM step per gate, with tanh through sigmoid (`tanh(x) = 2σ(2x) − 1`): no Split and no Tanh
 * kernel, which are slow on the wasm backend (design/stack.md §4). Same function as `lstm-step.reference.ts`
 * up to float rounding.
 *
 * The weights are prepared once per episode (`prepareGates`): `lstm.w` is cut into per-gate blocks of its three
 * row groups (forward message, backward message, hidden), the constant ±5 offsets are folded into the bias and
 * the g gate's weights and bias are doubled, so that `σ(pre_g) = (1 + tanh(g))/2`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GATE_OFFSETS, GATE_ORDER } from '../layout.js';

/** Per-gate weight blocks, gates in the order i, g, f, o (per member: a leading P on every tensor). */
export interface GateWeights {
  /** rows of `lstm.w` that read the forward message, [M, H] per gate */
  readonly fwd: readonly tf.Tensor[];
  /** rows that read the backward message, [M, H] per gate */
  readonly bwd: readonly tf.Tensor[];
  /** rows that read the hidden state, [H, H] per gate */
  readonly hid: readonly tf.Tensor[];
  /** bias plus constant offset, [H] per gate */
  readonly bias: readonly tf.Tensor[];
}

/** Cuts `lstm.w [2M+H, 4H]` / `lstm.b [4H]` (or with a leading P) into per-gate blocks (see module comment). */
export function prepareGates(lstmW: tf.Tensor, lstmB: tf.Tensor, M: number, H: number): GateWeights {
  const stacked = lstmW.rank === 3;
  const P = stacked ? lstmW.shape[0]! : 0;
  const block = (r0: number, rows: number, k: number): tf.Tensor =>
    stacked ? tf.slice(lstmW, [0, r0, k * H], [P, rows, H]) : tf.slice(lstmW, [r0, k * H], [rows, H]);
  const fwd: tf.Tensor[] = [];
  const bwd: tf.Tensor[] = [];
  const hid: tf.Tensor[] = [];
  const bias: tf.Tensor[] = [];
  GATE_ORDER.forEach((gate, k) => {
    const scale = gate === 'g' ? 2 : 1;
    const sc = (t: tf.Tensor): tf.Tensor => (scale === 1 ? t : tf.mul(t, scale));
    fwd.push(sc(block(0, M, k)));
    bwd.push(sc(block(M, M, k)));
    hid.push(sc(block(2 * M, H, k)));
    const b = stacked ? tf.slice(lstmB, [0, k * H], [P, H]) : tf.slice(lstmB, [k * H], [H]);
    bias.push(sc(GATE_OFFSETS[gate] === 0 ? b : tf.add(b, GATE_OFFSETS[gate])));
  });
  return { fwd, bwd, hid, bias };
}

/** All tensors of prepared gate weights (for disposal). */
export function gateTensors(g: GateWeights): tf.Tensor[] {
  return [...g.fwd, ...g.bwd, ...g.hid, ...g.bias];
}

/**
 * One LSTM step from prepared per-gate pre-activations `[pre_i, pre_g, pre_f, pre_o]` (offsets folded in, g
 * doubled) and `c`: c' = σ(pre_f)·c + σ(pre_i)·(2σ(pre_g) − 1), h' = σ(pre_o)·(2σ(2c') − 1).
 */
export function lstmFromGates(pre: readonly tf.Tensor[], c: tf.Tensor): { h: tf.Tensor; c: tf.Tensor } {
  const i = tf.sigmoid(pre[0]!);
  const g = tf.sub(tf.mul(tf.sigmoid(pre[1]!), 2), 1);
  const f = tf.sigmoid(pre[2]!);
  const o = tf.sigmoid(pre[3]!);
  const c2 = tf.add(tf.mul(f, c), tf.mul(i, g));
  const tanhC = tf.sub(tf.mul(tf.sigmoid(tf.mul(c2, 2)), 2), 1);
  return { h: tf.mul(o, tanhC), c: c2 };
}
