/**
 * The episode runner (official `VSMLRNN.__call__`, a scan over T steps) and the meta-loss.
 *
 * Per step t (P independent episodes, each with an inner batch of B rows, E = P·B):
 *
 *   if B > 1: merge the first half of h and c over the inner batch            (official `_merge_layer_states`)
 *   (state, ŷ_t) = forwardTick(state, x_t, [err, lab])                         prediction before y_t is revealed
 *   loss_t = CE(ŷ_t, y_t),  correct_t = [argmax ŷ_t = y_t]
 *   err = (softmax(ŷ_t) − onehot(y_t)) / B,  lab = feedLabel ? onehot(y_t) : 0   (= ∂ mean_B CE / ∂ŷ)
 *   if backwardPass: state = reverseTick(state, x_t, [err, lab]); err = lab = 0
 *
 * The error of step t reaches the network at step t+1 together with x_{t+1}. Everything is differentiable with
 * respect to V_M (`tf.grad` through the unrolled episode, including through the error signal unless
 * `stopErrorGradient`). Each step runs in its own `tf.tidy`; the step loop never reads data back to JS.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.js';
import { VsmlError, fmtShape } from './errors.js';
import { debugEnabled } from './debug.js';
import type { KernelName } from './kernels/dense-tick.js';
import { disposePreparedModel, errorInjection, prepareModel, tickPrepared, type PreparedModel } from './ops/tick.js';
import type { ParamSet } from './params.js';
import { initState, mergeInnerBatch, stateTensors, type VlState } from './state.js';

/** Labels as typed or plain arrays (class indices). */
export type LabelArray = Int32Array | Uint8Array | Uint16Array | Uint32Array | Float32Array | readonly number[];

/** The data of P episodes. */
export interface EpisodeData {
  /**
   * Inputs `[T, P, D]` or `[T, P, B, D]` (inner batch B): a tensor, or a flat array in that row-major order
   * (then `steps` and `population`, and `innerBatch` if > 1, are required).
   */
  readonly inputs: tf.Tensor | Float32Array | readonly number[];
  /** Class indices `[T, P]` or `[T, P, B]`: a tensor (int32 or float32) or a flat array. */
  readonly labels: tf.Tensor | LabelArray;
  /** T, for flat arrays */
  readonly steps?: number;
  /** P, for flat arrays */
  readonly population?: number;
  /** B, for flat arrays (default 1) */
  readonly innerBatch?: number;
}

/** Options of {@link runEpisode}. */
export interface EpisodeOptions {
  /** seed of a fresh initial state (`initState`); required unless `initialState` is given */
  readonly seed?: number;
  /** member keys for the fresh initial state (see `initState`) */
  readonly memberKeys?: readonly number[];
  /** start from this state instead (its tensors are not disposed) */
  readonly initialState?: VlState;
  /** the (error, label) pair fed at step 0, `[E, C, 2]` (default zeros); `finalError` of a previous run continues it */
  readonly startError?: tf.Tensor;
  /** also return the final state and the pending error (default false) */
  readonly returnState?: boolean;
  /** dense tick kernel (default `fused`) */
  readonly kernel?: KernelName | 'auto';
  /** treat the fed-back error as a constant for meta-gradients (default false: differentiate through it) */
  readonly stopErrorGradient?: boolean;
}

/** What {@link runEpisode} returns (all tensors owned by the caller). */
export interface EpisodeResult {
  /** bounded logits per step, `[T, P, C]` (`[T, P, B, C]` with an inner batch) */
  readonly logits: tf.Tensor;
  /** cross-entropy per step, `[T, P]` (`[T, P, B]`) */
  readonly loss: tf.Tensor;
  /** 1 where argmax(logits) = label, else 0 (float32), `[T, P]` (`[T, P, B]`) */
  readonly correct: tf.Tensor;
  /** final state (with `returnState`) */
  readonly state?: VlState;
  /** the (error, label) pair the next step would receive, `[E, C, 2]` (with `returnState`) */
  readonly finalError?: tf.Tensor;
}

/** Data resolved into per-step tensors. */
interface StepData {
  readonly T: number;
  readonly P: number;
  readonly B: number;
  /** input of step t, [E, D] */
  x(t: number): tf.Tensor;
  /** labels of step t, int32 [E] */
  y(t: number): tf.Tensor;
  /** dispose what resolving created */
  dispose(): void;
}

function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

