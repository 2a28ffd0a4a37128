/**
 * VSML as a {@link MetaModel} and as a {@link Learner}, on top of `@vsml/core` (the tick and the episode runner live
 * there; nothing here re-implements them).
 *
 * V_M does not depend on the input or output size: the layer sizes of the model config are replaced per batch by
 * `[D, hidden..., C]` (`withLayerSizes`), so one V_M meta-trained on 7×7 inputs with 2–5 classes runs on 28×28
 * inputs with 10 classes.
 */
import {
  countVL,
  countVM,
  disposeParams,
  flattenParams,
  initParamVector,
  initState,
  loadCheckpoint,
  parseModelConfig,
  runEpisode,
  stateTensors,
  tf,
  unflattenParams,
  withLayerSizes,
  type KernelName,
  type ModelConfig,
  type ModelConfigInput,
  type ParamSet,
  type ParamValues,
  type VlState,
} from '@vsml/core';
import { MetatrainError } from './errors.js';
import { checkBatch, type EpisodeBatch, type Learner, type LearnerRun, type RunEpisodesOptions } from './metatest.js';
import type { Carry, MetaModel, MetaParams, SegmentOut } from './model.js';

/** Options of {@link vsmlModel}. */
export interface VsmlModelOptions {
  /** the model config (layer sizes are replaced per batch: `[D, hidden..., C]`) */
  readonly config: ModelConfig | ModelConfigInput;
  /** dense tick kernel of core (default `auto` = fused) */
  readonly kernel?: KernelName | 'auto';
  /** treat the fed-back error as a constant for meta-gradients (default false: differentiate through it, as the official code) */
  readonly stopErrorGradient?: boolean;
}

/** The model config on a batch's sizes. */
export function sizedConfig(config: ModelConfig, dim: number, numClasses: number): ModelConfig {
  const hidden = config.layers.slice(0, -1).map((l) => l.out);
  return withLayerSizes(config, [dim, ...hidden, numClasses]);
}

/** Number of carry tensors per layer (h, c, fwdIn, bwdIn) */
const PER_LAYER = 4;

function carryToState(carry: Carry, P: number, L: number): { state: VlState; err: tf.Tensor } {
  if (carry.length !== L * PER_LAYER + 1) {
    throw new MetatrainError('SHAPE_MISMATCH', `vsml carry has ${carry.length} tensors, expected ${L * PER_LAYER + 1}`);
  }
  const layers = [];
  for (let l = 0; l < L; l++) {
    const [h, c, fwdIn, bwdIn] = carry.slice(l * PER_LAYER, (l + 1) * PER_LAYER) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    layers.push({ h, c, fwdIn, bwdIn });
  }
  return { state: { population: P, innerBatch: 1, layers }, err: carry[carry.length - 1]! };
}

function stateToCarry(state: VlState, err: tf.Tensor): Carry {
  return [...stateTensors(state), err];
}

/** VSML as a meta-trainable model (see module comment). */
export function vsmlModel(opts: VsmlModelOptions): MetaModel & { readonly config: ModelConfig } {
  const config = parseModelConfig(opts.config);
  const kernel = opts.kernel ?? 'auto';
  const stopErr = opts.stopErrorGradient ?? false;
  const L = config.layers.length;
  const size = countVM(config);
  return {
    kind: 'vsml',
    config,
    size,
    inputDim: null,
    perMemberTheta: true,
    describe: () => ({ kind: 'vsml', config, stopErrorGradient: stopErr }),
    labelWidth: (k) => k,
    initVector: (seed) => initParamVector(config, seed),
    initCarry(batch, seeds) {
      const cfg = sizedConfig(config, batch.dim, batch.numClasses);
      const state = initState(cfg, { population: batch.population, seed: 0, memberKeys: seeds });
      return stateToCarry(state, tf.zeros([batch.population, batch.numClasses, 2]));
    },
    segment(theta, batch, carry, t0, t1): SegmentOut {
      const { population: P, dim: D } = batch;
      const cfg = sizedConfig(config, D, batch.numClasses);
      const { state, err } = carryToState(carry, P, L);
      return tf.tidy(() => {
        const params = unflattenParams(cfg, theta);
        const r = runEpisode(
          params,
          cfg,
          { inputs: batch.x.subarray(t0 * P * D, t1 * P * D), labels: batch.y.subarray(t0 * P, t1 * P), steps: t1 - t0, population: P },
          { initialState: state, startError: err, returnState: true, kernel, stopErrorGradient: stopErr },
        );
        const memberLoss = tf.sum(r.loss, 0);
        return {
          lossSum: tf.sum(memberLoss) as tf.Scalar,
          memberLoss,
          correctSum: tf.sum(r.correct) as tf.Scalar,
          carry: stateToCarry(r.state!, r.finalError!),
        } as unknown as tf.TensorContainer;
      }) as unknown as SegmentOut;
    },
    learner: (theta, o = {}) => vsmlLearner({ config, vm: theta, kernel, ...o }),
  };
}

