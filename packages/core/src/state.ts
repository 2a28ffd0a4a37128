/**
 * V_L: the learned variables of an episode, i.e. the LSTM states of every sub-RNN, plus the incoming messages of
 * each layer. Rows are episodes: E = P·B (population P, inner batch B; row e = p·B + b).
 *
 * Initial state as the official code (`CustomLSTM.initial_vsml_state`): h = 0; the first
 * floor(H·initRandProportion) dims of c truncated normal (±2σ) with σ = 1/sqrt(I) (I = fan-in), the rest 0;
 * messages 0. Member p's layer k draws from `Rng.fromSeed(seed, 0x564c, memberKey(p), k)`, entries in row-major
 * order [a][b][dim], so a member's state does not depend on the population size; the B rows of a member start equal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@vsml/rng';
import type { ModelConfig } from './config.js';
import { VsmlError, fmtShape } from './errors.js';

/** State of one dense layer. */
export interface LayerState {
  /** LSTM hidden state h, [E, I, O, H] */
  readonly h: tf.Tensor;
  /** LSTM cell state c, [E, I, O, H] */
  readonly c: tf.Tensor;
  /** incoming forward messages (one per input neuron), [E, I, M] */
  readonly fwdIn: tf.Tensor;
  /** incoming backward messages (one per output neuron), [E, O, M] */
  readonly bwdIn: tf.Tensor;
}

/** V_L of P episodes (each with an inner batch of B rows). Alias: InnerState. */
export interface VlState {
  readonly population: number;
  readonly innerBatch: number;
  readonly layers: readonly LayerState[];
}

/** Options of {@link initState}. */
export interface InitStateOptions {
  /** number of independent episodes P */
  population: number;
  /** seed of the random part of c */
  seed: number;
  /** inner batch B (default 1): the B rows of a member start from the same state */
  innerBatch?: number;
  /**
   * key of member p's random stream (default p). Equal keys give equal initial states, e.g. `[0,0,1,1,...]` for
   * antithetic ES pairs that must share their initial state.
   */
  memberKeys?: readonly number[];
}

/** Number of randomly initialised cell dims: floor(H · initRandProportion). */
export function randomCellDims(config: ModelConfig): number {
  return Math.floor(config.slowSize * config.initRandProportion);
}

/** Fresh initial state (see the module comment). */
export function initState(config: ModelConfig, opts: InitStateOptions): VlState {
  const P = opts.population;
  const B = opts.innerBatch ?? 1;
  if (!Number.isInteger(P) || P < 1) throw new VsmlError('BAD_ARGUMENT', `initState: population must be a positive integer, got ${P}`);
  if (!Number.isInteger(B) || B < 1) throw new VsmlError('BAD_ARGUMENT', `initState: innerBatch must be a positive integer, got ${B}`);
  if (opts.memberKeys && opts.memberKeys.length !== P) {
    throw new VsmlError('BAD_ARGUMENT', `initState: memberKeys has ${opts.memberKeys.length} entries, population is ${P}`);
  }
  const H = config.slowSize;
  const M = config.msgSize;
  const nRand = randomCellDims(config);
  const E = P * B;
  const layers = config.layers.map((spec, k) => {
    const { in: I, out: O } = spec;
    const per = I * O * H;
    const c = new Float32Array(E * per);
    const std = 1 / Math.sqrt(I);
    if (nRand > 0) {
      for (let p = 0; p < P; p++) {
        const rng = Rng.fromSeed(opts.seed, 0x564c, opts.memberKeys?.[p] ?? p, k);
        const base = p * B * per;
        for (let ab = 0; ab < I * O; ab++) {
          for (let j = 0; j < nRand; j++) c[base + ab * H + j] = std * rng.truncatedNormal(2);
        }
        for (let b = 1; b < B; b++) c.copyWithin(base + b * per, base, base + per);
      }
    }
    return {
      h: tf.zeros([E, I, O, H]),
      c: tf.tensor(c, [E, I, O, H], 'float32'),
      fwdIn: tf.zeros([E, I, M]),
      bwdIn: tf.zeros([E, O, M]),
    };
  });
  return { population: P, innerBatch: B, layers };
}

/** A per-layer state given as arrays: `c` (and optionally `h`) shaped [E, I, O, H] (typed, flat, or nested). */
export interface LayerStateArrays {
  readonly c: tf.TensorLike | tf.Tensor;
  readonly h?: tf.TensorLike | tf.Tensor;
  readonly fwdIn?: tf.TensorLike | tf.Tensor;
  readonly bwdIn?: tf.TensorLike | tf.Tensor;
}