function resolveData(config: ModelConfig, data: EpisodeData): StepData {
  const D = config.layers[0]!.in;
  const C = config.layers[config.layers.length - 1]!.out;
  let T: number;
  let P: number;
  let B: number;
  let x: (t: number) => tf.Tensor;
  const created: tf.Tensor[] = [];
  if (isTensor(data.inputs)) {
    const s = data.inputs.shape;
    if ((s.length !== 3 && s.length !== 4) || s[s.length - 1] !== D) {
      throw new VsmlError('SHAPE_MISMATCH', `runEpisode: inputs have shape ${fmtShape(s)}, expected [T,P,${D}] or [T,P,B,${D}]`);
    }
    T = s[0]!;
    P = s[1]!;
    B = s.length === 4 ? s[2]! : 1;
    let inputs = data.inputs;
    if (inputs.dtype !== 'float32') {
      inputs = tf.cast(inputs, 'float32');
      created.push(inputs);
    }
    const t3 = tf.reshape(inputs, [T, P * B, D]);
    if (t3 !== inputs) created.push(t3);
    x = (t) => tf.reshape(tf.slice(t3, [t, 0, 0], [1, P * B, D]), [P * B, D]);
  } else {
    if (data.steps === undefined || data.population === undefined) {
      throw new VsmlError('BAD_ARGUMENT', 'runEpisode: flat input arrays need data.steps and data.population');
    }
    T = data.steps;
    P = data.population;
    B = data.innerBatch ?? 1;
    const arr = data.inputs instanceof Float32Array ? data.inputs : Float32Array.from(data.inputs);
    if (arr.length !== T * P * B * D) {
      throw new VsmlError(
        'SHAPE_MISMATCH',
        `runEpisode: inputs have ${arr.length} entries, expected T·P·B·D = ${T}·${P}·${B}·${D} = ${T * P * B * D}`,
      );
    }
    const E = P * B;
    x = (t) => tf.tensor2d(arr.subarray(t * E * D, (t + 1) * E * D), [E, D], 'float32');
  }
  for (const [v, what] of [
    [T, 'steps T'],
    [P, 'population P'],
    [B, 'inner batch B'],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new VsmlError('BAD_ARGUMENT', `runEpisode: ${what} must be a positive integer, got ${v}`);
  }
  const E = P * B;
  let y: (t: number) => tf.Tensor;
  if (isTensor(data.labels)) {
    const s = data.labels.shape;
    const ok = s[0] === T && s[1] === P && (B === 1 ? s.length === 2 || (s.length === 3 && s[2] === 1) : s.length === 3 && s[2] === B);
    if (!ok) throw new VsmlError('SHAPE_MISMATCH', `runEpisode: labels have shape ${fmtShape(s)}, expected [${T},${P}${B > 1 ? `,${B}` : ''}]`);
    let lab = data.labels.dtype === 'int32' ? data.labels : tf.cast(data.labels, 'int32');
    if (lab !== data.labels) created.push(lab);
    const l2 = tf.reshape(lab, [T, E]);
    if (l2 !== lab) created.push(l2);
    lab = l2;
    y = (t) => tf.reshape(tf.slice(lab, [t, 0], [1, E]), [E]);
  } else {
    const src = data.labels;
    if (src.length !== T * E) {
      throw new VsmlError('SHAPE_MISMATCH', `runEpisode: labels have ${src.length} entries, expected T·P·B = ${T * E}`);
    }
    const lab = new Int32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= C) {
        throw new VsmlError('BAD_ARGUMENT', `runEpisode: label ${v} at flat index ${i} is not a class index in [0, ${C})`);
      }
      lab[i] = v;
    }
    y = (t) => tf.tensor1d(lab.subarray(t * E, (t + 1) * E), 'int32');
  }
  return {
    T,
    P,
    B,
    x,
    y,
    dispose: () => {
      for (const t of created) if (!t.isDisposed) t.dispose();
    },
  };
}

/** Identity whose gradient is zero. */
const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor),
})) as (x: tf.Tensor) => tf.Tensor;

/** The recurrent carry between steps. */
interface Carry {
  readonly state: VlState;
  readonly err: tf.Tensor;
  readonly lab: tf.Tensor;
}

