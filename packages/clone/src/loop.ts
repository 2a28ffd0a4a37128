/**
 * The clone's step: one online learning step of a VSML network that (ideally) emulates backpropagation, built from
 * the ops of `@vsml/core` (`PreparedModel.kernel.tick` per layer, `injectInput`, `readLogits`).
 *
 * Per step (E = P·B rows; the official `VSMLRNN.__call__` with `backward_pass: True`, with two deliberate changes):
 *
 *   merge h, c over the inner batch (`mergeRows` = core's `mergeInnerBatch`, fraction `innerBatchMerge`; App. D)
 *   forward tick, layers 0..L−1: layer ℓ gets forward messages [x, 0, …] (ℓ = 0) or layer ℓ−1's forward output,
 *       and backward messages = 0 (CHANGE 1: no stale backward message, see below); logits = forward slot outputIdx
 *   err = errorScale·(softmax(logits) − onehot(y))             (CHANGE 2: per row, not divided by B; see below)
 *   reverse tick, layers L−1..0: layer ℓ gets the forward messages it got in the forward tick and backward messages
 *       [err, 0, …] (last layer) or layer ℓ+1's backward output of this reverse tick
 *
 * CHANGE 1 — stale backward messages. In core's `tickPrepared` a layer's incoming backward messages persist in the
 * state: after a reverse tick, layer ℓ < L−1 still holds layer ℓ+1's backward output (the error of the last step),
 * and the next forward tick would run layer ℓ with that old error next to a new input, so an emulated-backprop clone
 * would apply the last update a second time to the new input. Here every forward tick sees zero backward messages.
 * (The official code keeps the stale message; for a learned-from-scratch rule it is just another input.)
 *
 * CHANGE 2 — error scale. Core's `runEpisode` injects ∂(mean over B of CE)/∂logits = (softmax − onehot)/B. With state
 * averaging the mean over the batch is already taken by merging the B rows' updates, so the clone gets the per-row
 * error (the rule it was cloned with); `errorScale` multiplies it (an effective learning-rate knob at meta-test).
 *
 * Rows can be processed in chunks (`chunkRows`) inside each layer tick, so that the 784·10·64 sub-RNNs of the MNIST
 * meta-test fit into wasm memory; the result does not depend on the chunking.
 */
import {
  tf,
  injectInput,
  readLogits,
  type LayerState,
  type LayerTickInput,
  type LayerTickOutput,
  type MessageNeeds,
  type ModelConfig,
  type PreparedModel,
  type PreparedRnn,
  type VlState,
} from '@vsml/core';
import type { Emulation } from './config.js';
import type { NetworkWeights } from './emulated.js';
import { CloneError } from './errors.js';

/** Resolves on the next turn of the event loop (tfjs reads resolve as microtasks, which never let timers or signal handlers run). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `tf.tidy` for results that hold tensors inside plain objects (e.g. a `VlState`): those tensors survive. */
export function tidy<T>(f: () => T): T {
  return tf.tidy(() => f() as unknown as tf.TensorContainer) as unknown as T;
}

/** Identity whose gradient is zero (the injected error is an input, not a path for meta-gradients). */
export const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor),
})) as (x: tf.Tensor) => tf.Tensor;

/** Slot `dim` of state component `component` of every sub-RNN of layer `layer`, `[E, I, O]` (stored units). */
export function storedSlot(layer: Pick<LayerState, 'h' | 'c'>, component: 'c' | 'h', dim: number): tf.Tensor {
  const t = component === 'c' ? layer.c : layer.h;
  const [E, I, O, H] = t.shape as [number, number, number, number];
  if (dim >= H) throw new CloneError('SHAPE_MISMATCH', `storedSlot: dim ${dim} outside the state size ${H}`);
  return tf.reshape(tf.slice(t, [0, 0, 0, dim], [E, I, O, 1]), [E, I, O]);
}

/** The weights the sub-RNNs currently store, per row, in full units (`scale · stored`). */
export function readWeights(state: VlState, emulation: Pick<Emulation, 'component' | 'wDim' | 'bDim' | 'scale'>): NetworkWeights {
  return tf.tidy(() => ({
    w: state.layers.map((l) => tf.mul(storedSlot(l, emulation.component, emulation.wDim), emulation.scale)),
    b: state.layers.map((l) => tf.mul(storedSlot(l, emulation.component, emulation.bDim), emulation.scale)),
  }));
}

