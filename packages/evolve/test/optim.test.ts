// The OpenAI-ES optimiser against the optax formula `adam(lr, b1, b2, eps)` (scale_by_adam, eps outside the root,
// then scale(-lr)), written out here independently in float64: several steps with bias correction; SGD with momentum.
import { adamStep } from '../src/index.js';
import { optimizerInit, optimizerStep, type OptimizerOptions } from '../src/optim.js';

function optaxAdam(theta0: number[], grads: number[][], o: { lr: number; b1: number; b2: number; eps: number }): number[][] {
  const mu = theta0.map(() => 0);
  const nu = theta0.map(() => 0);
  let p = theta0.slice();
  return grads.map((g, k) => {
    const count = k + 1;
    g.forEach((x, i) => {
      mu[i] = o.b1 * mu[i]! + (1 - o.b1) * x;
      nu[i] = o.b2 * nu[i]! + (1 - o.b2) * x * x;
    });
    p = p.map((x, i) => x - o.lr * ((mu[i]! / (1 - o.b1 ** count)) / (Math.sqrt(nu[i]! / (1 - o.b2 ** count)) + o.eps)));
    return p.slice();
  });
}

const GRADS = [
  [3, -4, 1, 0.5],
  [0.1, 0.2, -0.3, 0.05],
  [-10, 2, 7, -1],
  [0.5, -0.5, 0.25, 1],
  [0, 6, 0, -8],
  [1e-3, -2e-3, 0, 5e-4],
];
const THETA0 = [0.5, -1, 2, 0];
const base: OptimizerOptions = { optimizer: 'adam', lr: 0.1, beta1: 0.8, beta2: 0.95, eps: 1e-6, momentum: 0 };

describe('optimizerStep', () => {
  it('Adam equals the optax formula step by step (float64, bias correction)', () => {
    const ref = optaxAdam(THETA0, GRADS, { lr: 0.1, b1: 0.8, b2: 0.95, eps: 1e-6 });
    const s = optimizerInit(4);
    const theta = Float64Array.from(THETA0);
    GRADS.forEach((g, k) => {
      optimizerStep(s, base, Float64Array.from(g), theta);
      expect(s.t).toBe(k + 1);
      for (let i = 0; i < 4; i++) expect(theta[i]).toBeCloseTo(ref[k]![i]!, 12);
    });
  });

  it('the first Adam step is lr against the sign of the gradient', () => {
    const theta = new Float64Array(2);
    optimizerStep(optimizerInit(2), { ...base, eps: 1e-12 }, Float64Array.from([7, -0.01]), theta);
    expect(theta[0]).toBeCloseTo(-0.1, 9);
    expect(theta[1]).toBeCloseTo(0.1, 9);
  });

  it('adamStep (the exported Adam home) on float32 θ with a gradient scale equals optax on the scaled gradients', () => {
    const scales = [0.5, 1, 0.1, 1, 0.25, 1];
    const ref = optaxAdam(THETA0, GRADS.map((g, k) => g.map((x) => x * scales[k]!)), { lr: 0.1, b1: 0.8, b2: 0.95, eps: 1e-6 });
    const s = optimizerInit(4);
    const theta = Float32Array.from(THETA0);
    GRADS.forEach((g, k) => adamStep(s, base, g, theta, scales[k]));
    for (let i = 0; i < 4; i++) expect(Math.abs(theta[i]! - ref[5]![i]!)).toBeLessThan(1e-6 * (1 + Math.abs(ref[5]![i]!)));
  });

  it('SGD with momentum: v ← μv + g, θ ← θ − lr·v', () => {
    const o: OptimizerOptions = { ...base, optimizer: 'sgd', lr: 0.5, momentum: 0.9 };
    const s = optimizerInit(1);
    const theta = Float64Array.from([1]);
    optimizerStep(s, o, Float64Array.from([2]), theta); // v = 2, θ = 0
    optimizerStep(s, o, Float64Array.from([1]), theta); // v = 2.8, θ = -1.4
    expect(theta[0]).toBeCloseTo(-1.4, 12);
  });
});
