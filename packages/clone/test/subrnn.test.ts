import { tf, initParamVector, randomCellDims } from '@vsml/core';
import { Rng } from '@vsml/rng';
import {
  FlatAdam,
  SubRnnStageSchema,
  EmulationSchema,
  OptimizerSchema,
  cloneModelConfig,
  drawWindow,
  emptyPool,
  initPoolRow,
  parseWith,
  scheduledLr,
  subRnnIteration,
  subRnnWindowLoss,
  smoothL1,
} from '../src/index.js';
import { maxDiff, useBackend } from './helpers.js';

useBackend();

const emulation = parseWith(EmulationSchema, { eta: 1, scale: 20 }, 'emulation');

test('pool rows: storage slots drawn in stored units, other random dims as initState, h = 0', () => {
  const config = cloneModelConfig({ slowSize: 8 }, [1, 1]);
  const stage = parseWith(SubRnnStageSchema, { kind: 'subrnn', name: 's', iterations: 1, batch: 4, data: { wStd: [0.5, 0.5], bStd: [0.1, 0.1], fanIn: [100, 100] } }, 'stage');
  const pool = emptyPool(4, 8);
  const rng = Rng.fromSeed(1);
  for (let r = 0; r < 4; r++) initPoolRow(pool, r, rng, config, stage, emulation);
  expect(randomCellDims(config)).toBe(4);
  for (let r = 0; r < 4; r++) {
    expect(Array.from(pool.h.subarray(r * 8, r * 8 + 8))).toEqual(new Array(8).fill(0));
    expect(Array.from(pool.c.subarray(r * 8 + 4, r * 8 + 8))).toEqual([0, 0, 0, 0]);
    for (const j of [2, 3]) expect(Math.abs(pool.c[r * 8 + j]!)).toBeLessThanOrEqual(0.2 + 1e-6); // 2σ, σ = 1/sqrt(100)
    expect(pool.age[r]).toBe(0);
  }
  const win = drawWindow(Rng.fromSeed(2), pool, { ...stage, window: 3, warmup: 1 });
  expect(win.x).toHaveLength(12);
  expect(Array.from(win.mask)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
});

test('a few iterations on tiny sub-RNNs lower the loss; no tensor leak', async () => {
  const config = cloneModelConfig({ slowSize: 8, msgSize: 3 }, [1, 1]);
  const stage = parseWith(SubRnnStageSchema, { kind: 'subrnn', name: 's', iterations: 30, batch: 64, window: 2, resetFraction: 0, optimizer: { lr: 1e-2 } }, 'stage');
  const init = tf.tensor1d(initParamVector(config, 1));
  const v = tf.variable(init);
  init.dispose();
  const adam = new FlatAdam(v, stage.optimizer);
  const pool = emptyPool(64, 8);
  const before = tf.memory().numTensors;
  const losses: number[] = [];
  for (let it = 0; it < 30; it++) losses.push((await subRnnIteration(v, (g) => adam.apply(g), pool, Rng.fromSeed(3, it), config, emulation, stage)).loss);
  expect(tf.memory().numTensors).toBe(before);
  const mean = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length;
  expect(mean(losses.slice(-10))).toBeLessThan(0.8 * mean(losses.slice(0, 3)));
  expect(adam.step).toBe(30);
  const st = adam.toJSON();
  expect(st.m).toHaveLength(v.size);
  adam.dispose();
  v.dispose();
});

test('smoothL1 and the cosine schedule', () => {
  expect(maxDiff(smoothL1(tf.tensor1d([-3, -0.5, 0, 0.5, 2])), [2.5, 0.125, 0, 0.125, 1.5])).toBeLessThan(1e-7);
  const o = parseWith(OptimizerSchema, { lr: 1e-2, lrEnd: 1e-3 }, 'opt');
  expect(scheduledLr(o, 0, 11)).toBeCloseTo(1e-2);
  expect(scheduledLr(o, 5, 11)).toBeCloseTo(5.5e-3);
  expect(scheduledLr(o, 10, 11)).toBeCloseTo(1e-3);
  expect(scheduledLr({ lr: 1, lrEnd: null }, 3, 10)).toBe(1);
});

test('groups: state averaged over each group before every step; group-mean update loss is part of the loss', () => {
  const config = cloneModelConfig({ slowSize: 6, msgSize: 3 }, [1, 1]);
  const flat = tf.tensor1d(initParamVector(config, 2));
  const N = 8;
  const rng = Rng.fromSeed(5);
  const h = tf.tensor2d(rng.fillNormal(new Float32Array(N * 6), 0, 0.3), [N, 6]);
  const c = tf.tensor2d(rng.fillNormal(new Float32Array(N * 6), 0, 0.3), [N, 6]);
  const same = (v: number): Float32Array => new Float32Array(N).fill(v);
  const data = { h, c, x: tf.tensor2d(same(0.7), [1, N]), e: tf.tensor2d(same(0.3), [1, N]), mask: tf.tensor2d(same(1), [1, N]) };
  const loss = parseWith(SubRnnStageSchema, { kind: 'subrnn', name: 's', iterations: 1, batch: 8 }, 's').loss;
  tf.tidy(() => {
    const r = subRnnWindowLoss(flat, config, emulation, loss, data, 4);
    const rows = tf.unstack(r.c);
    // identical inputs within a group after averaging → identical rows; the two groups differ
    expect(maxDiff(rows[0]!, rows[3]!)).toBeLessThan(1e-6);
    expect(maxDiff(rows[4]!, rows[7]!)).toBeLessThan(1e-6);
    expect(maxDiff(rows[0]!, rows[4]!)).toBeGreaterThan(1e-4);
    const withGroup = subRnnWindowLoss(flat, config, emulation, { ...loss, groupUpdate: 1 }, data, 4).loss.dataSync()[0]!;
    expect(withGroup).toBeGreaterThan(r.loss.dataSync()[0]!);
    Object.values(r.sums).forEach((t) => t.dispose());
  });
});
