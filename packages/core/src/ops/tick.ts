/**
 * Ticks over the layer stack (official `VSMLRNN._tick`) and the per-step pieces around them.
 *
 * Forward tick: x is written into forward-message slot 0 of layer 0 (`[x_a, 0, …]`), the error injection into the
 * last layer's backward messages (`[err_b, lab_b, 0, …]`); layers run in order 0..L−1, each for `microTicks`
 * micro ticks with its incoming messages; layer ℓ's forward output becomes layer ℓ+1's incoming forward messages
 * (so forward messages cross the whole stack in one tick), its backward output becomes layer ℓ−1's incoming
 * backward messages (read at the next tick: backward messages move one layer per tick). The logits are slot
 * `outputIdx` of the last layer's forward output, soft-clipped `b·tanh(y/b)`.
 * Reverse tick: the same with layers in order L−1..0 (and the reverse-tick parameters when
 * `separateBackwardRnn`); its output is not used.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config.js';
import { VsmlError, fmtShape } from '../errors.js';
import { preparedTensors, selectKernel, type DenseKernel, type KernelName, type PreparedRnn } from '../kernels/dense-tick.js';
import { rnnGroups, groupFor, type Direction } from '../layout.js';
import { checkParams, rnnParams, type ParamSet } from '../params.js';
import type { LayerState, VlState } from '../state.js';
import { op } from './scope.js';

/** V_M prepared once for a kernel: one prepared group per (layer, direction), shared groups shared. */
export interface PreparedModel {
  readonly config: ModelConfig;
  readonly kernel: DenseKernel;
  /** population size of per-member parameters, or null when shared */
  readonly paramPopulation: number | null;
  readonly forward: readonly PreparedRnn[];
  readonly reverse: readonly PreparedRnn[];
  /** tensors created by the preparation (dispose with `disposePreparedModel`) */
  readonly owned: readonly tf.Tensor[];
}

/** Validates V_M against the config and prepares it for `kernel` (default `fused`). */
export function prepareModel(params: ParamSet, config: ModelConfig, kernel: KernelName | 'auto' = 'auto'): PreparedModel {
  const paramPopulation = checkParams(params, config);
  const k = selectKernel(kernel);
  const byPrefix = new Map<string, PreparedRnn>();
  const owned: tf.Tensor[] = [];
  for (const g of rnnGroups(config)) {
    const rnn = rnnParams(params, config, g.layer ?? 0, g.direction);
    const p = tf.tidy(() => k.prepare(rnn, config) as unknown as tf.TensorContainer) as unknown as PreparedRnn;
    byPrefix.set(g.prefix, p);
    owned.push(...preparedTensors(p));
  }
  const pick = (layer: number, dir: Direction): PreparedRnn => byPrefix.get(groupFor(config, layer, dir).prefix)!;
  return {
    config,
    kernel: k,
    paramPopulation,
    forward: config.layers.map((_, l) => pick(l, 'forward')),
    reverse: config.layers.map((_, l) => pick(l, 'reverse')),
    owned,
  };
}

/** Disposes the tensors a `prepareModel` created (not the parameters). */
export function disposePreparedModel(m: PreparedModel): void {
  for (const t of m.owned) if (!t.isDisposed) t.dispose();
}

/** `x [E, D]` → `[E, D, M]` with x in message slot 0 and zeros elsewhere. */
export const injectInput = op('injectInput', (x: tf.Tensor, msgSize: number): tf.Tensor => {
  const [E, D] = x.shape as [number, number];
  return tf.pad(tf.reshape(x, [E, D, 1]), [
    [0, 0],
    [0, 0],
    [0, msgSize - 1],
  ]);
});

/** `err, lab [E, C]` → `[E, C, M]` = `[err, lab, 0, …]` per output neuron (lab may be null for zeros). */
export const errorInjection = op('errorInjection', (err: tf.Tensor, lab: tf.Tensor | null, msgSize: number): tf.Tensor => {
  const both = tf.stack([err, lab ?? tf.zerosLike(err)], -1);
  return msgSize === 2
    ? both
    : tf.pad(both, [
        [0, 0],
        [0, 0],
        [0, msgSize - 2],
      ]);
});

/** Soft clip `b·tanh(y/b)` computed as `b·(2σ(2y/b) − 1)` (no Tanh kernel); identity when b is 0 or null. */
export function boundLogits(y: tf.Tensor, bound: number | null): tf.Tensor {
  if (!bound) return y;
  // exact tanh: the [E, C] logits are tiny, and 2σ(2x)−1 loses precision for small |y|/bound
  return tf.mul(tf.tanh(tf.div(y, bound)), bound);
}

/** Logits `[E, C]` from the last layer's forward output `[E, C, M]`: slot `outputIdx`, bounded. */
export function readLogits(fwdOut: tf.Tensor, config: ModelConfig): tf.Tensor {
  const [E, C] = fwdOut.shape as [number, number, number];
  const y = tf.reshape(tf.slice(fwdOut, [0, 0, config.outputIdx], [E, C, 1]), [E, C]);
  return boundLogits(y, config.tanhBound);
}

