/**
 * Calibration of a clone's implicit learning rate, on training data only.
 *
 * A clone fitted by regression under uncertainty shrinks its updates: the stored weights change by a fraction g (the
 * update gain) of the rule's Δw = −η·e·tanh(x), plus noise. Since the clone's updates and backward messages are linear
 * in the injected error, multiplying the error by s = 1/g restores the nominal learning rate η without touching the
 * rule (it also scales the noise). This measures g where it matters: inside a meta-test-like run on the train split
 * (inner batch with state averaging), as the regression slope of the merged change of the last layer's stored weights
 * on the rule's target computed from the clone's own stored weights, inputs and errors, after removing the mean over
 * output neurons b (a change shared by all classes only shifts every logit equally). The gain depends on the error
 * scale (small errors are shrunk more), so the scale is found in rounds: s₁ = 1/g(1), then secant steps on
 * rate(s) = s·g(s) = 1 (default 3 rounds).
 *
 * Engines: `wasm` (default for a shallow network) runs the steps on core's forward engine (`createCloneEngine`) and
 * reads the stored weights with `getState` before and after each step (the row mean, which merging leaves
 * unchanged); the last layer's forward input is x and the injected error comes from the step's logits. `tfjs`
 * (default with hidden layers, where the last layer's forward input of the forward tick is not kept by the engine: its
 * reverse tick overwrites it) runs `cloneStep` with `record` (the reference).
 */
import { tf, initState, type ModelConfig, prepareModel, disposePreparedModel, unflattenParams, disposeParams, disposeState, type VlState } from '@vsml/core';
import { openEpisodeSampler, type PreprocessSpecInput } from '@vsml/datasets';
import { Rng } from '@vsml/rng';
import { assertCloningDataset, cloneModelConfig, EmulationSchema, parseWith, type Emulation, type EmulationInput } from './config.js';
import { createCloneEngine, parseCloneEngine, type CloneEngine } from './engine.js';
import { CloneError } from './errors.js';
import { cloneStep, mergeState, readWeights, tidy } from './loop.js';

/** Options of {@link calibrateClone}. */
export interface CalibrateOptions {
  readonly vm: Float32Array;
  readonly model?: Record<string, unknown>;
  readonly emulation?: Emulation | EmulationInput;
  /** train-split dataset (default `mnist`; Fashion-MNIST is refused) */
  readonly dataset?: string;
  readonly preprocess?: PreprocessSpecInput;
  readonly hidden?: readonly number[];
  /** steps per round (default 60) and inner batch (default 16) */
  readonly steps?: number;
  readonly innerBatch?: number;
  readonly rounds?: number;
  readonly seed?: number;
  readonly chunkRows?: number;
  /**
   * `wasm` (default without `hidden`): core's forward engine, shallow networks only; `tfjs` (default with `hidden`):
   * `cloneStep` on the tfjs backend (the reference)
   */
  readonly engine?: CloneEngine;
}

/** One round of {@link calibrateClone}. */
export interface CalibrationRound {
  /** the error scale the round ran with */
  readonly errorScale: number;
  /** slope of the class-dependent merged update on the class-dependent target (target with the scaled error) */
  readonly gain: number;
  /** RMS(update − target) / RMS(target), class-dependent parts */
  readonly relError: number;
  /** effective learning rate relative to η: errorScale·gain */
  readonly rate: number;
}

/** What {@link calibrateClone} returns. */
export interface Calibration {
  /** the recommended error scale (1 / effective rate of the first round, corrected by the later rounds) */
  readonly errorScale: number;
  readonly rounds: readonly CalibrationRound[];
}

type MeasureOptions = Required<Pick<CalibrateOptions, 'steps' | 'innerBatch' | 'seed' | 'chunkRows'>> & CalibrateOptions;

/**
 * Adds one step's `[Σ a·b, Σ b², Σ (a − b)²]` to `sums` (a: the class-dependent part of the merged change `d [I, O]`
 * of the last layer's stored weights, b: that of the rule's target from the last layer's forward inputs
 * `xin [B, I]` and injected errors `ein [B, O]`). Returns the new sums; disposes nothing it did not create.
 */