/** A copy of `t [E, I, O, H]` with slots `dims` replaced by `values[k] [E, I, O]`. */
export function withSlots(t: tf.Tensor, dims: readonly number[], values: readonly tf.Tensor[]): tf.Tensor {
  return tf.tidy(() => {
    const H = t.shape[3]!;
    const parts = tf.unstack(t, 3);
    dims.forEach((d, k) => {
      if (d >= H) throw new CloneError('SHAPE_MISMATCH', `withSlots: dim ${d} outside the state size ${H}`);
      parts[d] = values[k]!;
    });
    return tf.stack(parts, 3);
  });
}

/** Writes full-unit weights `w[ℓ]`, `b[ℓ]` (`[E, I, O]`) into the storage slots of a state (returns a new state). */
export function writeWeights(state: VlState, weights: NetworkWeights, emulation: Pick<Emulation, 'component' | 'wDim' | 'bDim' | 'scale'>): VlState {
  const layers = state.layers.map((l, k) => {
    const vals = [tf.div(weights.w[k]!, emulation.scale), tf.div(weights.b[k]!, emulation.scale)];
    const t = withSlots(emulation.component === 'c' ? l.c : l.h, [emulation.wDim, emulation.bDim], vals);
    vals.forEach((v) => v.dispose());
    return emulation.component === 'c' ? { ...l, c: t } : { ...l, h: t };
  });
  return { ...state, layers };
}

/**
 * Inner-batch merging of one state tensor `[P·B, I, O, H]`, the same numbers as core's `mergeInnerBatch` (first
 * `floor(H·fraction)` dims replaced by their mean over the B rows of each learner) but differentiable for every
 * fraction: core's version broadcasts a rank-5 tensor (`tf.broadcastTo` → Tile), whose gradient tfjs does not
 * implement, so whole-state merging (fraction 1) could not be trained through.
 */
export function mergeRows(x: tf.Tensor, population: number, innerBatch: number, fraction: number): tf.Tensor {
  const H = x.shape[x.rank - 1]!;
  const k = Math.floor(H * fraction);
  if (innerBatch <= 1 || k === 0) return x;
  return tf.tidy(() => {
    const x4 = tf.reshape(x, [population, innerBatch, -1, H]);
    const m = tf.mean(x4, 1, true);
    if (k === H) return tf.reshape(tf.add(m, tf.zerosLike(x4)), x.shape);
    const mask = tf.tensor1d(Array.from({ length: H }, (_, j) => (j < k ? 1 : 0)));
    return tf.reshape(tf.add(tf.mul(x4, tf.sub(1, mask)), tf.mul(m, mask)), x.shape);
  });
}

/** Merges h and c over the inner batch as core's episode runner does (no-op for B = 1 or fraction 0). */
export function mergeState(state: VlState, config: ModelConfig): VlState {
  const B = state.innerBatch;
  if (B <= 1 || config.innerBatchMerge <= 0) return state;
  return {
    ...state,
    layers: state.layers.map((l) => ({
      ...l,
      h: mergeRows(l.h, state.population, B, config.innerBatchMerge),
      c: mergeRows(l.c, state.population, B, config.innerBatchMerge),
    })),
  };
}

