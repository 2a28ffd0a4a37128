import { tf, initState, initParamVector } from '@vsml/core';
import { Rng } from '@vsml/rng';
import { cloneModelConfig, networkWindowLoss, parseWith, EmulationSchema, LossWeightsSchema } from '../src/index.js';
import { randomVm, useBackend } from './helpers.js';

useBackend();

const emulation = parseWith(EmulationSchema, { eta: 1 }, 'emulation');
const loss = parseWith(LossWeightsSchema, {}, 'loss');

function window(K: number, E: number, D: number, C: number): { xs: tf.Tensor; ys: tf.Tensor } {
  const rng = Rng.fromSeed(4);
  const y = new Int32Array(K * E);
  for (let i = 0; i < y.length; i++) y[i] = rng.int(0, C);
  return { xs: tf.tensor3d(rng.fillNormal(new Float32Array(K * E * D), 0, 2), [K, E, D]), ys: tf.tensor2d(y, [K, E], 'int32') };
}

async function fwdErr(out: { sums: { fwdErr: tf.Tensor }[] }, l: number): Promise<number> {
  return (await out.sums[l]!.fwdErr.data())[0]!;
}

test('local and global targets agree where a layer receives the true messages', async () => {
  const config = cloneModelConfig({ slowSize: 6, msgSize: 3 }, [5, 4, 3]);
  const flat = tf.tensor1d(randomVm(config, 2));
  const state = initState(config, { population: 1, innerBatch: 2, seed: 1 });
  const { xs, ys } = window(2, 2, 5, 3);
  const teacher = { activations: true, errors: true };
  const g = networkWindowLoss(flat, config, emulation, { teacher, targets: 'global', loss }, state, xs, ys);
  const l = networkWindowLoss(flat, config, emulation, { teacher, targets: 'local', loss }, state, xs, ys);
  // layer 0 gets x; with teacher activations layer 1 gets the ground-truth hidden activation
  for (const layer of [0, 1]) expect(Math.abs((await fwdErr(g.out, layer)) - (await fwdErr(l.out, layer)))).toBeLessThan(1e-3);
  // with the network's own messages, layer 1's global and local targets differ
  const own = { activations: false, errors: false };
  const g2 = networkWindowLoss(flat, config, emulation, { teacher: own, targets: 'global', loss }, state, xs, ys);
  const l2 = networkWindowLoss(flat, config, emulation, { teacher: own, targets: 'local', loss }, state, xs, ys);
  expect(Math.abs((await fwdErr(g2.out, 1)) - (await fwdErr(l2.out, 1)))).toBeGreaterThan(1e-4);
  for (const r of [g, l, g2, l2]) expect(Number.isFinite(r.loss.dataSync()[0]!)).toBe(true);
});

test('the loss is differentiable with respect to V_M through merging, both ticks and the teacher paths', () => {
  const config = cloneModelConfig({ slowSize: 4, msgSize: 3 }, [4, 3, 2]);
  const flat = tf.tensor1d(initParamVector(config, 3));
  const state = initState(config, { population: 2, innerBatch: 2, seed: 2 });
  const { xs, ys } = window(2, 4, 4, 2);
  const g = tf.grad((v: tf.Tensor) => networkWindowLoss(v, config, emulation, { teacher: { activations: false, errors: true }, targets: 'global', loss }, state, xs, ys).loss)(flat);
  const v = g.dataSync();
  expect(v.every(Number.isFinite)).toBe(true);
  expect(Math.max(...Array.from(v, Math.abs))).toBeGreaterThan(0);
});