function accumulate(sums: tf.Tensor, d: tf.Tensor, xin: tf.Tensor, ein: tf.Tensor, eta: number): tf.Tensor {
  return tf.tidy(() => {
    const target = tf.mean(tf.mul(tf.mul(tf.expandDims(tf.tanh(xin), 2), tf.expandDims(ein, 1)), -eta), 0);
    const cd = (m: tf.Tensor): tf.Tensor => tf.sub(m, tf.mean(m, 1, true));
    const a = cd(d);
    const b = cd(target);
    return tf.add(sums, tf.stack([tf.sum(tf.mul(a, b)), tf.sum(tf.mul(b, b)), tf.sum(tf.square(tf.sub(a, b)))]));
  });
}

function roundOf(sums: tf.Tensor, errorScale: number): CalibrationRound {
  const [ab, bb, ee] = Array.from(sums.dataSync());
  const gain = ab! / Math.max(bb!, 1e-30);
  return { errorScale, gain, relError: Math.sqrt(ee! / Math.max(bb!, 1e-30)), rate: gain * errorScale };
}

/** Measures the update gain of the last layer in one run with `errorScale` (see the module comment). */
function measure(opts: MeasureOptions, emulation: Emulation, errorScale: number, engine: CloneEngine): CalibrationRound {
  const dataset = opts.dataset ?? 'mnist';
  const B = opts.innerBatch;
  const sampler = openEpisodeSampler({ dataset, split: 'train', population: 1, length: opts.steps, batch: B, seed: opts.seed, preprocess: opts.preprocess ?? {} });
  const D = sampler.dim;
  const config = cloneModelConfig(opts.model ?? {}, [D, ...(opts.hidden ?? []), sampler.numClasses]);
  const stateSeed = Rng.fromSeed(opts.seed, 0x43414c).int(0, 2 ** 31);
  const ep = sampler.episode(0);
  return engine === 'wasm' ? measureEngine(opts, config, ep, emulation, errorScale, stateSeed) : measureTfjs(opts, config, ep, emulation, errorScale, stateSeed);
}

function measureEngine(opts: MeasureOptions, config: ModelConfig, ep: { x: Float32Array; y: Int32Array }, emulation: Emulation, errorScale: number, stateSeed: number): CalibrationRound {
  const B = opts.innerBatch;
  const L = config.layers.length;
  const { in: I, out: O } = config.layers[L - 1]!;
  const D = config.layers[0]!.in;
  const H = config.slowSize;
  const M = config.msgSize;
  if (L !== 1) throw new CloneError('BAD_ARGUMENT', `calibrateClone: engine 'wasm' measures shallow networks only (hidden ${JSON.stringify(opts.hidden)}); use engine 'tfjs'`);
  const engine = createCloneEngine(config, opts.vm, B, errorScale, stateSeed);
  // the stored weight of every sub-RNN of the last layer in full units, averaged over the rows: [I, O]
  const stored = (): Float32Array => {
    const s = engine.getState(L - 1)[emulation.component];
    const w = new Float32Array(I * O);
    for (let r = 0; r < B; r++) for (let k = 0; k < I * O; k++) w[k] = w[k]! + s[(r * I * O + k) * H + emulation.wDim]!;
    return w.map((v) => (v / B) * emulation.scale);
  };
  let sums = tf.zeros([3]);
  try {
    for (let t = 0; t < opts.steps; t++) {
      const w0 = stored();
      const xs = ep.x.subarray(t * B * D, (t + 1) * B * D);
      const ys = ep.y.subarray(t * B, (t + 1) * B);
      const r = engine.runEpisode(xs, ys);
      const w1 = stored();
      const s0 = sums;
      sums = tf.tidy(() => {
        const d = tf.sub(tf.tensor2d(w1, [I, O]), tf.tensor2d(w0, [I, O]));
        const logits = tf.tensor2d(r.logits, [B, O]);
        // the error the step injected (CHANGE 2 of loop.ts; the engine does not keep it after the reverse tick)
        const ein = tf.mul(tf.sub(tf.softmax(logits), tf.oneHot(tf.tensor1d(ys, 'int32'), O).toFloat()), errorScale);
        return accumulate(s0, d, tf.tensor2d(xs, [B, I]), ein, emulation.eta);
      });
      s0.dispose();
    }
    return roundOf(sums, errorScale);
  } finally {
    sums.dispose();
  }
}

