// FlatAdam (tfjs, float32) against the optax formula `chain(clip_by_global_norm(c), adam(lr, b1, b2, eps))`, written
// out here independently in float64: several steps, clipping active on some, bias correction, the trainable mask.
import { tf } from '@vsml/core';
import { FlatAdam } from '../src/adam.js';
import { OptimizerSchema } from '../src/config.js';
import { useBackend } from './helpers.js';

useBackend();

function optaxReference(theta0: number[], grads: number[][], o: { lr: number; b1: number; b2: number; eps: number; clip: number | null }): number[][] {
  const mu = theta0.map(() => 0);
  const nu = theta0.map(() => 0);
  let p = theta0.slice();
  return grads.map((g, k) => {
    const count = k + 1;
    const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
    const u = o.clip !== null && norm >= o.clip ? g.map((x) => (x / norm) * o.clip!) : g;
    u.forEach((x, i) => {
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

describe('FlatAdam', () => {
  it('equals the optax formula step by step (clipping on steps 1, 3, 5; bias correction)', () => {
    const spec = OptimizerSchema.parse({ lr: 0.1, beta1: 0.8, beta2: 0.95, eps: 1e-6, gradClip: 2 });
    const ref = optaxReference(THETA0, GRADS, { lr: 0.1, b1: 0.8, b2: 0.95, eps: 1e-6, clip: 2 });
    const before = tf.memory().numTensors;
    const v = tf.tidy(() => tf.variable(tf.tensor1d(THETA0)));
    const adam = new FlatAdam(v, spec);
    GRADS.forEach((g, k) => {
      const gt = tf.tensor1d(g);
      const norm = adam.apply(gt);
      gt.dispose();
      expect(norm).toBeCloseTo(Math.hypot(...g), 4);
      const got = v.dataSync();
      for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - ref[k]![i]!)).toBeLessThan(2e-6 * (1 + Math.abs(ref[k]![i]!)));
    });
    expect(adam.step).toBe(6);
    adam.dispose();
    v.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a trainable mask keeps the masked entries fixed and clips by the norm of the masked gradient', () => {
    const spec = OptimizerSchema.parse({ lr: 0.1, beta1: 0.8, beta2: 0.95, eps: 1e-6, gradClip: 2 });
    const mask = Float32Array.from([1, 0, 1, 0]);
    const maskedGrads = GRADS.map((g) => g.map((x, i) => x * mask[i]!));
    const ref = optaxReference(THETA0, maskedGrads, { lr: 0.1, b1: 0.8, b2: 0.95, eps: 1e-6, clip: 2 });
    const v = tf.tidy(() => tf.variable(tf.tensor1d(THETA0)));
    const adam = new FlatAdam(v, spec, undefined, mask);
    for (const g of GRADS) {
      const gt = tf.tensor1d(g);
      adam.apply(gt);
      gt.dispose();
    }
    const got = v.dataSync();
    expect(got[1]).toBe(-1);
    expect(got[3]).toBe(0);
    for (const i of [0, 2]) expect(Math.abs(got[i]! - ref[5]![i]!)).toBeLessThan(2e-6 * (1 + Math.abs(ref[5]![i]!)));
    adam.dispose();
    v.dispose();
  });

  it('resumes from toJSON state with the same trajectory', () => {
    const spec = OptimizerSchema.parse({ lr: 0.05 });
    const ref = optaxReference(THETA0, GRADS, { lr: 0.05, b1: 0.9, b2: 0.999, eps: 1e-8, clip: null });
    const v = tf.tidy(() => tf.variable(tf.tensor1d(THETA0)));
    let adam = new FlatAdam(v, spec);
    GRADS.forEach((g, k) => {
      if (k === 3) {
        const st = adam.toJSON();
        adam.dispose();
        adam = new FlatAdam(v, spec, st);
      }
      const gt = tf.tensor1d(g);
      adam.apply(gt);
      gt.dispose();
    });
    const got = v.dataSync();
    for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - ref[5]![i]!)).toBeLessThan(2e-6 * (1 + Math.abs(ref[5]![i]!)));
    adam.dispose();
    v.dispose();
  });
});
