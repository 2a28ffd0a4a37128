/**
 * The gradient path: the exact gradient of the meta-loss (mean cross-entropy of the online predictions over all
 * steps and episodes) with respect to θ, by back-propagation through the unrolled episode (`tf.grad` through the
 * VSML RNN of `@vsml/core`, or through the Meta RNN).
 *
 * **Bounded memory: segment recomputation.** A plain `tf.grad` over T steps keeps every intermediate tensor of every
 * step alive until the backward pass (gigabytes at T = 100 already). Here the episode is cut into segments of
 * `segmentSteps` steps:
 *   1. forward without gradient tape, keeping only the carry (V_L, the pending error) at each segment start;
 *   2. for segments from last to first: re-run the segment with the tape from its stored carry and back-propagate
 *      the surrogate  `lossSum/(T·P) + Σ_i ⟨carryOut_i, ∂L/∂carryOut_i⟩`, which yields ∂L/∂θ (accumulated) and
 *      ∂L/∂carryIn (passed to the previous segment).
 * This is exact (the same gradient as one tape over the whole episode, up to float rounding) and holds at most one
 * segment's tape plus T/segmentSteps carries: memory is flat in T (a test checks it). Cost: one extra forward pass.
 * With `segmentSteps ≥ T` it is plain back-propagation through the whole episode.
 */
import { tf } from '@vsml/core';
import { MetatrainError } from '../errors.js';
import type { EpisodeBatch } from '../metatest.js';
import type { Carry, MetaModel, MetaParams } from '../model.js';
import type { TaskFamily } from '../tasks/family.js';
import type { Estimator, EstimatorOut } from './types.js';

/** Value and gradient of the mean meta-loss for one batch. */
export interface ValueAndGrad {
  /** mean cross-entropy over T·P predictions */
  readonly loss: number;
  /** fraction of correct online predictions */
  readonly accuracy: number;
  /** ∂loss/∂θ */
  readonly grad: Float32Array;
}

/** A function computing {@link ValueAndGrad} (tfjs segments here; a WASM engine can replace it). */
export type GradientEngine = (theta: MetaParams, batch: EpisodeBatch, seeds: readonly number[]) => Promise<ValueAndGrad>;

/**
 * Meta-loss and its gradient by segment recomputation (see module comment), with the model's tfjs segment runner.
 * @param segmentSteps steps per segment (default: the whole episode, i.e. no recomputation)
 */