function measureTfjs(opts: MeasureOptions, config: ModelConfig, ep: { x: Float32Array; y: Int32Array }, emulation: Emulation, errorScale: number, stateSeed: number): CalibrationRound {
  const B = opts.innerBatch;
  const D = config.layers[0]!.in;
  const L = config.layers.length;
  const params = unflattenParams(config, opts.vm);
  const model = prepareModel(params, config);
  let state: VlState = initState(config, { population: 1, innerBatch: B, seed: stateSeed });
  let sums = tf.zeros([3]);
  try {
    for (let t = 0; t < opts.steps; t++) {
      const prev = state;
      const s0 = sums;
      const r = tidy(() => {
        const x = tf.tensor2d(ep.x.subarray(t * B * D, (t + 1) * B * D), [B, D]);
        const y = tf.tensor1d(ep.y.subarray(t * B, (t + 1) * B), 'int32');
        const st = cloneStep(model, prev, x, y, { record: true, errorScale, chunkRows: opts.chunkRows });
        const w0 = readWeights(st.start!, emulation).w[L - 1]!;
        const w1 = readWeights(mergeState(st.state, config), emulation).w[L - 1]!;
        const d = tf.mean(tf.sub(w1, w0), 0);
        const xin = tf.reshape(tf.slice(st.fwdIn![L - 1]!, [0, 0, 0], [-1, -1, 1]), [B, -1]);
        const ein = tf.reshape(tf.slice(st.bwdIn![L - 1]!, [0, 0, 0], [-1, -1, 1]), [B, -1]);
        return { state: st.state, sums: accumulate(s0, d, xin, ein, emulation.eta) };
      });
      state = r.state;
      sums = r.sums;
      s0.dispose();
      disposeState(prev, state);
    }
    return roundOf(sums, errorScale);
  } finally {
    sums.dispose();
    disposeState(state);
    disposePreparedModel(model);
    disposeParams(params);
  }
}

/** The next error scale: s/rate after one round, then the secant step on rate(s) = 1 through the last two rounds. */
function next(rounds: readonly CalibrationRound[]): number {
  const a = rounds[rounds.length - 1]!;
  const fixedPoint = a.errorScale / a.rate;
  if (rounds.length < 2) return fixedPoint;
  const b = rounds[rounds.length - 2]!;
  if (Math.abs(a.rate - b.rate) < 1e-6) return fixedPoint;
  const s = a.errorScale + ((1 - a.rate) * (a.errorScale - b.errorScale)) / (a.rate - b.rate);
  return s > 0 && Number.isFinite(s) ? s : fixedPoint;
}

/**
 * Calibrates the error scale of a clone on the train split (see the module comment). Needs an initialised tfjs
 * backend (the measurement's small reductions run on it with either engine).
 * @throws CloneError FORBIDDEN_DATASET for Fashion-MNIST, BAD_ARGUMENT for an unknown engine
 */
export function calibrateClone(opts: CalibrateOptions): Calibration {
  const emulation = parseWith(EmulationSchema, opts.emulation ?? {}, 'emulation');
  assertCloningDataset(opts.dataset ?? 'mnist', 'calibrateClone');
  const o = { steps: 60, innerBatch: 16, seed: 7, chunkRows: 16, ...opts };
  const engine = opts.engine === undefined && (opts.hidden ?? []).length > 0 ? 'tfjs' : parseCloneEngine(opts.engine, 'calibrateClone');
  const rounds: CalibrationRound[] = [];
  let s = 1;
  for (let k = 0; k < (opts.rounds ?? 3); k++) {
    const r = measure(o, emulation, s, engine);
    rounds.push(r);
    if (!(r.rate > 0)) break;
    s = next(rounds);
  }
  return { errorScale: s, rounds };
}
