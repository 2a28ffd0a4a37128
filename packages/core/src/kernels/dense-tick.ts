/**
 * Dense VSML layer tick kernels (official `vsml_layers.dense`, run `microTicks` times with the same incoming
 * messages; only the LSTM state advances, the messages of the last micro tick are kept).
 *
 * Two implementations of the same function, picked by name (`KERNELS`):
 * - `reference`: the literal structure of the official code: per micro tick, every sub-RNN (a, b) reads
 *   `[fwdIn[a], bwdIn[b], h_ab]`, one `[·, 2M+H]·[2M+H, 4H]` matmul, Split, Tanh, both messengers per sub-RNN,
 *   then mean (or sum) over a (forward) and over b (backward).
 * - `fused`: the same algebra re-associated for speed:
 *   - the gate matmul is split into a recurrent part `h·W_h` (per micro tick) and message parts
 *     `fwdIn[a]·W_f` (per row a) and `bwdIn[b]·W_b + bias` (per column b), computed once per tick because the
 *     incoming messages do not change between micro ticks;
 *   - per-gate sigmoids with tanh through sigmoid (no Split / Tanh kernels);
 *   - messengers are linear, so without layer norm they are applied after the means:
 *     `mean_a(h_ab·W + b) = (mean_a h_ab)·W + b` (sum aggregation: `(Σ_a h_ab)·W + I·b`);
 *   - messages are formed only after the last micro tick, and only those that are used.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config.js';
import { addBias, affine, layerNorm, matmulRows } from '../ops/linear.js';
import type { RnnParams } from '../params.js';
import { lstmFromPreactivation } from './lstm-step.reference.js';
import { gateTensors, lstmFromGates, prepareGates, type GateWeights } from './lstm-step.fast.js';

/** Name of a dense tick kernel. */
export type KernelName = 'fused' | 'reference';

/** The tensors a layer tick reads. */
export interface LayerTickInput {
  /** [E, I, O, H] */
  readonly h: tf.Tensor;
  /** [E, I, O, H] */
  readonly c: tf.Tensor;
  /** [E, I, M] */
  readonly fwdIn: tf.Tensor;
  /** [E, O, M] */
  readonly bwdIn: tf.Tensor;
}

/** What a layer tick returns: new LSTM state and the aggregated messages that were asked for. */
export interface LayerTickOutput {
  readonly h: tf.Tensor;
  readonly c: tf.Tensor;
  /** forward messages to the next layer, [E, O, M] (if needed) */
  readonly fwdOut?: tf.Tensor;
  /** backward messages to the previous layer, [E, I, M] (if needed) */
  readonly bwdOut?: tf.Tensor;
}

/** Which aggregated messages a tick must produce. */
export interface MessageNeeds {
  readonly fwd: boolean;
  readonly bwd: boolean;
}

/** Parameters of one sub-RNN group prepared for a kernel (built once per episode). */
export interface PreparedRnn {
  readonly rnn: RnnParams;
  /** fused kernel only */
  readonly gates?: GateWeights;
}

/** A dense-layer tick implementation. */
export interface DenseKernel {
  readonly name: KernelName;
  prepare(rnn: RnnParams, config: ModelConfig): PreparedRnn;
  tick(p: PreparedRnn, config: ModelConfig, layer: LayerTickInput, needs: MessageNeeds): LayerTickOutput;
}

/** The tensors a kernel created in `prepare` (to dispose). */
export function preparedTensors(p: PreparedRnn): tf.Tensor[] {
  return p.gates ? gateTensors(p.gates) : [];
}

function aggregate(x: tf.Tensor, axis: number, mode: ModelConfig['aggregation']): tf.Tensor {
  return mode === 'sum' ? tf.sum(x, axis) : tf.mean(x, axis);
}

/**
 * Mean (or sum) over the input neurons a of `x [E, I, O, K]` → `[E, O, K]`, as a batched `[1, I]·[I, O·K]` matmul:
 * on wasm a reduction over a middle axis transposes first and costs several times more.
 */
function aggregateOverInputs(x: tf.Tensor, mode: ModelConfig['aggregation']): tf.Tensor {
  const [E, I, O, K] = x.shape as [number, number, number, number];
  const w = tf.fill([E, 1, I], mode === 'mean' ? 1 / I : 1);
  return tf.reshape(tf.matMul(w, tf.reshape(x, [E, I, O * K])), [E, O, K]);
}

function clip(x: tf.Tensor, config: ModelConfig): tf.Tensor {
  return config.stateClip ? tf.clipByValue(x, config.stateClip[0], config.stateClip[1]) : x;
}

