/**
 * @vsml/evolve: CMA-ES (full and separable, IPOP restarts) and OpenAI-ES with ask/tell (minimisation), serialisable
 * state including the random generator, and worker-thread evaluation. No tfjs; depends only on @vsml/rng and piscina.
 */

// Strategies (ask/tell classes) and their registry
export { CmaEs, CMAES_CHECKPOINT_FORMAT } from './cmaes.js';
export type { CmaEsOptions, CmaEsCheckpoint } from './cmaes.js';
export { OpenAiEs, OPENAI_ES_VSML, OPENAI_ES_CHECKPOINT_FORMAT } from './openai-es.js';
export type { OpenAiEsOptions, OpenAiEsTermination, OpenAiEsCheckpoint } from './openai-es.js';
export { strategies, strategyFromJSON } from './registry.js';
export type { StrategyName } from './registry.js';
export type { AskTellOptimizer, Best, NormalSource } from './strategies/base.js';

// IPOP restarts around CMA-ES
export { minimize } from './minimize.js';
export type { Objective, BatchObjective, MinimizeOptions, MinimizeProgress, MinimizeResult, RunSummary } from './minimize.js';

// Parallel evaluation over worker threads
export { PopulationEvaluator, evaluatePopulation } from './parallel.js';
export type { PopulationEvaluatorOptions, EvaluateInfo, EvaluationReport, CandidateError, CandidateInfo } from './parallel.js';

// CMA-ES maths (parameters, state, steps) for inspection, tests and other wrappers
export { cmaesParams, defaultPopSize, defaultMaxIter, sumWeights } from './strategies/cmaes-params.js';
export type { CmaesParams, CmaesParamsOptions } from './strategies/cmaes-params.js';
export type { CmaesState, CmaesTellInfo } from './strategies/cmaes.js';
export { STOP_REASONS, terminationDefaults } from './strategies/termination.js';
export type { StopReason, TerminationOptions, FitnessHistory } from './strategies/termination.js';
export type { CovarianceState } from './strategies/covariance.js';

// OpenAI-ES maths
export { estimateGradient, pairSeed } from './strategies/openai-es.js';
export type { OpenAiEsParams, OpenAiEsState, OpenAiEsTellInfo, Shaping, GradientEstimate } from './strategies/openai-es.js';
export type { OptimizerOptions, OptimizerState, AdamOptions } from './optim.js';
/** One Adam step on flat arrays (optax formula; optional gradient scale for clipping): the workspace's Adam home. */
export { adamStep } from './optim.js';

// Shaping and linear algebra helpers
export { rankOrder, centeredRanks } from './shaping.js';
export { eigh } from './linalg.js';
export type { Eigh } from './linalg.js';

// Errors
export { EvolveError, EVOLVE_ERROR_CODES } from './errors.js';
export type { EvolveErrorCode, ErrorReport } from './errors.js';
