// The outer optimiser against the optax formula `chain(clip_by_global_norm(c), adam(lr, b1, b2, eps))`, written out
// here independently in float64: several steps, clipping active on some and not on others, bias correction.
import { OuterOptimizerSchema, globalNorm, optimizerInit, optimizerStep } from '../src/index.js';

/** optax: clip_by_global_norm then scale_by_adam (eps outside the root, eps_root 0) then scale(-lr). */
function optaxReference(theta0: number[], grads: number[][], o: { lr: number; b1: number; b2: number; eps: number; clip: number }): number[][] {
  const n = theta0.length;
  const mu = new Array<number>(n).fill(0);
  const nu = new Array<number>(n).fill(0);
  let p = theta0.slice();
  const out: number[][] = [];
  grads.forEach((g, k) => {
    const count = k + 1;
    const gNorm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
    const u = o.clip > 0 && gNorm >= o.clip ? g.map((x) => (x / gNorm) * o.clip) : g.slice();
    for (let i = 0; i < n; i++) {
      mu[i] = o.b1 * mu[i]! + (1 - o.b1) * u[i]!;
      nu[i] = o.b2 * nu[i]! + (1 - o.b2) * u[i]! ** 2;
    }
    const muHat = mu.map((m) => m / (1 - o.b1 ** count));
    const nuHat = nu.map((v) => v / (1 - o.b2 ** count));
    p = p.map((x, i) => x + -o.lr * (muHat[i]! / (Math.sqrt(nuHat[i]!) + o.eps)));
    out.push(p.slice());
  });
  return out;
}

// gradients of very different norms: steps 1, 3 and 5 exceed the clip threshold 2, the others do not
const GRADS = [
  [3, -4, 1, 0.5],
  [0.1, 0.2, -0.3, 0.05],
  [-10, 2, 7, -1],
  [0.5, -0.5, 0.25, 1],
  [0, 6, 0, -8],
  [1e-3, -2e-3, 0, 5e-4],
];
const THETA0 = [0.5, -1, 2, 0];

describe('optimizerStep (clip_by_global_norm + Adam)', () => {
  it('equals the optax formula step by step (clipping on some steps, bias correction, float64 reference)', () => {
    const cfg = OuterOptimizerSchema.parse({ lr: 0.1, beta1: 0.8, beta2: 0.95, eps: 1e-6, clipGradNorm: 2 });
    const ref = optaxReference(THETA0, GRADS, { lr: 0.1, b1: 0.8, b2: 0.95, eps: 1e-6, clip: 2 });
    const theta = Float32Array.from(THETA0);
    const state = optimizerInit(4);
    GRADS.forEach((g, k) => {
      const norm = optimizerStep(cfg, state, theta, g);
      expect(norm).toBeCloseTo(globalNorm(g), 12);
      expect(state.t).toBe(k + 1);
      // θ is float32: compare to float32 rounding of the reference trajectory
      for (let i = 0; i < 4; i++) expect(Math.abs(theta[i]! - ref[k]![i]!)).toBeLessThan(1e-6 * (1 + Math.abs(ref[k]![i]!)));
    });
  });

  it('the first Adam step moves each coordinate by lr against the sign of its gradient (bias correction)', () => {
    const cfg = OuterOptimizerSchema.parse({ lr: 0.01, clipGradNorm: 0 });
    const theta = new Float32Array(3);
    optimizerStep(cfg, optimizerInit(3), theta, [5, -0.001, 0]);
    expect(theta[0]).toBeCloseTo(-0.01, 7);
    expect(theta[1]).toBeCloseTo(0.01, 5);
    expect(theta[2]).toBe(0);
  });

  it('without clipping (clipGradNorm 0) equals optax adam on large gradients', () => {
    const cfg = OuterOptimizerSchema.parse({ lr: 0.05, clipGradNorm: 0 });
    const ref = optaxReference(THETA0, GRADS, { lr: 0.05, b1: 0.9, b2: 0.999, eps: 1e-8, clip: 0 });
    const theta = Float32Array.from(THETA0);
    const state = optimizerInit(4);
    for (const g of GRADS) optimizerStep(cfg, state, theta, g);
    for (let i = 0; i < 4; i++) expect(Math.abs(theta[i]! - ref[5]![i]!)).toBeLessThan(1e-6 * (1 + Math.abs(ref[5]![i]!)));
  });

  it('SGD with clipping: θ − lr·clip(g)', () => {
    const cfg = OuterOptimizerSchema.parse({ type: 'sgd', lr: 0.5, clipGradNorm: 1 });
    const theta = Float32Array.from([1, 1]);
    optimizerStep(cfg, optimizerInit(2), theta, [3, 4]); // norm 5 → scaled to [0.6, 0.8]
    expect(theta[0]).toBeCloseTo(1 - 0.5 * 0.6, 6);
    expect(theta[1]).toBeCloseTo(1 - 0.5 * 0.8, 6);
    optimizerStep(cfg, optimizerInit(2), theta, [0.3, 0]); // below the threshold: unchanged
    expect(theta[0]).toBeCloseTo(0.7 - 0.15, 6);
  });

  it('descends: Adam on a quadratic lowers it', () => {
    const cfg = OuterOptimizerSchema.parse({ lr: 0.05 });
    const theta = Float32Array.from([2, -3, 1]);
    const state = optimizerInit(3);
    const f = () => theta.reduce((s, x) => s + x * x, 0);
    const f0 = f();
    for (let k = 0; k < 50; k++) optimizerStep(cfg, state, theta, Array.from(theta, (x) => 2 * x));
    expect(f()).toBeLessThan(0.5 * f0);
  });
});