/** One step (see module comment); returns the new carry and the step's outputs. */
function step(
  model: PreparedModel,
  carry: Carry,
  x: tf.Tensor,
  labels: tf.Tensor,
  B: number,
  stopErr: boolean,
): { carry: Carry; logits: tf.Tensor; loss: tf.Tensor; correct: tf.Tensor } {
  const { config } = model;
  const C = config.layers[config.layers.length - 1]!.out;
  const M = config.msgSize;
  let state = carry.state;
  if (B > 1 && config.innerBatchMerge > 0) {
    state = {
      ...state,
      layers: state.layers.map((l) => ({
        ...l,
        h: mergeInnerBatch(l.h, state.population, B, config.innerBatchMerge),
        c: mergeInnerBatch(l.c, state.population, B, config.innerBatchMerge),
      })),
    };
  }
  const fwd = tickPrepared(model, state, x, errorInjection(carry.err, carry.lab, M), 'forward');
  const logits = fwd.logits!;
  const onehot = tf.cast(tf.oneHot(labels, C), 'float32');
  const logp = tf.logSoftmax(logits);
  const loss = tf.neg(tf.sum(tf.mul(onehot, logp), -1));
  const correct = tf.cast(tf.equal(tf.cast(tf.argMax(logits, -1), 'int32'), labels), 'float32');
  let err = tf.sub(tf.softmax(logits), onehot);
  if (B > 1) err = tf.div(err, B);
  if (stopErr) err = stopGradient(err);
  const lab = config.feedLabel ? onehot : tf.zerosLike(onehot);
  if (config.backwardPass) {
    const rev = tickPrepared(model, fwd.state, x, errorInjection(err, lab, M), 'reverse');
    const zeros = tf.zerosLike(onehot);
    return { carry: { state: rev.state, err: zeros, lab: zeros }, logits, loss, correct };
  }
  return { carry: { state: fwd.state, err, lab }, logits, loss, correct };
}

function carryTensors(c: Carry): tf.Tensor[] {
  return [...stateTensors(c.state), c.err, c.lab];
}

/**
 * Runs P episodes (see module comment) and returns per-step logits, loss and correctness.
 *
 * `params` are shared (layout shapes) or per member (leading dimension P, e.g. an ES population); the inputs decide
 * T, P and B. Needs `opts.seed` (fresh initial state) or `opts.initialState`.
 * @throws VsmlError `SHAPE_MISMATCH` / `BAD_ARGUMENT` for data that does not fit the config
 */
export function runEpisode(params: ParamSet, config: ModelConfig, data: EpisodeData, opts: EpisodeOptions = {}): EpisodeResult {
  const d = resolveData(config, data);
  const { T, P, B } = d;
  const E = P * B;
  const C = config.layers[config.layers.length - 1]!.out;
  let model: PreparedModel | null = null;
  const userTensors = new Set<tf.Tensor>(opts.initialState ? stateTensors(opts.initialState) : []);
  if (opts.startError) userTensors.add(opts.startError);
  const outs: { logits: tf.Tensor[]; loss: tf.Tensor[]; correct: tf.Tensor[] } = { logits: [], loss: [], correct: [] };
  let carry: Carry | null = null;
  try {
    model = prepareModel(params, config, opts.kernel ?? 'auto');
    if (model.paramPopulation !== null && model.paramPopulation !== P) {
      throw new VsmlError('SHAPE_MISMATCH', `runEpisode: per-member params have P = ${model.paramPopulation}, the data has P = ${P}`);
    }
    let state: VlState;
    if (opts.initialState) {
      state = opts.initialState;
      if (state.population !== P || state.innerBatch !== B) {
        throw new VsmlError(
          'SHAPE_MISMATCH',
          `runEpisode: initialState is for P = ${state.population}, B = ${state.innerBatch}; the data has P = ${P}, B = ${B}`,
        );
      }
      checkStateShapes(config, state);
    } else {
      if (opts.seed === undefined) throw new VsmlError('BAD_ARGUMENT', 'runEpisode: pass opts.seed (fresh initial state) or opts.initialState');
      state = initState(config, {
        population: P,
        innerBatch: B,
        seed: opts.seed,
        ...(opts.memberKeys ? { memberKeys: opts.memberKeys } : {}),
      });
    }
    let err: tf.Tensor;
    let lab: tf.Tensor;
    if (opts.startError) {
      const s = opts.startError.shape;
      if (s.length !== 3 || s[0] !== E || s[1] !== C || s[2] !== 2) {
        throw new VsmlError('SHAPE_MISMATCH', `runEpisode: startError has shape ${fmtShape(s)}, expected [${E},${C},2]`);
      }
      const se = opts.startError;
      [err, lab] = tf.tidy(() => [tf.reshape(tf.slice(se, [0, 0, 0], [E, C, 1]), [E, C]), tf.reshape(tf.slice(se, [0, 0, 1], [E, C, 1]), [E, C])]);
    } else {
      err = tf.zeros([E, C]);
      lab = tf.zeros([E, C]);
    }
    let cur: Carry = { state, err, lab };
    carry = cur;
    const debug = debugEnabled();
    const m = model;
    for (let t = 0; t < T; t++) {
      const prev: Carry = cur;
      const r = tf.tidy(`vsml/step`, () => step(m, prev, d.x(t), d.y(t), B, opts.stopErrorGradient ?? false) as unknown as tf.TensorContainer) as unknown as ReturnType<typeof step>;
      const keep = new Set(carryTensors(r.carry));
      for (const tt of carryTensors(prev)) if (!keep.has(tt) && !userTensors.has(tt) && !tt.isDisposed) tt.dispose();
      cur = r.carry;
      carry = cur;
      outs.logits.push(r.logits);
      outs.loss.push(r.loss);
      outs.correct.push(r.correct);
      if (debug) checkFinite(r.logits, t);
    }
    const shapeOf = (extra: number[]): number[] => (B > 1 || (isTensor(data.inputs) && data.inputs.rank === 4) ? [T, P, B, ...extra] : [T, P, ...extra]);
    const result = tf.tidy(() => ({
      logits: tf.reshape(tf.stack(outs.logits), shapeOf([C])),
      loss: tf.reshape(tf.stack(outs.loss), shapeOf([])),
      correct: tf.reshape(tf.stack(outs.correct), shapeOf([])),
    }));
    if (!opts.returnState) return result;
    const final: Carry = cur;
    const finalError = tf.tidy(() => tf.stack([final.err, final.lab], -1));
    for (const tt of [final.err, final.lab]) if (!userTensors.has(tt)) tt.dispose();
    carry = null; // ownership passes to the caller
    return { ...result, state: final.state, finalError };
  } finally {
    for (const list of [outs.logits, outs.loss, outs.correct]) for (const tt of list) if (!tt.isDisposed) tt.dispose();
    if (carry) for (const tt of carryTensors(carry)) if (!userTensors.has(tt) && !tt.isDisposed) tt.dispose();
    if (model) disposePreparedModel(model);
    d.dispose();
  }
}

