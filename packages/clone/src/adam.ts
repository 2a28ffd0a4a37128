/**
 * Adam on one flat parameter vector (the V_M of a clone), with optional global-norm gradient clipping. The state is
 * plain data (`toJSON` / `fromJSON`) so that it goes into checkpoints and a resumed run continues identically.
 */
import { tf } from '@vsml/core';
import type { OptimizerSpec } from './config.js';
import { CloneError } from './errors.js';

/** Plain-data Adam state. */
export interface AdamState {
  readonly step: number;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

/** The learning rate of iteration `it` of `iterations`: constant, or cosine from `lr` to `lrEnd`. */
export function scheduledLr(spec: Pick<OptimizerSpec, 'lr' | 'lrEnd'>, it: number, iterations: number): number {
  if (spec.lrEnd === null || iterations <= 1) return spec.lr;
  const f = Math.min(1, Math.max(0, it / (iterations - 1)));
  return spec.lrEnd + (spec.lr - spec.lrEnd) * 0.5 * (1 + Math.cos(Math.PI * f));
}

/** Adam (Kingma & Ba) with bias correction, on a `tf.Variable` holding a flat vector. */
export class FlatAdam {
  private m: tf.Tensor1D;
  private v: tf.Tensor1D;
  private t: number;
  private readonly mask: tf.Tensor1D | null;

  /** @param trainable 1 for entries to update, 0 for entries to keep fixed (their gradient is zeroed first) */
  constructor(
    readonly variable: tf.Variable,
    private spec: OptimizerSpec,
    state?: AdamState,
    trainable?: Float32Array | null,
  ) {
    const n = variable.size;
    if (trainable && trainable.length !== n) throw new CloneError('SHAPE_MISMATCH', `FlatAdam: mask of ${trainable.length} entries for ${n} parameters`);
    this.mask = trainable ? tf.tensor1d(trainable) : null;
    this.m = state ? tf.tensor1d(state.m) : tf.zeros([n]);
    this.v = state ? tf.tensor1d(state.v) : tf.zeros([n]);
    this.t = state?.step ?? 0;
  }

  /** Changes the hyperparameters (e.g. a new curriculum stage) while keeping the moments. */
  setSpec(spec: OptimizerSpec): void {
    this.spec = spec;
  }

  /** Sets the learning rate (schedules). */
  setLr(lr: number): void {
    this.spec = { ...this.spec, lr };
  }

  /** Number of updates applied. */
  get step(): number {
    return this.t;
  }

  /** Applies one update from `grad` (same size as the variable); returns the gradient norm before clipping. */
  apply(grad: tf.Tensor): number {
    const { lr, beta1, beta2, eps, gradClip } = this.spec;
    this.t += 1;
    const t = this.t;
    const masked = this.mask ? tf.mul(tf.reshape(grad, [-1]), this.mask) : grad;
    const norm = tf.tidy(() => tf.norm(masked).dataSync()[0]!);
    const [m, v] = tf.tidy(() => {
      let g = tf.reshape(masked, [-1]);
      if (gradClip !== null && norm > gradClip) g = tf.mul(g, gradClip / norm);
      const m2 = tf.add(tf.mul(this.m, beta1), tf.mul(g, 1 - beta1));
      const v2 = tf.add(tf.mul(this.v, beta2), tf.mul(tf.square(g), 1 - beta2));
      const mh = tf.div(m2, 1 - Math.pow(beta1, t));
      const vh = tf.div(v2, 1 - Math.pow(beta2, t));
      this.variable.assign(tf.sub(this.variable, tf.mul(tf.div(mh, tf.add(tf.sqrt(vh), eps)), lr)));
      return [m2, v2] as [tf.Tensor1D, tf.Tensor1D];
    });
    if (masked !== grad) masked.dispose();
    this.m.dispose();
    this.v.dispose();
    this.m = m;
    this.v = v;
    return norm;
  }

  /** The moments and step as plain data. */
  toJSON(): AdamState {
    return { step: this.t, m: Float32Array.from(this.m.dataSync()), v: Float32Array.from(this.v.dataSync()) };
  }

  /** Frees the moment tensors (not the variable). */
  dispose(): void {
    this.mask?.dispose();
    this.m.dispose();
    this.v.dispose();
  }
}
