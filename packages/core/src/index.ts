/**
 * @vsml/core: the VSML RNN (Variable Shared Meta Learning, Kirsch & Schmidhuber) on TensorFlow.js.
 *
 * Many tiny LSTMs (sub-RNNs) share one small parameter set V_M; their states V_L act as the weights of a neural
 * network; running the RNN forward is learning. This package holds backend selection, the model config, V_M
 * (layout, init, flat vectors), V_L (initial state, merging), the ops (sub-RNN step, messengers, dense layer tick,
 * forward / reverse tick), the episode runner and meta-loss, checkpoints, the workshop form (Eq. 3 / Eq. 4) and
 * trace replay. See README.md and design/vsml-method.md.
 *
 * Importing this module registers the tfjs `cpu` backend and the gradients of all kernels, but selects no backend;
 * call {@link initBackend} first.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The TensorFlow.js namespace used by every VSML package (one tfjs instance; backends via {@link initBackend}). */
export { tf };
// The chained tensor methods (`t.mul(u)`, `t.sum()`): registered at run time by backend.ts; this (empty) re-export
// carries their type augmentation into the published declarations, as a side-effect import would not survive them.
export * from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';

// --- errors ---
/** The error class of this package, its code table and helpers. */
export { VsmlError, VsmlErrorCodes, isVsmlError } from './errors.js';
export type { VsmlErrorCode } from './errors.js';

// --- backend ---
/** Backend selection: native TensorFlow → wasm (SIMD) → cpu; `VSML_BACKEND` / option to force one. */
export {
  initBackend,
  currentBackend,
  parseBackendRequest,
  defaultBackendProbe,
  nativeBindingExists,
  NATIVE_PACKAGES,
} from './backend.js';
export type { BackendInfo, BackendName, BackendRequest, BackendAttempt, BackendProbe, InitBackendOptions } from './backend.js';

// --- model config ---
/** The strict model-config schema (official defaults) and helpers. */
export {
  ModelConfigSchema,
  LayerSpecSchema,
  parseModelConfig,
  defaultModelConfig,
  withLayerSizes,
  numClasses,
  inputSize,
  formatIssues,
} from './config.js';
export type { ModelConfig, ModelConfigInput, LayerSpec } from './config.js';

// --- V_M layout and parameters ---
/** The V_M layout contract: names, shapes, gate order, flat order, counts. */
export {
  paramLayout,
  rnnGroups,
  groupFor,
  groupParamNames,
  countVM,
  countVL,
  GATE_ORDER,
  GATE_OFFSETS,
  RNN_PARAM_NAMES,
  LAYER_NORM_EPS,
} from './layout.js';
export type { ParamSpec, RnnGroup, RnnParamName, Gate, Direction } from './layout.js';
/** V_M tensors: init, flatten / unflatten, validation, stacking per member, conversion to plain arrays. */
export {
  initParams,
  initParamVector,
  flattenParams,
  unflattenParams,
  checkParams,
  stackParams,
  paramValues,
  paramsFromValues,
  disposeParams,
  rnnParams,
  orderedParamNames,
} from './params.js';
export type { ParamSet, ParamSet as MetaParams, ParamValues, NamedArray, RnnParams } from './params.js';

// --- V_L state ---
/** V_L: initial state as the official code, inner-batch merging, clipping, disposal. */
export {
  initState,
  stateFromArrays,
  mergeInnerBatch,
  clipState,
  disposeState,
  stateTensors,
  randomCellDims,
} from './state.js';
export type { VlState, VlState as InnerState, LayerState, LayerStateArrays, InitStateOptions } from './state.js';

// --- ops ---
/** Sub-RNN ops on batches of independent sub-RNNs: LSTM step (gate order i,g,f,o; ±5 offsets), messengers. */
export { lstmCellStep, messengers, subRnnStep } from './ops/subrnn.js';
export type { LstmState } from './ops/subrnn.js';
/** Dense layer ops: one literal micro tick; a full layer tick (fused or reference kernel). */
export { denseMicroTick, denseLayerTick } from './ops/dense.js';
export type { DenseTickResult } from './ops/dense.js';
/** Ticks over the layer stack and the per-step pieces (input / error injection, logit read-out). */
export {
  forwardTick,
  reverseTick,
  injectInput,
  errorInjection,
  boundLogits,
  readLogits,
  prepareModel,
  disposePreparedModel,
  tickPrepared,
} from './ops/tick.js';
export type { TickInputs, TickResult, PreparedModel } from './ops/tick.js';
/** Affine helpers for shared or per-member weights, and layer norm. */
export { matmulRows, addBias, affine, layerNorm } from './ops/linear.js';
/** Dense tick kernels (reference = literal; fused = fast algebra) and the fast LSTM pieces. */
export { KERNELS, selectKernel, fusedKernel, referenceKernel, prepareGates, lstmFromGates, lstmFromPreactivation } from './kernels/dense-tick.js';
export type { KernelName, DenseKernel, LayerTickInput, LayerTickOutput, MessageNeeds, PreparedRnn } from './kernels/dense-tick.js';
export type { GateWeights } from './kernels/lstm-step.fast.js';

// --- episodes ---
/** The episode runner, the meta-loss and gradients with respect to V_M. */
export { runEpisode, episodeLoss, paramValueAndGrads } from './episode.js';
export type { EpisodeData, EpisodeOptions, EpisodeResult, LabelArray } from './episode.js';

// --- forward engine ---
/** A fast forward-only engine (WebAssembly SIMD, typed arrays): meta-test and population evaluation without tfjs. */
export { createForwardEngine, ForwardEngine, ENGINE_UNSUPPORTED, relaxedSimdAvailable } from './engine/index.js';
export type { ForwardEngineOptions, ForwardEngineOnlyOptions, EngineEpisodeResult, SimdMode, SimdVariant } from './engine/index.js';
/** Worker threads (piscina) for independent tasks (seeds × datasets, episodes); results in task order. */
export { WorkerPool, runInWorkers } from './pool.js';
export type { WorkerPoolOptions, WorkerErrorReport } from './pool.js';

// --- meta-test results ---
/** The result format of every meta-test (read by the CLI's report). */
export { MetaTestResultSchema } from './results.js';
export type { MetaTestResult } from './results.js';

// --- checkpoints ---
/** Self-describing JSON checkpoints, written atomically. */
export {
  saveCheckpoint,
  loadCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  float32ToBase64,
  base64ToFloat32,
  writeTypedJsonAtomic,
  reviveTyped,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
} from './checkpoint.js';
export type { Checkpoint, CheckpointInput, CheckpointKind, Provenance, SaveCheckpointOptions } from './checkpoint.js';

// --- workshop form ---
/** The workshop VS Meta RNN (Eq. 3) and its dense sparse-shared equivalent W̃ (Eq. 4, Theorem 1). */
export { vsMetaRnnStep, sparseSharedMatrix, denseRnnStep } from './workshop.js';
export type { WorkshopActivation } from './workshop.js';

// --- trace replay ---
/** Replays a JSON trace (format in README.md) and returns the logits. */
export { replayTrace, traceModelConfig, TraceSchema } from './trace.js';
export type { Trace } from './trace.js';

// --- debug ---
/** Whether `VSML_DEBUG` is on (per-step NaN checks). */
export { debugEnabled } from './debug.js';