/** Per-sub-RNN messages `[E, I, O, M]` (with layer norm when configured). */
function subMessages(rnn: RnnParams, h: tf.Tensor, which: 'fwd' | 'bwd'): tf.Tensor {
  const y = which === 'fwd' ? affine(h, rnn.fwdW, rnn.fwdB) : affine(h, rnn.bwdW, rnn.bwdB);
  const norm = which === 'fwd' ? rnn.fwdNorm : rnn.bwdNorm;
  return norm ? layerNorm(y, norm.scale, norm.offset) : y;
}

/** The literal kernel (see module comment). */
export const referenceKernel: DenseKernel = {
  name: 'reference',
  prepare: (rnn) => ({ rnn }),
  tick(p, config, layer, needs) {
    const [E, I, O] = layer.h.shape as [number, number, number, number];
    const M = config.msgSize;
    let { h, c } = layer;
    let fwdOut: tf.Tensor | undefined;
    let bwdOut: tf.Tensor | undefined;
    const fB = tf.broadcastTo(tf.reshape(layer.fwdIn, [E, I, 1, M]), [E, I, O, M]);
    const bB = tf.broadcastTo(tf.reshape(layer.bwdIn, [E, 1, O, M]), [E, I, O, M]);
    for (let m = 0; m < config.microTicks; m++) {
      const z = tf.concat([fB, bB, h], -1);
      const G = affine(z, p.rnn.lstmW, p.rnn.lstmB);
      const s = lstmFromPreactivation(G, c);
      h = clip(s.h, config);
      c = clip(s.c, config);
      fwdOut = aggregate(subMessages(p.rnn, h, 'fwd'), 1, config.aggregation);
      bwdOut = aggregate(subMessages(p.rnn, h, 'bwd'), 2, config.aggregation);
    }
    return { h, c, ...(needs.fwd ? { fwdOut: fwdOut! } : {}), ...(needs.bwd ? { bwdOut: bwdOut! } : {}) };
  },
};

/** The fused kernel (see module comment). */
export const fusedKernel: DenseKernel = {
  name: 'fused',
  prepare: (rnn, config) => ({ rnn, gates: prepareGates(rnn.lstmW, rnn.lstmB, config.msgSize, config.slowSize) }),
  tick(p, config, layer, needs) {
    const [E, I, O, H] = layer.h.shape as [number, number, number, number];
    const gates = p.gates ?? prepareGates(p.rnn.lstmW, p.rnn.lstmB, config.msgSize, config.slowSize);
    // message parts of the gate pre-activations, once per tick: [E, I, 1, H] + [E, 1, O, H]
    const parts = gates.hid.map((_, k) => {
      const row = matmulRows(layer.fwdIn, gates.fwd[k]!);
      const col = addBias(matmulRows(layer.bwdIn, gates.bwd[k]!), gates.bias[k]!);
      return tf.add(tf.reshape(row, [E, I, 1, H]), tf.reshape(col, [E, 1, O, H]));
    });
    let { h, c } = layer;
    for (let m = 0; m < config.microTicks; m++) {
      const pre = gates.hid.map((w, k) => tf.add(matmulRows(h, w), parts[k]!));
      const s = lstmFromGates(pre, c);
      h = clip(s.h, config);
      c = clip(s.c, config);
    }
    let fwdOut: tf.Tensor | undefined;
    let bwdOut: tf.Tensor | undefined;
    const sum = config.aggregation === 'sum';
    if (needs.fwd) {
      fwdOut = config.layerNorm
        ? aggregateOverInputs(subMessages(p.rnn, h, 'fwd'), config.aggregation)
        : affine(aggregateOverInputs(h, config.aggregation), p.rnn.fwdW, sum ? tf.mul(p.rnn.fwdB, I) : p.rnn.fwdB);
    }
    if (needs.bwd) {
      bwdOut = config.layerNorm
        ? aggregate(subMessages(p.rnn, h, 'bwd'), 2, config.aggregation)
        : affine(aggregate(h, 2, config.aggregation), p.rnn.bwdW, sum ? tf.mul(p.rnn.bwdB, O) : p.rnn.bwdB);
    }
    return { h, c, ...(fwdOut ? { fwdOut } : {}), ...(bwdOut ? { bwdOut } : {}) };
  },
};

/** Kernels by name. */
export const KERNELS: Readonly<Record<KernelName, DenseKernel>> = { fused: fusedKernel, reference: referenceKernel };

/** The kernel to use: `fused` everywhere unless asked otherwise (fast on wasm, cpu and native alike). */
export function selectKernel(name: KernelName | 'auto' = 'auto'): DenseKernel {
  return name === 'auto' ? fusedKernel : KERNELS[name];
}

export { lstmFromPreactivation, lstmFromGates, prepareGates };
