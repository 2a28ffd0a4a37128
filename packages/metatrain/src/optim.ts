/**
 * The outer optimiser: global-norm gradient clipping followed by Adam (optax `chain(clip_by_global_norm, adam)`, as
 * the official code; the Adam step is `@vsml/evolve`'s `adamStep`), or plain SGD. State is plain data (θ stays
 * float32; moments in float64) so that a checkpoint restores it bit for bit.
 */
import { adamStep } from '@vsml/evolve';
import { z } from 'zod';
import { MetatrainError } from './errors.js';

/** Outer optimiser settings (strict). Defaults: the official backprop config (Adam 1e-3, β2 0.999, clip 25). */
export const OuterOptimizerSchema = z.strictObject({
  type: z.enum(['adam', 'sgd']).default('adam'),
  lr: z.number().positive().default(1e-3),
  beta1: z.number().min(0).max(0.9999999).default(0.9),
  beta2: z.number().min(0).max(0.9999999).default(0.999),
  eps: z.number().nonnegative().default(1e-8),
  /** global-norm clipping threshold; 0 = off (official ES: 0, official backprop: 25) */
  clipGradNorm: z.number().nonnegative().default(25),
});
/** Validated outer optimiser settings. */
export type OuterOptimizerConfig = z.output<typeof OuterOptimizerSchema>;
/** Outer optimiser settings as written. */
export type OuterOptimizerInput = z.input<typeof OuterOptimizerSchema>;

/** Adam moments and step count. */
export interface OptimizerState {
  m: Float64Array;
  v: Float64Array;
  t: number;
}

/** Fresh optimiser state for n parameters. */
export function optimizerInit(n: number): OptimizerState {
  return { m: new Float64Array(n), v: new Float64Array(n), t: 0 };
}

/** Global L2 norm. */
export function globalNorm(g: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.sqrt(s);
}

/**
 * One update of θ in place: clip g to global norm ≤ clipGradNorm (when > 0), then Adam or SGD.
 * @returns the gradient norm before clipping
 */
export function optimizerStep(cfg: OuterOptimizerConfig, state: OptimizerState, theta: Float32Array, grad: ArrayLike<number>): number {
  const n = theta.length;
  if (grad.length !== n || state.m.length !== n) {
    throw new MetatrainError('SHAPE_MISMATCH', `optimizerStep: θ has ${n} entries, gradient ${grad.length}, optimiser state ${state.m.length}`);
  }
  const norm = globalNorm(grad);
  const clip = cfg.clipGradNorm > 0 && norm > cfg.clipGradNorm ? cfg.clipGradNorm / norm : 1;
  if (cfg.type === 'sgd') {
    for (let i = 0; i < n; i++) theta[i] = theta[i]! - cfg.lr * clip * grad[i]!;
    state.t += 1;
    return norm;
  }
  adamStep(state, cfg, grad, theta, clip);
  return norm;
}
