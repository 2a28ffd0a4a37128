// Baselines: online SGD/Adam (predict, then one update; real tfjs gradients), the Meta RNN learner.
import { tf } from '@vsml/core';
import { Rng } from '@vsml/rng';
import { TaskFamily, metaRnnModel, onlineLearner, type EpisodeBatch } from '../src/index.js';
import { tinyTasks, useBackend } from './helpers.js';

useBackend('cpu');

/** A linearly separable stream: y = [x0 + x1 > 0]. */
function separable(T: number, P: number, D: number, seed: number): EpisodeBatch {
  const rng = Rng.fromSeed(seed);
  const x = new Float32Array(T * P * D);
  const y = new Int32Array(T * P);
  for (let i = 0; i < T * P; i++) {
    for (let d = 0; d < D; d++) x[i * D + d] = rng.normal();
    y[i] = x[i * D]! + x[i * D + 1]! > 0 ? 1 : 0;
  }
  return { x, y, steps: T, population: P, dim: D, numClasses: 2 };
}

describe('onlineLearner', () => {
  it('SGD on a linear model: the prediction of step 1 uses the weights after one hand-computed update', async () => {
    const D = 3;
    const C = 2;
    const lr = 0.5;
    const b = separable(2, 1, D, 4);
    const r = await onlineLearner({ model: 'linear', optimizer: 'sgd', lr, initSeed: 9 }).runEpisodes(b, { seeds: [0] });
    // reference in float64
    const W = Array.from(Rng.fromSeed(9, 0x736764, 0).fillTruncatedNormal(new Float64Array(D * C), 1 / Math.sqrt(D)));
    const bias = [0, 0];
    const lossAt = (t: number): { loss: number; dz: number[] } => {
      const x = Array.from(b.x.subarray(t * D, (t + 1) * D));
      const z = [0, 1].map((c) => x.reduce((s, v, d) => s + v * W[d * C + c]!, bias[c]!));
      const lg = z.map((v) => 100 * Math.tanh(v / 100));
      const m = Math.max(...lg);
      const lse = m + Math.log(lg.reduce((s, v) => s + Math.exp(v - m), 0));
      const y = b.y[t]!;
      const sm = lg.map((v) => Math.exp(v - lse));
      const dz = sm.map((s, c) => (s - (c === y ? 1 : 0)) * (1 - Math.tanh(z[c]! / 100) ** 2));
      return { loss: lse - lg[y]!, dz };
    };
    const s0 = lossAt(0);
    expect(r.loss[0]).toBeCloseTo(s0.loss, 5);
    const x0 = Array.from(b.x.subarray(0, D));
    for (let d = 0; d < D; d++) for (let c = 0; c < C; c++) W[d * C + c] = W[d * C + c]! - lr * x0[d]! * s0.dz[c]!;
    for (let c = 0; c < C; c++) bias[c] = bias[c]! - lr * s0.dz[c]!;
    expect(r.loss[1]).toBeCloseTo(lossAt(1).loss, 5);
  });

  it.each([
    ['adam', 'mlp'],
    ['sgd', 'linear'],
  ] as const)('%s on a %s model learns a separable stream, members independently, without leaking tensors', async (opt, model) => {
    const b = separable(120, 3, 4, 1);
    const learner = onlineLearner({ model, optimizer: opt, lr: opt === 'adam' ? 0.01 : 0.1, hidden: 16 });
    const before = tf.memory().numTensors;
    const heldB = separable(50, 1, 4, 2);
    const r = await learner.runEpisodes(b, { seeds: [1, 2, 3], heldOut: { x: heldB.x, y: heldB.y, count: 50, atSteps: [9, 119] } });
    expect(tf.memory().numTensors).toBe(before);
    let late = 0;
    for (let t = 60; t < 120; t++) for (let p = 0; p < 3; p++) late += r.correct[t * 3 + p]! / 180;
    expect(late).toBeGreaterThan(0.8);
    expect(r.heldOutAccuracy).toHaveLength(6);
    for (let p = 0; p < 3; p++) expect(r.heldOutAccuracy![3 + p]).toBeGreaterThan(0.8);
    // member 0 alone gives the same numbers as inside the batch
    const one = await learner.runEpisodes({ ...b, population: 1, x: b.x.filter((_, i) => Math.floor(i / 4) % 3 === 0), y: b.y.filter((_, i) => i % 3 === 0) }, { seeds: [1] });
    for (let t = 0; t < 120; t += 17) expect(one.loss[t]).toBeCloseTo(r.loss[t * 3]!, 4);
  });

  it('uses the official learning rates by default', () => {
    expect(onlineLearner({ model: 'mlp', optimizer: 'adam' }).label).toBe('online Adam 0.001, MLP 160 tanh');
    expect(onlineLearner({ model: 'linear', optimizer: 'sgd' }).label).toBe('online SGD 0.01, linear');
    expect(onlineLearner({ model: 'mlp', optimizer: 'adam' }).counts(784, 10)).toEqual({ vm: null, vl: 784 * 160 + 160 + 160 * 10 + 10 });
  });
});

describe('Meta RNN learner', () => {
  it('runs padded-class episodes, reports its sizes, and refuses other input sizes', async () => {
    const model = metaRnnModel({ inputDim: 4, numClasses: 4, hidden: 8 });
    const learner = model.learner(model.initVector(1));
    const tb = new TaskFamily(tinyTasks({ length: 12, labelWidth: 4 })).batch(0);
    const r = await learner.runEpisodes(tb.batch, { seeds: tb.seeds });
    expect(r.correct).toHaveLength(12 * 3);
    expect(learner.counts(4, 4)).toEqual({ vm: (4 + 2 * 4 + 8) * 32 + 32 + 8 * 4 + 4, vl: 16 });
    expect(learner.unsupported!(49, 4)).toMatch(/built for 4 inputs/);
    expect(learner.unsupported!(4, 3)).toBeNull();
    expect(model.size).toBe((4 + 2 * 4 + 8) * 32 + 32 + 8 * 4 + 4);
  });
});
