/**
 * First-order optimisers for the OpenAI-ES gradient estimate, on plain-data state. Both *descend*: θ ← θ − step.
 * Adam follows optax `scale_by_adam` (bias-corrected moments, ε outside the square root) followed by ×(−lr), as the
 * official VSML code uses it (cmaes.md §4).
 */

/** Which optimiser and its settings. */
export interface OptimizerOptions {
  /** 'adam' (default) or plain 'sgd' (with optional momentum) */
  readonly optimizer: 'adam' | 'sgd';
  /** learning rate */
  readonly lr: number;
  /** Adam β1 (first-moment decay) */
  readonly beta1: number;
  /** Adam β2 (second-moment decay) */
  readonly beta2: number;
  /** Adam ε (added to √v̂) */
  readonly eps: number;
  /** SGD momentum (0 = none) */
  readonly momentum: number;
}

/** Optimiser state: Adam moments m, v and step count t (SGD uses m as its velocity). */
export interface OptimizerState {
  m: Float64Array;
  v: Float64Array;
  t: number;
}

export function optimizerInit(n: number): OptimizerState {
  return { m: new Float64Array(n), v: new Float64Array(n), t: 0 };
}

/** Adam settings (optax `adam`: ε outside the square root, no ε_root). */
export interface AdamOptions {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

/**
 * One Adam descent step on plain arrays, in place: t ← t + 1; m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
 * θ ← θ − lr·m̂ / (√v̂ + ε) with m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t), and g = scale·grad (scale: e.g. a global-norm
 * clipping factor). The one Adam on flat vectors of the workspace (the ES optimiser here, metatrain's outer optimiser).
 */
export function adamStep(s: OptimizerState, o: AdamOptions, grad: ArrayLike<number>, theta: Float32Array | Float64Array, scale = 1): void {
  s.t += 1;
  const n = theta.length;
  const bc1 = 1 - o.beta1 ** s.t;
  const bc2 = 1 - o.beta2 ** s.t;
  for (let i = 0; i < n; i++) {
    const g = scale * grad[i]!;
    s.m[i] = o.beta1 * s.m[i]! + (1 - o.beta1) * g;
    s.v[i] = o.beta2 * s.v[i]! + (1 - o.beta2) * g * g;
    const mHat = s.m[i]! / bc1;
    const vHat = s.v[i]! / bc2;
    theta[i] = theta[i]! - (o.lr * mHat) / (Math.sqrt(vHat) + o.eps);
  }
}

/** Applies one descent step for `grad` to `theta` in place. */
export function optimizerStep(s: OptimizerState, o: OptimizerOptions, grad: Float64Array, theta: Float64Array): void {
  if (o.optimizer === 'sgd') {
    s.t += 1;
    for (let i = 0; i < theta.length; i++) {
      s.m[i] = o.momentum * s.m[i]! + grad[i]!;
      theta[i] = theta[i]! - o.lr * s.m[i]!;
    }
    return;
  }
  adamStep(s, o, grad, theta);
}