/** One layer tick, optionally in chunks of rows (shared parameters only). */
export function layerTick(model: PreparedModel, prepared: PreparedRnn, layer: LayerTickInput, needs: MessageNeeds, chunkRows = Infinity): LayerTickOutput {
  const E = layer.h.shape[0]!;
  if (E <= chunkRows || model.paramPopulation !== null) return model.kernel.tick(prepared, model.config, layer, needs);
  const parts: LayerTickOutput[] = [];
  for (let r0 = 0; r0 < E; r0 += chunkRows) {
    const n = Math.min(chunkRows, E - r0);
    parts.push(
      tf.tidy(() => {
        const sl = (t: tf.Tensor): tf.Tensor => tf.slice(t, [r0], [n]);
        return model.kernel.tick(prepared, model.config, { h: sl(layer.h), c: sl(layer.c), fwdIn: sl(layer.fwdIn), bwdIn: sl(layer.bwdIn) }, needs) as unknown as tf.TensorContainer;
      }) as unknown as LayerTickOutput,
    );
  }
  const cat = (f: (p: LayerTickOutput) => tf.Tensor | undefined): tf.Tensor | undefined => {
    const ts = parts.map(f);
    if (ts.some((t) => t === undefined)) return undefined;
    const out = tf.concat(ts as tf.Tensor[], 0);
    for (const t of ts) t!.dispose();
    return out;
  };
  const h = cat((p) => p.h)!;
  const c = cat((p) => p.c)!;
  const fwdOut = cat((p) => p.fwdOut);
  const bwdOut = cat((p) => p.bwdOut);
  return { h, c, ...(fwdOut ? { fwdOut } : {}), ...(bwdOut ? { bwdOut } : {}) };
}

/** Options of {@link cloneStep}. */
export interface StepOptions {
  /** the injected error is `errorScale·(softmax − onehot)` (default 1) */
  readonly errorScale?: number;
  /** rows per chunk inside each layer tick (default: no chunking) */
  readonly chunkRows?: number;
  /** merge the inner batch before the step (default true) */
  readonly merge?: boolean;
  /** teacher forcing: the activation `[E, I_ℓ]` entering layer ℓ ≥ 1 in place of layer ℓ−1's forward output */
  readonly teacherActs?: readonly (tf.Tensor | null | undefined)[];
  /** teacher forcing: the error `[E, O_ℓ]` entering layer ℓ < L−1 in place of layer ℓ+1's backward output */
  readonly teacherErrs?: readonly (tf.Tensor | null | undefined)[];
  /** also return every layer's messages and the state after the forward tick (default false) */
  readonly record?: boolean;
}

/** What {@link cloneStep} returns (the caller owns every tensor; unchanged tensors are shared with the input state). */
export interface StepResult {
  /** state after the reverse tick */
  readonly state: VlState;
  /** logits of the forward tick (the prediction before the label is revealed), `[E, C]` */
  readonly logits: tf.Tensor;
  /** the injected error `[E, C]` */
  readonly error: tf.Tensor;
  /** with `record`: the merged state the step started from */
  readonly start?: VlState;
  /** with `record`: the state after the forward tick */
  readonly mid?: VlState;
  /** with `record`: per layer, the forward messages it received `[E, I, M]` */
  readonly fwdIn?: readonly tf.Tensor[];
  /** with `record`: per layer, its aggregated forward output of the forward tick `[E, O, M]` */
  readonly fwdOut?: readonly tf.Tensor[];
  /** with `record`: per layer, the backward messages it received in the reverse tick `[E, O, M]` */
  readonly bwdIn?: readonly tf.Tensor[];
  /** with `record`: per layer, its aggregated backward output of the reverse tick `[E, I, M]` */
  readonly bwdOut?: readonly tf.Tensor[];
}

function msg(values: tf.Tensor, M: number): tf.Tensor {
  return injectInput(values, M);
}

/**
 * One online step of the clone (see the module comment). Differentiable with respect to V_M (through `model`); the
 * injected error is treated as data (zero gradient).
 * @param x inputs `[E, D]`
 * @param labels class indices, int32 `[E]`
 */