/**
 * Builds a state from given arrays (e.g. a trace file's `initialState`); h and the messages default to 0.
 * @throws VsmlError `SHAPE_MISMATCH` naming the layer and field
 */
export function stateFromArrays(
  config: ModelConfig,
  layers: readonly LayerStateArrays[],
  opts: { population: number; innerBatch?: number },
): VlState {
  const P = opts.population;
  const B = opts.innerBatch ?? 1;
  const E = P * B;
  const H = config.slowSize;
  const M = config.msgSize;
  if (layers.length !== config.layers.length) {
    throw new VsmlError('SHAPE_MISMATCH', `initial state has ${layers.length} layers, the model has ${config.layers.length}`);
  }
  const make = (v: tf.TensorLike | tf.Tensor | undefined, shape: number[], what: string): tf.Tensor => {
    if (v === undefined) return tf.zeros(shape);
    const size = shape.reduce((a, b) => a * b, 1);
    const bad = (got: string): VsmlError => new VsmlError('SHAPE_MISMATCH', `${what} has shape ${got}, expected ${fmtShape(shape)}`);
    if (v instanceof tf.Tensor) {
      if (v.rank !== shape.length || v.shape.some((d, i) => d !== shape[i])) throw bad(fmtShape(v.shape));
      return v.clone();
    }
    if (ArrayBuffer.isView(v)) {
      const n = (v as Float32Array).length;
      if (n !== size) throw bad(`(flat, ${n} entries)`);
      return tf.tensor(v as Float32Array, shape, 'float32');
    }
    let t: tf.Tensor;
    try {
      t = tf.tensor(v, undefined, 'float32');
    } catch (e) {
      throw new VsmlError('SHAPE_MISMATCH', `${what}: not a ${fmtShape(shape)} array (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
    if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      const got = fmtShape(t.shape);
      t.dispose();
      throw bad(got);
    }
    return t;
  };
  const out: LayerState[] = [];
  try {
    layers.forEach((l, k) => {
      const { in: I, out: O } = config.layers[k]!;
      out.push({
        c: make(l.c, [E, I, O, H], `initialState.layers[${k}].c`),
        h: make(l.h, [E, I, O, H], `initialState.layers[${k}].h`),
        fwdIn: make(l.fwdIn, [E, I, M], `initialState.layers[${k}].fwdIn`),
        bwdIn: make(l.bwdIn, [E, O, M], `initialState.layers[${k}].bwdIn`),
      });
    });
  } catch (e) {
    disposeState({ population: P, innerBatch: B, layers: out });
    throw e;
  }
  return { population: P, innerBatch: B, layers: out };
}

/**
 * Inner-batch state merging (official `_merge_layer_states`): for h and c `[P·B, I, O, H]`, the first
 * `floor(H·fraction)` dims are replaced by their mean over the B rows of each member; the rest stays per row.
 * Returns `x` itself when B = 1 or nothing is merged.
 */
export function mergeInnerBatch(x: tf.Tensor, population: number, innerBatch: number, fraction: number): tf.Tensor {
  const H = x.shape[x.rank - 1]!;
  const k = Math.floor(H * fraction);
  if (innerBatch <= 1 || k === 0) return x;
  return tf.tidy(() => {
    const rest = x.shape.slice(1);
    const x5 = tf.reshape(x, [population, innerBatch, ...rest]);
    const m = tf.mean(x5, 1, true);
    if (k === H) return tf.reshape(tf.broadcastTo(m, x5.shape), x.shape);
    const mask = tf.tensor1d(Array.from({ length: H }, (_, j) => (j < k ? 1 : 0)));
    return tf.reshape(tf.add(x5, tf.mul(tf.sub(m, x5), mask)), x.shape);
  });
}

/** Clips h and c of every layer to [lo, hi] (returns new tensors; messages are shared with the input). */
export function clipState(state: VlState, range: readonly [number, number]): VlState {
  return {
    ...state,
    layers: state.layers.map((l) => ({ ...l, h: tf.clipByValue(l.h, range[0], range[1]), c: tf.clipByValue(l.c, range[0], range[1]) })),
  };
}

/** All tensors of a state. */
export function stateTensors(state: VlState): tf.Tensor[] {
  return state.layers.flatMap((l) => [l.h, l.c, l.fwdIn, l.bwdIn]);
}

/** Disposes the tensors of `state`, except those also held by `keep` (if given). */
export function disposeState(state: VlState, keep?: VlState): void {
  const kept = new Set(keep ? stateTensors(keep) : []);
  for (const t of stateTensors(state)) if (!kept.has(t) && !t.isDisposed) t.dispose();
}