export async function segmentedValueAndGrad(
  model: MetaModel,
  theta: MetaParams,
  batch: EpisodeBatch,
  seeds: readonly number[],
  segmentSteps = batch.steps,
): Promise<ValueAndGrad> {
  const T = batch.steps;
  const P = batch.population;
  const S = Math.max(1, Math.min(segmentSteps, T));
  const bounds: number[] = [];
  for (let t = 0; t < T; t += S) bounds.push(t);
  bounds.push(T);
  const nSeg = bounds.length - 1;
  const scale = 1 / (T * P);
  const thetaT = tf.tensor1d(theta);
  const starts: (Carry | null)[] = new Array(nSeg).fill(null);
  let gCarry: tf.Tensor[] | null = null;
  let gTheta: tf.Tensor | null = null;
  let lossSum = 0;
  let correctSum = 0;
  try {
    starts[0] = model.initCarry(batch, seeds);
    // 1. forward without tape, keeping the carry at every segment start
    if (nSeg > 1) {
      const sums: tf.Scalar[] = [];
      for (let s = 0; s < nSeg - 1; s++) {
        const out = model.segment(thetaT, batch, starts[s]!, bounds[s]!, bounds[s + 1]!);
        starts[s + 1] = out.carry;
        out.memberLoss.dispose();
        sums.push(out.lossSum, out.correctSum);
      }
      const vals = await Promise.all(sums.map((x) => x.data()));
      for (let i = 0; i < vals.length; i += 2) {
        lossSum += vals[i]![0]!;
        correctSum += vals[i + 1]![0]!;
      }
      for (const x of sums) x.dispose();
    }
    // 2. backward over segments, last to first
    for (let s = nSeg - 1; s >= 0; s--) {
      const carryIn = starts[s]!;
      const xs = [thetaT, ...carryIn];
      const g = gCarry;
      let segLoss: tf.Scalar | null = null;
      let segCorrect: tf.Scalar | null = null;
      const { value, grads } = tf.engine().gradients(
        () => {
          const out = model.segment(xs[0]!, batch, xs.slice(1), bounds[s]!, bounds[s + 1]!);
          segLoss = tf.keep(tf.clone(out.lossSum));
          segCorrect = tf.keep(tf.clone(out.correctSum));
          let obj: tf.Tensor = tf.mul(out.lossSum, scale);
          if (g !== null) {
            out.carry.forEach((c, i) => {
              obj = tf.add(obj, tf.sum(tf.mul(c, g[i]!)));
            });
          }
          return obj as tf.Scalar;
        },
        xs,
        undefined,
        true,
      );
      value.dispose();
      if (s === nSeg - 1) {
        lossSum += (await segLoss!.data())[0]!;
        correctSum += (await segCorrect!.data())[0]!;
      }
      (segLoss as tf.Scalar | null)?.dispose();
      (segCorrect as tf.Scalar | null)?.dispose();
      const gt = grads[0] ?? tf.zerosLike(thetaT);
      if (gTheta === null) gTheta = gt;
      else {
        const sum: tf.Tensor = tf.add(gTheta, gt);
        gTheta.dispose();
        gt.dispose();
        gTheta = sum;
      }
      if (gCarry) for (const x of gCarry) x.dispose();
      gCarry = s > 0 ? carryIn.map((c, i) => grads[i + 1] ?? tf.zerosLike(c)) : null;
      if (s === 0) for (let i = 1; i < grads.length; i++) grads[i]?.dispose();
      const stillNeeded = new Set(s > 0 ? starts[s - 1]! : []);
      for (const c of carryIn) if (!stillNeeded.has(c) && !c.isDisposed) c.dispose();
      starts[s] = null;
    }
    const grad = (await gTheta!.data()) as Float32Array;
    return { loss: lossSum * scale, accuracy: correctSum * scale, grad: Float32Array.from(grad) };
  } finally {
    thetaT.dispose();
    gTheta?.dispose();
    if (gCarry) for (const x of gCarry) x.dispose();
    for (const c of starts) if (c) for (const x of c) if (!x.isDisposed) x.dispose();
  }
}

/** Options of {@link fullGradEstimator}. */
export interface FullGradOptions {
  readonly model: MetaModel;
  readonly tasks: TaskFamily;
  /** steps per recomputation segment (default 25; ≥ T = plain BPTT) */
  readonly segmentSteps?: number;
  /** replaces the tfjs segment path (e.g. a WASM engine); same semantics */
  readonly engine?: GradientEngine;
}

/** The gradient-path estimator: one batch of `tasks.episodes` episodes per meta-step, exact meta-gradient. */
export function fullGradEstimator(opts: FullGradOptions): Estimator {
  const { model, tasks } = opts;
  const seg = opts.segmentSteps ?? 25;
  const engine: GradientEngine = opts.engine ?? ((theta, batch, seeds) => segmentedValueAndGrad(model, theta, batch, seeds, seg));
  return {
    name: 'full-grad',
    async estimate(theta, ctx): Promise<EstimatorOut> {
      const tb = tasks.batch(ctx.step);
      const r = await engine(theta, tb.batch, tb.seeds);
      if (!Number.isFinite(r.loss) || !r.grad.every(Number.isFinite)) {
        throw new MetatrainError('NOT_FINITE', `full-grad: non-finite meta-loss or gradient at step ${ctx.step} (loss ${r.loss})`, {
          details: { step: ctx.step },
        });
      }
      return { meanLoss: r.loss, grad: r.grad, metrics: { accuracy: r.accuracy, classes: tb.k, source: tb.source } };
    },
  };
}