/** Result of a tick over the stack. */
export interface TickResult {
  /** the new state (tensors not changed by the tick are shared with the input state) */
  readonly state: VlState;
  /** bounded logits `[E, C]` (forward tick only; null for a reverse tick) */
  readonly logits: tf.Tensor | null;
  /** per layer: its aggregated forward output `[E, O, M]` (null where not computed) */
  readonly fwdOut: readonly (tf.Tensor | null)[];
  /** per layer: its aggregated backward output `[E, I, M]` (null where not computed) */
  readonly bwdOut: readonly (tf.Tensor | null)[];
}

/**
 * One tick over the stack with a prepared model (internal form used by the episode runner).
 * @param allMessages compute every layer's messages, also those the tick does not use
 */
export function tickPrepared(
  model: PreparedModel,
  state: VlState,
  x: tf.Tensor,
  bwdInjection: tf.Tensor,
  direction: Direction,
  allMessages = false,
): TickResult {
  const { config } = model;
  const L = config.layers.length;
  const layers: LayerState[] = [...state.layers];
  layers[0] = { ...layers[0]!, fwdIn: injectInput(x, config.msgSize) };
  layers[L - 1] = { ...layers[L - 1]!, bwdIn: bwdInjection };
  const fwdOut: (tf.Tensor | null)[] = new Array<tf.Tensor | null>(L).fill(null);
  const bwdOut: (tf.Tensor | null)[] = new Array<tf.Tensor | null>(L).fill(null);
  let logits: tf.Tensor | null = null;
  const order = direction === 'forward' ? [...Array(L).keys()] : [...Array(L).keys()].reverse();
  for (const l of order) {
    const prepared = direction === 'forward' ? model.forward[l]! : model.reverse[l]!;
    const needs = {
      fwd: allMessages || l < L - 1 || direction === 'forward',
      bwd: allMessages || l > 0,
    };
    const r = model.kernel.tick(prepared, config, layers[l]!, needs);
    layers[l] = { ...layers[l]!, h: r.h, c: r.c };
    fwdOut[l] = r.fwdOut ?? null;
    bwdOut[l] = r.bwdOut ?? null;
    if (l > 0) layers[l - 1] = { ...layers[l - 1]!, bwdIn: r.bwdOut! };
    if (l < L - 1) layers[l + 1] = { ...layers[l + 1]!, fwdIn: r.fwdOut! };
    else if (direction === 'forward') logits = readLogits(r.fwdOut!, config);
  }
  return { state: { ...state, layers }, logits, fwdOut, bwdOut };
}

/** Inputs of a tick. */
export interface TickInputs {
  /** the current datum `[E, D]` (E = P·B rows), written into forward slot 0 of layer 0 */
  readonly x: tf.Tensor;
  /** backward messages for the last layer `[E, C, M]` (see `errorInjection`); default zeros */
  readonly bwdInjection?: tf.Tensor;
}

function checkTickInputs(config: ModelConfig, state: VlState, inputs: TickInputs, fn: string): void {
  const E = state.population * state.innerBatch;
  const D = config.layers[0]!.in;
  const C = config.layers[config.layers.length - 1]!.out;
  if (inputs.x.rank !== 2 || inputs.x.shape[0] !== E || inputs.x.shape[1] !== D) {
    throw new VsmlError('SHAPE_MISMATCH', `${fn}: x has shape ${fmtShape(inputs.x.shape)}, expected [${E},${D}]`);
  }
  const inj = inputs.bwdInjection;
  if (inj && (inj.rank !== 3 || inj.shape[0] !== E || inj.shape[1] !== C || inj.shape[2] !== config.msgSize)) {
    throw new VsmlError('SHAPE_MISMATCH', `${fn}: bwdInjection has shape ${fmtShape(inj.shape)}, expected [${E},${C},${config.msgSize}]`);
  }
  if (state.layers.length !== config.layers.length) {
    throw new VsmlError('SHAPE_MISMATCH', `${fn}: state has ${state.layers.length} layers, config ${config.layers.length}`);
  }
}

function tickOp(direction: Direction) {
  return (
    params: ParamSet,
    config: ModelConfig,
    state: VlState,
    inputs: TickInputs,
    opts: { kernel?: KernelName } = {},
  ): TickResult => {
    const fn = direction === 'forward' ? 'forwardTick' : 'reverseTick';
    checkTickInputs(config, state, inputs, fn);
    const model = prepareModel(params, config, opts.kernel ?? 'auto');
    const E = state.population * state.innerBatch;
    const C = config.layers[config.layers.length - 1]!.out;
    const inj = inputs.bwdInjection ?? tf.zeros([E, C, config.msgSize]);
    return tickPrepared(model, state, inputs.x, inj, direction, true);
  };
}

/**
 * Forward tick over the stack (see module comment): returns the new state, the bounded logits `[E, C]` and every
 * layer's aggregated messages. Differentiable with respect to `params`.
 */
export const forwardTick = op('forwardTick', tickOp('forward'));

/** Reverse tick over the stack (layers L−1..0; used after the forward tick when `backwardPass`). */
export const reverseTick = op('reverseTick', tickOp('reverse'));