export function cloneStep(model: PreparedModel, state: VlState, x: tf.Tensor, labels: tf.Tensor, opts: StepOptions = {}): StepResult {
  const { config } = model;
  const L = config.layers.length;
  const M = config.msgSize;
  const C = config.layers[L - 1]!.out;
  const E = state.population * state.innerBatch;
  if (x.rank !== 2 || x.shape[0] !== E || x.shape[1] !== config.layers[0]!.in) {
    throw new CloneError('SHAPE_MISMATCH', `cloneStep: x has shape [${x.shape.join(',')}], expected [${E},${config.layers[0]!.in}]`);
  }
  const chunk = opts.chunkRows ?? Infinity;
  const start = opts.merge === false ? state : mergeState(state, config);
  // forward tick
  const mid: LayerState[] = [...start.layers];
  const fwdIn: tf.Tensor[] = [];
  const fwdOut: tf.Tensor[] = [];
  let incoming = msg(x, M);
  for (let l = 0; l < L; l++) {
    const teach = l > 0 ? opts.teacherActs?.[l] : undefined;
    const fin = teach ? msg(teach, M) : incoming;
    const layer = start.layers[l]!;
    const bwdZero = tf.zeros([E, config.layers[l]!.out, M]);
    const r = layerTick(model, model.forward[l]!, { h: layer.h, c: layer.c, fwdIn: fin, bwdIn: bwdZero }, { fwd: true, bwd: false }, chunk);
    mid[l] = { ...layer, h: r.h, c: r.c };
    fwdIn.push(fin);
    fwdOut.push(r.fwdOut!);
    incoming = r.fwdOut!;
  }
  const logits = readLogits(fwdOut[L - 1]!, config);
  const onehot = tf.oneHot(labels, C).toFloat();
  const error = stopGradient(tf.mul(tf.sub(tf.softmax(logits), onehot), opts.errorScale ?? 1));
  // reverse tick
  const end: LayerState[] = [...mid];
  const bwdIn: tf.Tensor[] = new Array<tf.Tensor>(L);
  const bwdOut: tf.Tensor[] = new Array<tf.Tensor>(L);
  let back = msg(error, M);
  for (let l = L - 1; l >= 0; l--) {
    const teach = l < L - 1 ? opts.teacherErrs?.[l] : undefined;
    const bin = teach ? msg(teach, M) : back;
    const layer = mid[l]!;
    const needBwd = l > 0 || opts.record === true;
    const r = layerTick(model, model.reverse[l]!, { h: layer.h, c: layer.c, fwdIn: fwdIn[l]!, bwdIn: bin }, { fwd: false, bwd: needBwd }, chunk);
    end[l] = { ...layer, h: r.h, c: r.c };
    bwdIn[l] = bin;
    if (r.bwdOut) {
      bwdOut[l] = r.bwdOut;
      back = r.bwdOut;
    }
  }
  const out: StepResult = { state: { ...state, layers: end }, logits, error };
  if (!opts.record) return out;
  return { ...out, start, mid: { ...state, layers: mid }, fwdIn, fwdOut, bwdIn, bwdOut };
}

/**
 * Predictions of the learner without learning: the state averaged over its rows (the merged network), copied onto
 * every test row, one forward tick with zero backward messages; nothing is written back. `x [N, D]` → logits `[N, C]`.
 */
export function predictLogits(model: PreparedModel, state: VlState, x: tf.Tensor, opts: { chunkRows?: number } = {}): tf.Tensor {
  const { config } = model;
  if (state.population !== 1) throw new CloneError('BAD_ARGUMENT', `predictLogits: one learner at a time (population ${state.population})`);
  const N = x.shape[0]!;
  const chunk = Math.max(1, Math.min(opts.chunkRows ?? 64, N));
  const M = config.msgSize;
  const L = config.layers.length;
  const mean = tf.tidy(() => state.layers.map((l) => ({ h: tf.mean(l.h, 0, true), c: tf.mean(l.c, 0, true) })));
  try {
    const parts: tf.Tensor[] = [];
    for (let r0 = 0; r0 < N; r0 += chunk) {
      const n = Math.min(chunk, N - r0);
      parts.push(
        tf.tidy(() => {
          let incoming = msg(tf.slice(x, [r0], [n]), M);
          for (let l = 0; l < L; l++) {
            const m = mean[l]!;
            const shape = [n, ...m.h.shape.slice(1)];
            const r = model.kernel.tick(
              model.forward[l]!,
              config,
              { h: tf.broadcastTo(m.h, shape), c: tf.broadcastTo(m.c, shape), fwdIn: incoming, bwdIn: tf.zeros([n, config.layers[l]!.out, M]) },
              { fwd: true, bwd: false },
            );
            incoming = r.fwdOut!;
          }
          return readLogits(incoming, config);
        }),
      );
    }
    const out = tf.concat(parts, 0);
    parts.forEach((p) => p.dispose());
    return out;
  } finally {
    for (const m of mean) {
      m.h.dispose();
      m.c.dispose();
    }
  }
}
