/**
 * Dense VSML layer ops (official `vsml_layers.dense`): all I·O sub-RNNs of a layer see the message of their input
 * neuron a, the message of their output neuron b and their own state; forward messages are aggregated over a,
 * backward messages over b (mean, or sum with `aggregation: 'sum'`).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config.js';
import { VsmlError, fmtShape } from '../errors.js';
import { referenceKernel, selectKernel, type KernelName, type LayerTickInput } from '../kernels/dense-tick.js';
import type { RnnParams } from '../params.js';
import { op } from './scope.js';

/** New LSTM state of a layer and its aggregated messages. */
export interface DenseTickResult {
  /** [E, I, O, H] */
  readonly h: tf.Tensor;
  /** [E, I, O, H] */
  readonly c: tf.Tensor;
  /** forward messages for the next layer, [E, O, M] */
  readonly fwdOut: tf.Tensor;
  /** backward messages for the previous layer, [E, I, M] */
  readonly bwdOut: tf.Tensor;
}

function checkLayer(config: ModelConfig, layer: LayerTickInput, fn: string): void {
  const [E, I, O, H] = layer.h.shape;
  const M = config.msgSize;
  const ok =
    layer.h.rank === 4 &&
    H === config.slowSize &&
    layer.c.shape.every((d, i) => d === layer.h.shape[i]) &&
    layer.fwdIn.rank === 3 &&
    layer.fwdIn.shape[0] === E &&
    layer.fwdIn.shape[1] === I &&
    layer.fwdIn.shape[2] === M &&
    layer.bwdIn.rank === 3 &&
    layer.bwdIn.shape[0] === E &&
    layer.bwdIn.shape[1] === O &&
    layer.bwdIn.shape[2] === M;
  if (!ok) {
    throw new VsmlError(
      'SHAPE_MISMATCH',
      `${fn}: h ${fmtShape(layer.h.shape)}, c ${fmtShape(layer.c.shape)}, fwdIn ${fmtShape(layer.fwdIn.shape)}, bwdIn ${fmtShape(layer.bwdIn.shape)}; expected [E,I,O,${config.slowSize}] twice, [E,I,${M}], [E,O,${M}]`,
    );
  }
}

/** One micro tick of a dense layer in the literal form (every sub-RNN, both messengers, then the means). */
export const denseMicroTick = op('denseMicroTick', (rnn: RnnParams, config: ModelConfig, layer: LayerTickInput): DenseTickResult => {
  checkLayer(config, layer, 'denseMicroTick');
  const r = referenceKernel.tick({ rnn }, { ...config, microTicks: 1 }, layer, { fwd: true, bwd: true });
  return { h: r.h, c: r.c, fwdOut: r.fwdOut!, bwdOut: r.bwdOut! };
});

/**
 * A full layer tick: `config.microTicks` micro ticks with the same incoming messages, messages of the last one.
 * `kernel: 'fused'` (default) or `'reference'` (literal; same numbers up to float rounding).
 */
export const denseLayerTick = op(
  'denseLayerTick',
  (rnn: RnnParams, config: ModelConfig, layer: LayerTickInput, opts: { kernel?: KernelName } = {}): DenseTickResult => {
    checkLayer(config, layer, 'denseLayerTick');
    const k = selectKernel(opts.kernel ?? 'auto');
    const r = k.tick(k.prepare(rnn, config), config, layer, { fwd: true, bwd: true });
    return { h: r.h, c: r.c, fwdOut: r.fwdOut!, bwdOut: r.bwdOut! };
  },
);
