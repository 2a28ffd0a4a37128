import { tf } from '@vsml/core';
import { Rng } from '@vsml/rng';
import { layerConstants, networkTargets, sgdStep, subRnnTargets, emulatedForward, type Aggregation } from '../src/index.js';
import { maxDiff, useBackend } from './helpers.js';

useBackend();

const emulation = { eta: 0.7, biasEta: 0.3 };

function randomNet(sizes: number[], R: number, seed: number): { w: tf.Tensor[]; b: tf.Tensor[]; x: tf.Tensor; y: tf.Tensor } {
  const rng = Rng.fromSeed(seed);
  const arr = (n: number, s: number): Float32Array => rng.fillNormal(new Float32Array(n), 0, s);
  const w: tf.Tensor[] = [];
  const b: tf.Tensor[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const I = sizes[l]!;
    const O = sizes[l + 1]!;
    w.push(tf.tensor3d(arr(R * I * O, 3), [R, I, O]));
    b.push(tf.tensor3d(arr(R * I * O, 1), [R, I, O]));
  }
  const x = tf.tensor2d(arr(R * sizes[0]!, 2), [R, sizes[0]!]);
  const labels = new Int32Array(R);
  for (let r = 0; r < R; r++) labels[r] = rng.int(0, sizes[sizes.length - 1]!);
  return { w, b, x, y: tf.tensor1d(labels, 'int32') };
}

describe('layerConstants', () => {
  test('mean aggregation: per-layer learning rates and error factors', () => {
    const k = layerConstants([784, 32, 10], { eta: 1, biasEta: null }, 'mean');
    expect(k.errorOut[1]).toBeCloseTo(1);
    expect(k.errorIn[1]).toBeCloseTo(32 / 10);
    expect(k.errorIn[0]).toBeCloseTo((32 / 10) * (784 / 32));
    expect(k.lr[1]).toBeCloseTo(32);
    expect(k.lr[0]).toBeCloseTo((784 * 32) / 10);
    expect(k.biasLr).toEqual(k.lr);
  });
  test('sum aggregation is exact backprop with learning rate η', () => {
    const k = layerConstants([5, 4, 3], { eta: 0.1, biasEta: 0.2 }, 'sum');
    expect(k.errorIn).toEqual([1, 1]);
    expect(k.lr).toEqual([0.1, 0.1]);
    expect(k.biasLr).toEqual([0.2, 0.2]);
  });
});

describe.each<[string, number[], Aggregation]>([
  ['shallow, mean', [5, 3], 'mean'],
  ['deep, mean', [6, 4, 3], 'mean'],
  ['deep, sum', [6, 4, 3], 'sum'],
  ['three layers, mean', [5, 4, 4, 2], 'mean'],
])('networkTargets (%s): tf.grad targets = the per-sub-RNN rule composed', (_n, sizes, aggregation) => {
  test('forward, backward and update targets', () => {
    const R = 3;
    const net = randomNet(sizes, R, 7);
    const gt = networkTargets({ w: net.w, b: net.b }, net.x, net.y, emulation, { aggregation, errorScale: 1.5 });
    const L = sizes.length - 1;
    const C = sizes[L]!;
    tf.tidy(() => {
      // forward: y_ℓ = α Σ_a tanh(x_a) w_ab + b_ab
      let h = net.x;
      const ins: tf.Tensor[] = [];
      for (let l = 0; l < L; l++) {
        ins.push(h);
        const I = sizes[l]!;
        const per = tf.add(tf.mul(tf.expandDims(tf.tanh(h), 2), net.w[l]!), net.b[l]!); // [R, I, O]
        h = aggregation === 'mean' ? tf.mean(per, 1) : tf.sum(per, 1);
        void I;
        expect(maxDiff(gt.acts[l]!, h)).toBeLessThan(1e-4);
      }
      const err = tf.mul(tf.sub(tf.softmax(h), tf.oneHot(net.y, C).toFloat()), 1.5);
      expect(maxDiff(gt.outError, err)).toBeLessThan(1e-5);
      // backward through the sub-RNN rule: e'_a = β Σ_b e_b w_ab (1 − tanh² x_a); Δw = −η e_b tanh x_a; Δb = −η_b e_b
      let e = err;
      for (let l = L - 1; l >= 0; l--) {
        expect(maxDiff(gt.errOut[l]!, e)).toBeLessThan(1e-4);
        const x = ins[l]!;
        const t = subRnnTargets(tf.expandDims(x, 2), tf.expandDims(e, 1), net.w[l]!, net.b[l]!, emulation);
        const back = aggregation === 'mean' ? tf.mean(t.eBack, 2) : tf.sum(t.eBack, 2);
        expect(maxDiff(gt.dw[l]!, t.dw)).toBeLessThan(1e-4);
        expect(maxDiff(gt.db[l]!, tf.broadcastTo(t.db, t.dw.shape))).toBeLessThan(1e-4);
        expect(maxDiff(gt.errIn[l]!, back)).toBeLessThan(1e-3);
        e = back;
      }
    });
    tf.dispose([...net.w, ...net.b, net.x, net.y, ...Object.values(gt).flat()]);
  });
});

test('sgdStep = the mean over the batch of the per-row rule (what merging B rows does)', () => {
  const R = 4;
  const sizes = [5, 4, 3];
  const net = randomNet(sizes, 1, 3);
  const shared = { w: net.w.map((t) => tf.squeeze(t, [0])), b: net.b.map((t) => tf.squeeze(t, [0])) };
  const rng = Rng.fromSeed(9);
  const x = tf.tensor2d(rng.fillNormal(new Float32Array(R * 5)), [R, 5]);
  const y = tf.tensor1d([0, 2, 1, 2], 'int32');
  const st = sgdStep(shared.w, shared.b, x, y, emulation, { aggregation: 'mean' });
  const rows = { w: shared.w.map((t) => tf.broadcastTo(tf.expandDims(t, 0), [R, ...t.shape])), b: shared.b.map((t) => tf.broadcastTo(tf.expandDims(t, 0), [R, ...t.shape])) };
  const gt = networkTargets(rows, x, y, emulation);
  for (let l = 0; l < 2; l++) {
    expect(maxDiff(st.w[l]!, tf.add(shared.w[l]!, tf.mean(gt.dw[l]!, 0)))).toBeLessThan(1e-4);
    expect(maxDiff(st.b[l]!, tf.add(shared.b[l]!, tf.mean(gt.db[l]!, 0)))).toBeLessThan(1e-4);
  }
  expect(maxDiff(st.logits, emulatedForward(rows, x)[1]!)).toBeLessThan(1e-4);
});