/** Options of {@link vsmlLearner}. */
export interface VsmlLearnerOptions {
  readonly config: ModelConfig | ModelConfigInput;
  /** V_M: flat vector (layout order of `config`), named values (a checkpoint's `params`) or tensors */
  readonly vm: Float32Array | ParamValues | ParamSet;
  readonly name?: string;
  readonly label?: string;
  readonly kernel?: KernelName | 'auto';
  /** steps per `runEpisode` call (bounds the tensors alive at once; default 250) */
  readonly chunkSteps?: number;
}

function toFlat(config: ModelConfig, vm: Float32Array | ParamValues | ParamSet): Float32Array {
  if (vm instanceof Float32Array) {
    if (vm.length !== countVM(config)) {
      throw new MetatrainError('SHAPE_MISMATCH', `vsmlLearner: V_M has ${vm.length} entries, the config needs ${countVM(config)}`);
    }
    return vm;
  }
  const first = Object.values(vm)[0];
  if (first instanceof tf.Tensor) return flattenParams(vm as ParamSet, config);
  const values = vm as ParamValues;
  const tensors: ParamSet = {};
  for (const [k, v] of Object.entries(values)) tensors[k] = tf.tensor(v.data, [...v.shape]);
  try {
    return flattenParams(tensors, config);
  } finally {
    disposeParams(tensors);
  }
}

/**
 * A VSML V_M as a learner: learning = running the RNN forward (core's `runEpisode`), one fresh initial V_L per
 * member from its seed. It cannot predict without learning, so it has no held-out accuracy.
 */
export function vsmlLearner(opts: VsmlLearnerOptions): Learner {
  const config = parseModelConfig(opts.config);
  const flat = toFlat(config, opts.vm);
  const kernel = opts.kernel ?? 'auto';
  const chunk = opts.chunkSteps ?? 250;
  return {
    name: opts.name ?? 'vsml',
    label: opts.label ?? 'VSML',
    canPredictWithoutLearning: false,
    counts: (D, C) => {
      const cfg = sizedConfig(config, D, C);
      return { vm: countVM(cfg), vl: countVL(cfg) };
    },
    async runEpisodes(batch: EpisodeBatch, o: RunEpisodesOptions): Promise<LearnerRun> {
      checkBatch(batch, 'vsmlLearner.runEpisodes');
      const { steps: T, population: P, dim: D, numClasses: C } = batch;
      if (o.seeds.length !== P) throw new MetatrainError('BAD_ARGUMENT', `vsmlLearner: ${o.seeds.length} seeds for ${P} members`);
      const cfg = sizedConfig(config, D, C);
      const correct = new Float32Array(T * P);
      const loss = new Float32Array(T * P);
      const predictions = new Int32Array(T * P);
      const params = unflattenParams(cfg, flat);
      let state: VlState | null = initState(cfg, { population: P, seed: 0, memberKeys: o.seeds });
      let err: tf.Tensor | null = null;
      try {
        for (let t0 = 0; t0 < T; t0 += chunk) {
          const t1 = Math.min(T, t0 + chunk);
          const r = runEpisode(
            params,
            cfg,
            { inputs: batch.x.subarray(t0 * P * D, t1 * P * D), labels: batch.y.subarray(t0 * P, t1 * P), steps: t1 - t0, population: P },
            { initialState: state, ...(err ? { startError: err } : {}), returnState: true, kernel },
          );
          correct.set(await r.correct.data(), t0 * P);
          loss.set(await r.loss.data(), t0 * P);
          const pred = tf.argMax(r.logits, -1);
          predictions.set(await pred.data(), t0 * P);
          pred.dispose();
          r.logits.dispose();
          r.correct.dispose();
          r.loss.dispose();
          for (const x of stateTensors(state)) if (!stateTensors(r.state!).includes(x)) x.dispose();
          err?.dispose();
          state = r.state!;
          err = r.finalError!;
        }
      } finally {
        if (state) for (const x of stateTensors(state)) x.dispose();
        err?.dispose();
        disposeParams(params);
      }
      return { correct, loss, predictions };
    },
  };
}

/** A VSML learner from a checkpoint file (kind `vm` or `train`). */
export async function vsmlLearnerFromCheckpoint(file: string, opts: { name?: string; label?: string; kernel?: KernelName | 'auto' } = {}): Promise<Learner> {
  const ck = await loadCheckpoint(file);
  return vsmlLearner({ config: ck.model, vm: ck.params, ...opts });
}

/** θ of a VSML model as named values (e.g. for `saveCheckpoint`). */
export function vsmlParamValues(config: ModelConfig, theta: MetaParams): ParamValues {
  const params = unflattenParams(config, theta);
  try {
    const out: ParamValues = {};
    for (const [k, t] of Object.entries(params)) out[k] = { shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
    return out;
  } finally {
    disposeParams(params);
  }
}
