/**
 * @vsml/clone: learning-algorithm cloning (Kirsch & Schmidhuber, workshop §3.2, App. B–D). Teaches the VSML RNN of
 * `@vsml/core` to run backpropagation purely in its forward dynamics (each sub-RNN stores a weight and a bias in its
 * state, computes `tanh(x)·w + b`, passes `e·w·(1 − tanh²x)` back and updates w, b by `−η·e·tanh x`, `−η·e`), with
 * the curriculum as data; meta-tests the clone as a learner on MNIST / Fashion-MNIST next to SGD; improves it with
 * sep-CMA-ES. Library functions with callbacks; the CLI lives in `apps/bench`. See README.md.
 *
 * Needs an initialised tfjs backend (`initBackend` of `@vsml/core`) before any training or meta-test call.
 */

// --- errors ---
/** The error class of this package, its code table and a guard that also accepts plain data from workers. */
export { CloneError, CloneErrorCodes, isCloneError } from './errors.js';
export type { CloneErrorCode } from './errors.js';

// --- configs and presets ---
/** Strict zod schemas of every config piece, parsing helpers and the clone's model defaults. */
export {
  ClonePresetSchema,
  EmulationSchema,
  LossWeightsSchema,
  OptimizerSchema,
  RandomDataSchema,
  SubRnnStageSchema,
  NetworkStageSchema,
  NetworkDataSchema,
  StageSchema,
  MetaTestSchema,
  ImproveSchema,
  CLONE_MODEL_DEFAULTS,
  HELD_OUT_DATASETS,
  parseClonePreset,
  parseWith,
  cloneModelConfig,
  assertCloningDataset,
} from './config.js';
export type {
  ClonePreset,
  ClonePresetInput,
  Emulation,
  EmulationInput,
  LossWeights,
  OptimizerSpec,
  RandomData,
  SubRnnStage,
  NetworkStage,
  Stage,
  StageInput,
  MetaTestSpec,
  MetaTestInput,
  ImproveSpec,
  ImproveInput,
} from './config.js';
/** The `paper` and `quick` presets as plain objects. */
export { PAPER_PRESET, QUICK_PRESET, CLONE_PRESETS, PAPER_ETA } from './presets.js';
export type { ClonePresetName } from './presets.js';

// --- ground truth ---
/** The emulated network (tfjs), its per-layer constants, backprop targets by tf.grad, SGD on it. */
export { layerConstants, subRnnTargets, emulatedLayer, emulatedForward, emulatedPredict, networkTargets, sgdStep } from './emulated.js';
export type { Aggregation, LayerConstants, SubRnnTargets, NetworkWeights, NetworkTargets } from './emulated.js';

// --- the clone's step ---
/** One online step of the clone on core's ops (no stale backward messages), prediction without learning, storage. */
export { cloneStep, predictLogits, layerTick, mergeState, mergeRows, readWeights, writeWeights, storedSlot, withSlots, stopGradient, tidy, yieldToEventLoop } from './loop.js';
export type { StepOptions, StepResult } from './loop.js';

// --- cloning ---
/** Sub-RNN stage (random data, Eq. 13/14 per sub-RNN) pieces. */
export { emptyPool, initPoolRow, drawWindow, subRnnWindowLoss, subRnnIteration, smoothL1 } from './subrnn.js';
export type { SubRnnPool, SubRnnMetrics, CloneErrorMetrics } from './subrnn.js';
/** Checking a clone without training: its cloning errors on fresh random data, and what its Δw error is made of. */
export { evaluateSubRnnClone } from './evaluate.js';
export type { EvaluateOptions, CloneEvaluation, UpdateBin } from './evaluate.js';
/** Network stage (whole VSML networks learning online, ground-truth targets) pieces. */
export { openNetworkStream, networkWindowLoss, networkIteration, initLearners, disposeLearners } from './network.js';
export type { NetworkStream, NetworkMetrics, NetworkLayerMetrics, Learners } from './network.js';
/** The curriculum runner (resumable; metrics, progress and checkpoints through callbacks). */
export { runCurriculum, presetModelConfig, initialVm, trainableMask, CURRICULUM_CHECKPOINT_FORMAT } from './curriculum.js';
export type { CurriculumOptions, CurriculumCallbacks, CurriculumResult, CloneMetricRecord, CloneProgress } from './curriculum.js';
/** Adam on a flat vector with plain-data state. */
export { FlatAdam, scheduledLr } from './adam.js';
export type { AdamState } from './adam.js';
/** V_M as a flat vector and `vm` checkpoints. */
export { vmFromCheckpoint, vmCheckpoint } from './vm.js';

// --- meta-test ---
/** Meta-test of a clone next to SGD on the emulated network, results in the bench report schema. */
export { metaTestClone, summariseRuns, runMetaTestTask } from './metatest.js';
export type { MetaTestOptions, MetaTestResult, MetaTestRun, MetaTestProgress, MetaTestTask, MetaTestPair, Stat } from './metatest.js';
/** The clone's step on core's forward engine (one learner, or P learners with their own V_M). */
export { createCloneEngine, createClonePopulationEngine, cloneMemberBytes, parseCloneEngine } from './engine.js';
export type { CloneEngine } from './engine.js';

// --- calibration ---
/** The clone's implicit learning rate measured on the train split, and the error scale that restores η. */
export { calibrateClone } from './calibrate.js';
export type { CalibrateOptions, Calibration, CalibrationRound } from './calibrate.js';

// --- improving the clone ---
/** sep-CMA-ES on the cloned V_M (fitness: loss after a long unrolled episode on MNIST). */
export { improveClone, fitnessOf, EngineFitness, searchIndices, IMPROVE_CHECKPOINT_FORMAT } from './improve.js';
export type { ImproveOptions, ImproveResult, ImproveRecord, FitnessEpisode, FitnessSpec } from './improve.js';
