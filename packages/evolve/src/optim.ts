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

/** Applies one descent step for `grad` to `theta` in place. */
export function optimizerStep(s: OptimizerState, o: OptimizerOptions, grad: Float64Array, theta: Float64Array): void {
  s.t += 1;
  const n = theta.length;
  if (o.optimizer === 'sgd') {
    for (let i = 0; i < n; i++) {
      s.m[i] = o.momentum * s.m[i]! + grad[i]!;
      theta[i] = theta[i]! - o.lr * s.m[i]!;
    }
    return;
  }
  const bc1 = 1 - o.beta1 ** s.t;
  const bc2 = 1 - o.beta2 ** s.t;
  for (let i = 0; i < n; i++) {
    const g = grad[i]!;
    s.m[i] = o.beta1 * s.m[i]! + (1 - o.beta1) * g;
    s.v[i] = o.beta2 * s.v[i]! + (1 - o.beta2) * g * g;
    const mHat = s.m[i]! / bc1;
    const vHat = s.v[i]! / bc2;
    theta[i] = theta[i]! - (o.lr * mHat) / (Math.sqrt(vHat) + o.eps);
  }
}