function checkStateShapes(config: ModelConfig, state: VlState): void {
  const E = state.population * state.innerBatch;
  const H = config.slowSize;
  const M = config.msgSize;
  if (state.layers.length !== config.layers.length) {
    throw new VsmlError('SHAPE_MISMATCH', `initialState has ${state.layers.length} layers, the model ${config.layers.length}`);
  }
  state.layers.forEach((l, k) => {
    const { in: I, out: O } = config.layers[k]!;
    const want: [string, tf.Tensor, number[]][] = [
      ['h', l.h, [E, I, O, H]],
      ['c', l.c, [E, I, O, H]],
      ['fwdIn', l.fwdIn, [E, I, M]],
      ['bwdIn', l.bwdIn, [E, O, M]],
    ];
    for (const [name, t, shape] of want) {
      if (t.rank !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
        throw new VsmlError('SHAPE_MISMATCH', `initialState.layers[${k}].${name} has shape ${fmtShape(t.shape)}, expected ${fmtShape(shape)}`);
      }
    }
  });
}

function checkFinite(logits: tf.Tensor, t: number): void {
  const bad = tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(logits))).dataSync()[0]);
  if (bad) throw new VsmlError('NOT_FINITE', `runEpisode: non-finite logits at step ${t} (VSML_DEBUG)`, { details: { step: t } });
}

/**
 * The meta-loss: mean cross-entropy over all steps and episodes (official `loss_type: mean`), as a scalar that can
 * be differentiated with respect to `params` (use inside `tf.grad` / `tf.valueAndGrads`, or `paramValueAndGrads`).
 */
export function episodeLoss(params: ParamSet, config: ModelConfig, data: EpisodeData, opts: EpisodeOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    const r = runEpisode(params, config, data, { ...opts, returnState: false });
    return tf.mean(r.loss) as tf.Scalar;
  });
}

/**
 * Value and gradients of a scalar function of V_M: `f(params)` is evaluated with gradient tracking and the
 * gradients come back under the same names (zeros for parameters the value does not depend on, e.g. the
 * backward messenger of a one-layer model without backward pass). Typical use:
 * `paramValueAndGrads(params, (p) => episodeLoss(p, config, data, {seed}))`.
 */
export function paramValueAndGrads(params: ParamSet, f: (p: ParamSet) => tf.Scalar): { value: tf.Scalar; grads: ParamSet } {
  const names = Object.keys(params);
  const xs = names.map((n) => params[n]!);
  const { value, grads } = tf.engine().gradients(() => f(params), xs, undefined, true);
  return {
    value: value as tf.Scalar,
    grads: Object.fromEntries(names.map((n, i) => [n, (grads[i] as tf.Tensor | undefined) ?? tf.zerosLike(xs[i]!)])),
  };
}
