/**
 * What a meta-trainable model looks like to the estimators and the outer loop: a flat meta-parameter vector
 * (V_M for VSML, all weights for the Meta RNN) and a differentiable episode runner that works in segments, so that
 * meta-gradients can be computed with bounded memory (see `estimators/full-grad.ts`).
 *
 * Role names (learned_optimization style): `MetaParams` = the flat vector θ; `Carry` = the recurrent state passed
 * between segments (V_L, pending error, ...), as a list of tensors so that gradients can flow into it.
 */
import type { tf } from '@vsml/core';
import type { EpisodeBatch, Learner } from './metatest.js';

/** The flat meta-parameter vector θ. */
export type MetaParams = Float32Array;
/** The recurrent carry between segments: a list of tensors (model-specific order). */
export type Carry = tf.Tensor[];

/** What one segment of an episode returns (all tensors owned by the caller). */
export interface SegmentOut {
  /** sum of the per-step cross-entropy over the segment's steps and all members (differentiable) */
  readonly lossSum: tf.Scalar;
  /** per member: the sum of its per-step cross-entropy over the segment, `[P]` */
  readonly memberLoss: tf.Tensor;
  /** number of correct predictions in the segment (not differentiable) */
  readonly correctSum: tf.Scalar;
  /** the carry after the segment's last step */
  readonly carry: Carry;
}

/** A model that can be meta-trained by the estimators of this package. */
export interface MetaModel {
  /** `vsml` or `meta-rnn` */
  readonly kind: string;
  /** |θ| */
  readonly size: number;
  /** JSON description (model config, sizes) stored in checkpoints and compared on resume */
  describe(): Record<string, unknown>;
  /** label width needed for a task with k classes (VSML: k; a fixed-size model: its padded class count) */
  labelWidth(k: number): number;
  /** input size the model needs, or null when any size works */
  readonly inputDim: number | null;
  /** initial θ (official initialisation), deterministic in `seed` */
  initVector(seed: number): MetaParams;
  /** the carry at step 0: fresh initial state of member p from `seeds[p]` */
  initCarry(batch: EpisodeBatch, seeds: readonly number[]): Carry;
  /** whether {@link segment} accepts per-member θ (`[P, size]`), e.g. for batched ES populations */
  readonly perMemberTheta: boolean;
  /**
   * Runs steps [t0, t1) of the batch's episodes from `carry` with meta-parameters `theta` (a `[size]` tensor, or
   * `[P, size]` when `perMemberTheta`; differentiable with respect to `theta` and the carry). Creates tensors; call
   * inside `tf.tidy` or dispose.
   */
  segment(theta: tf.Tensor, batch: EpisodeBatch, carry: Carry, t0: number, t1: number): SegmentOut;
  /** θ as a learner for the meta-test protocol */
  learner(theta: MetaParams, opts?: { name?: string; label?: string }): Learner;
}
