// The gradient path: segment recomputation gives the same meta-gradient as one tape over the episode (and as
// core's paramValueAndGrads), for VSML and the Meta RNN; memory stays flat as T grows.
import { tf, episodeLoss, paramValueAndGrads, unflattenParams, disposeParams } from '@vsml/core';
import { TaskFamily, metaRnnModel, segmentedValueAndGrad, sizedConfig, vsmlModel, fullGradEstimator } from '../src/index.js';
import { TINY_VSML, maxAbs, maxAbsDiff, tinyTasks, useBackend } from './helpers.js';

useBackend('cpu');

describe('segmentedValueAndGrad: VSML', () => {
  const model = vsmlModel({ config: TINY_VSML });
  const tasks = new TaskFamily(tinyTasks({ length: 9 }));
  const tb = tasks.batch(3);
  const theta = model.initVector(1);

  it('equals core paramValueAndGrads through episodeLoss (one segment)', async () => {
    const whole = await segmentedValueAndGrad(model, theta, tb.batch, tb.seeds, 1000);
    const cfg = sizedConfig(model.config, tb.batch.dim, tb.batch.numClasses);
    const params = unflattenParams(cfg, theta);
    const { value, grads } = paramValueAndGrads(params, (p) =>
      episodeLoss(p, cfg, { inputs: tb.batch.x, labels: tb.batch.y, steps: 9, population: 3 }, { seed: 0, memberKeys: tb.seeds }),
    );
    const v = value.dataSync()[0]!;
    const flat = tf.tidy(() => tf.concat(Object.keys(params).map((n) => tf.reshape(grads[n]!, [-1])))).dataSync();
    // core's param order is the layout order, which is the flat order
    expect(Math.abs(whole.loss - v)).toBeLessThan(1e-6);
    expect(maxAbsDiff(whole.grad, flat)).toBeLessThan(1e-6 * Math.max(1, maxAbs(flat)));
    value.dispose();
    disposeParams(grads);
    disposeParams(params);
  });

  it.each([1, 2, 4])('segments of %i steps give the same loss and gradient', async (S) => {
    const whole = await segmentedValueAndGrad(model, theta, tb.batch, tb.seeds, 1000);
    const seg = await segmentedValueAndGrad(model, theta, tb.batch, tb.seeds, S);
    expect(Math.abs(seg.loss - whole.loss)).toBeLessThan(1e-6);
    expect(seg.accuracy).toBeCloseTo(whole.accuracy, 6);
    expect(maxAbsDiff(seg.grad, whole.grad)).toBeLessThan(2e-5 * Math.max(1, maxAbs(whole.grad)));
    expect(maxAbs(whole.grad)).toBeGreaterThan(0);
  });

  it('leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    await segmentedValueAndGrad(model, theta, tb.batch, tb.seeds, 2);
    await segmentedValueAndGrad(model, theta, tb.batch, tb.seeds, 100);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('peak memory is flat in T with segments, grows without', async () => {
    const peak = async (T: number, S: number): Promise<number> => {
      const t = new TaskFamily(tinyTasks({ length: T, maxClasses: 2 }));
      const b = t.batch(0);
      const info = await tf.profile(async () => {
        await segmentedValueAndGrad(model, theta, b.batch, b.seeds, S);
      });
      return info.peakBytes;
    };
    const s8 = await peak(8, 4);
    const s32 = await peak(32, 4);
    const w8 = await peak(8, 1000);
    const w32 = await peak(32, 1000);
    expect(s32 / s8).toBeLessThan(1.3);
    expect(w32 / w8).toBeGreaterThan(2.5);
  });
});

describe('segmentedValueAndGrad: Meta RNN', () => {
  const tasks = new TaskFamily(tinyTasks({ labelWidth: 4 }));
  const tb = tasks.batch(1);
  const model = metaRnnModel({ inputDim: 4, numClasses: 4, hidden: 6 });
  const theta = model.initVector(2);

  it('segments give the same gradient, which matches central differences', async () => {
    const whole = await segmentedValueAndGrad(model, theta, tb.batch, tb.seeds, 1000);
    const seg = await segmentedValueAndGrad(model, theta, tb.batch, tb.seeds, 3);
    expect(maxAbsDiff(seg.grad, whole.grad)).toBeLessThan(1e-5 * Math.max(1, maxAbs(whole.grad)));
    // directional derivative along the gradient, float32 central differences
    const n = Math.sqrt(whole.grad.reduce((a, g) => a + g * g, 0));
    const dir = whole.grad.map((g) => g / n);
    const eps = 1e-2;
    const lossAt = async (s: number): Promise<number> =>
      (await segmentedValueAndGrad(model, theta.map((v, i) => v + s * eps * dir[i]!), tb.batch, tb.seeds)).loss;
    const fd = ((await lossAt(1)) - (await lossAt(-1))) / (2 * eps);
    expect(fd).toBeCloseTo(n, 2);
  });
});

describe('fullGradEstimator', () => {
  it('draws tasks per step and returns finite gradients with metrics', async () => {
    const model = vsmlModel({ config: TINY_VSML });
    const est = fullGradEstimator({ model, tasks: new TaskFamily(tinyTasks()), segmentSteps: 4 });
    const out = await est.estimate(model.initVector(0), { step: 0, seed: 1 });
    expect(out.grad!.length).toBe(model.size);
    expect(out.meanLoss).toBeGreaterThan(0);
    expect([2, 3]).toContain(out.metrics['classes']);
  });
});
