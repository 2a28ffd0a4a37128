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
 */
import { tf, initState, prepareModel, disposePreparedModel, unflattenParams, disposeParams, disposeState, type VlState } from '@vsml/core';
import { openEpisodeSampler, type PreprocessSpecInput } from '@vsml/datasets';
import { Rng } from '@vsml/rng';
import { assertCloningDataset, cloneModelConfig, EmulationSchema, parseWith, type Emulation, type EmulationInput } from './config.js';
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

/** Measures the update gain of the last layer in one run with `errorScale` (see the module comment). */
function measure(opts: Required<Pick<CalibrateOptions, 'steps' | 'innerBatch' | 'seed' | 'chunkRows'>> & CalibrateOptions, emulation: Emulation, errorScale: number): CalibrationRound {
  const dataset = opts.dataset ?? 'mnist';
  const B = opts.innerBatch;
  const sampler = openEpisodeSampler({ dataset, split: 'train', population: 1, length: opts.steps, batch: B, seed: opts.seed, preprocess: opts.preprocess ?? {} });
  const D = sampler.dim;
  const config = cloneModelConfig(opts.model ?? {}, [D, ...(opts.hidden ?? []), sampler.numClasses]);
  const L = config.layers.length;
  const params = unflattenParams(config, opts.vm);
  const model = prepareModel(params, config);
  let state: VlState = initState(config, { population: 1, innerBatch: B, seed: Rng.fromSeed(opts.seed, 0x43414c).int(0, 2 ** 31) });
  const ep = sampler.episode(0);
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
        const target = tf.mean(tf.mul(tf.mul(tf.expandDims(tf.tanh(xin), 2), tf.expandDims(ein, 1)), -emulation.eta), 0);
        const cd = (m: tf.Tensor): tf.Tensor => tf.sub(m, tf.mean(m, 1, true));
        const a = cd(d);
        const b = cd(target);
        const v = tf.stack([tf.sum(tf.mul(a, b)), tf.sum(tf.mul(b, b)), tf.sum(tf.square(tf.sub(a, b)))]);
        return { state: st.state, sums: tf.add(s0, v) };
      });
      state = r.state;
      sums = r.sums;
      s0.dispose();
      disposeState(prev, state);
    }
    const [ab, bb, ee] = Array.from(sums.dataSync());
    const gain = ab! / Math.max(bb!, 1e-30);
    return { errorScale, gain, relError: Math.sqrt(ee! / Math.max(bb!, 1e-30)), rate: gain * errorScale };
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
 * Calibrates the error scale of a clone on the train split (see the module comment). Needs an initialised backend.
 * @throws CloneError FORBIDDEN_DATASET for Fashion-MNIST
 */
export function calibrateClone(opts: CalibrateOptions): Calibration {
  const emulation = parseWith(EmulationSchema, opts.emulation ?? {}, 'emulation');
  assertCloningDataset(opts.dataset ?? 'mnist', 'calibrateClone');
  const o = { steps: 60, innerBatch: 16, seed: 7, chunkRows: 16, ...opts };
  const rounds: CalibrationRound[] = [];
  let s = 1;
  for (let k = 0; k < (opts.rounds ?? 3); k++) {
    const r = measure(o, emulation, s);
    rounds.push(r);
    if (!(r.rate > 0)) break;
    s = next(rounds);
  }
  return { errorScale: s, rounds };
}
