/**
 * The estimator interface (learned_optimization's `GradientEstimator`): estimating a meta-gradient is kept apart from
 * applying it. `estimate(θ, ctx)` returns the mean meta-loss and either a gradient (the outer loop applies its
 * optimiser: Adam, clipping) or, for strategies that own their search distribution (sep-CMA-ES), the new θ.
 */
import type { MetaParams } from '../model.js';

/** Where in the run an estimate is made. */
export interface EstimatorContext {
  /** meta-step (0-based); tasks and noise are drawn from (seed, step), so a resumed run repeats them */
  readonly step: number;
  /** a fresh seed for this step from the outer generator (saved in checkpoints): noise, unit seeds */
  readonly seed: number;
}

/** What an estimator returns. */
export interface EstimatorOut {
  /** mean meta-loss of the episodes it ran (cross-entropy per step) */
  readonly meanLoss: number;
  /** gradient estimate with respect to θ (apply with the outer optimiser) */
  readonly grad?: Float32Array;
  /** the next θ, for estimators that update it themselves */
  readonly theta?: MetaParams;
  /** scalars for the metrics log (accuracy, class count, pairs used, ...) */
  readonly metrics: Record<string, number>;
}

/** A meta-gradient estimator. */
export interface Estimator {
  /** `full-grad`, `es`, `sep-cma`, ... */
  readonly name: string;
  estimate(theta: MetaParams, ctx: EstimatorContext): Promise<EstimatorOut>;
  /** plain-data state for checkpoints (strategies with a search distribution) */
  state?(): unknown;
  /** restores {@link state} */
  restore?(state: unknown): void;
  /** frees resources (worker threads) */
  close?(): Promise<void>;
}
