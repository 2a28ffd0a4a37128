/**
 * @vsml/metatrain: meta-training VSML from scratch (meta-gradients through the unrolled RNN, evolution strategies),
 * the meta-test protocol every result is reported with, and the baselines (online SGD/Adam, the Meta RNN).
 *
 * Folders follow learned_optimization: `tasks/` (what is meta-trained on), `estimators/` (how meta-gradients are
 * estimated), `outer.ts` (how they are applied, logged and checkpointed), `baselines/`, `metatest.ts`.
 * Library functions only: callbacks for progress, metrics and checkpoints; no argv parsing.
 */

// --- errors ---
/** The error class of this package, its code table and helpers. */
export { MetatrainError, METATRAIN_ERROR_CODES, isMetatrainError } from './errors.js';
export type { MetatrainErrorCode } from './errors.js';

// --- meta-test protocol ---
/** The Learner interface, the meta-test runner and its result JSON. */
export {
  metaTest,
  metaTestStreams,
  summariseRun,
  heldOutSteps,
  sliceMembers,
  MetaTestResultSchema,
  MetaTestConfigSchema,
} from './metatest.js';
export type {
  Learner,
  LearnerRun,
  LearnerCounts,
  EpisodeBatch,
  HeldOutSet,
  RunEpisodesOptions,
  MetaTestResult,
  MetaTestConfig,
  MetaTestConfigInput,
  MetaTestOptions,
} from './metatest.js';

// --- models ---
/** The meta-trainable model interface, VSML on core's episode runner, the model registry. */
export type { MetaModel, MetaParams, Carry, SegmentOut } from './model.js';
export { vsmlModel, vsmlLearner, vsmlLearnerFromCheckpoint, vsmlParamValues, sizedConfig } from './vsml.js';
export type { VsmlModelOptions, VsmlLearnerOptions } from './vsml.js';
export { modelFromDescription } from './registry.js';

// --- tasks ---
/** Task families: dataset + preprocessing + class subsets + episode length, sampled by seed. */
export { TaskFamily, TaskFamilyConfigSchema, TaskSourceSchema } from './tasks/family.js';
export type { TaskFamilyConfig, TaskFamilyConfigInput, TaskBatch } from './tasks/family.js';

// --- estimators ---
/** Estimator interface; the gradient path (segment recomputation); ES and sep-CMA-ES; population evaluators. */
export type { Estimator, EstimatorOut, EstimatorContext } from './estimators/types.js';
export { fullGradEstimator, segmentedValueAndGrad } from './estimators/full-grad.js';
export type { FullGradOptions, ValueAndGrad, GradientEngine } from './estimators/full-grad.js';
export { createFastGradEngine, createFastForward, fastGradUnsupported } from './estimators/fast-grad.js';
export type { FastGradOptions } from './estimators/fast-grad.js';
export { esEstimator, sepCmaEstimator } from './estimators/es.js';
export type { EsEstimatorOptions, SepCmaOptions } from './estimators/es.js';
export { InProcessEvaluator, FastEvaluator, WorkerEvaluator, evaluateUnits, defaultWorkerModule } from './estimators/evaluators.js';
export type { Evaluator, EvalUnit, WorkerContext, WorkerEvaluatorOptions } from './estimators/evaluators.js';

// --- outer loop ---
/** The outer loop, its optimiser and training checkpoints. */
export { metaTrain, OuterConfigSchema } from './outer.js';
export type { MetaTrainOptions, MetaTrainResult, OuterConfig, OuterConfigInput, MetricsRecord, ProgressInfo } from './outer.js';
export { OuterOptimizerSchema, optimizerInit, optimizerStep, globalNorm } from './optim.js';
export type { OuterOptimizerConfig, OuterOptimizerInput, OptimizerState } from './optim.js';
export {
  saveTrainCheckpoint,
  loadTrainCheckpoint,
  saveVmCheckpoint,
  loadMetatrainTheta,
  TRAIN_STATE_FORMAT,
  METATRAIN_CHECKPOINT_FORMAT,
} from './checkpoint.js';
export type { TrainCheckpoint, TrainState } from './checkpoint.js';

// --- baselines ---
/** Online SGD/Adam (linear, MLP) and the Meta RNN. */
export { onlineLearner, OFFICIAL_LR } from './baselines/online.js';
export type { OnlineLearnerOptions } from './baselines/online.js';
export { metaRnnModel, metaRnnLayout } from './baselines/meta-rnn.js';
export type { MetaRnnOptions } from './baselines/meta-rnn.js';
export { createMetaRnnGradEngine } from './baselines/meta-rnn-fast.js';
