// The WASM gradient engine against the tfjs reference (segmentedValueAndGrad over core's runEpisode).
import { TaskFamily, createFastGradEngine, fastGradUnsupported, parseModelConfigForTest, segmentedValueAndGrad, vsmlModel } from './fast-grad-imports.js';
import { maxAbs, maxAbsDiff, tinyTasks, useBackend } from './helpers.js';

useBackend('cpu');

const cases: [string, Record<string, unknown>, number | undefined][] = [
  ['default messages, whole episode', {}, undefined],
  ['segments of 2 steps', {}, 2],
  ['feedLabel, 3 micro ticks, output slot 2', { feedLabel: true, microTicks: 3, outputIdx: 2 }, 4],
  ['tanh bound off', { tanhBound: null }, 3],
];

describe.each(cases)('fast gradient engine: %s', (_n, over, seg) => {
  it('matches the tfjs meta-loss and gradient', async () => {
    const model = vsmlModel({ config: { layers: [{ in: 4, out: 2 }], ...over } });
    const tasks = new TaskFamily(tinyTasks({ length: 9 }));
    for (const step of [0, 5]) {
      const tb = tasks.batch(step);
      const theta = model.initVector(step + 3);
      // larger weights make the dynamics less trivial
      for (let i = 0; i < theta.length; i++) theta[i] = theta[i]! * 2;
      const ref = await segmentedValueAndGrad(model, theta, tb.batch, tb.seeds, 1000);
      const fast = await createFastGradEngine(model, seg === undefined ? {} : { segmentSteps: seg })(theta, tb.batch, tb.seeds);
      expect(Math.abs(fast.loss - ref.loss)).toBeLessThan(2e-5);
      expect(fast.accuracy).toBeCloseTo(ref.accuracy, 6);
      expect(maxAbsDiff(fast.grad, ref.grad)).toBeLessThan(2e-4 * maxAbs(ref.grad));
    }
  });
});

it('stopErrorGradient matches the tfjs path with the same option', async () => {
  const model = vsmlModel({ config: { layers: [{ in: 4, out: 2 }] }, stopErrorGradient: true });
  const tb = new TaskFamily(tinyTasks({ length: 7 })).batch(2);
  const theta = model.initVector(1).map((v) => v * 2);
  const ref = await segmentedValueAndGrad(model, theta, tb.batch, tb.seeds, 1000);
  const fast = await createFastGradEngine(model)(theta, tb.batch, tb.seeds);
  expect(maxAbsDiff(fast.grad, ref.grad)).toBeLessThan(2e-4 * maxAbs(ref.grad));
});

it('states what it does not support', () => {
  expect(fastGradUnsupported(parseModelConfigForTest({ layerNorm: true }))).toMatch(/layer norm/);
  expect(fastGradUnsupported(parseModelConfigForTest({ layers: [{ in: 4, out: 3 }, { in: 3, out: 2 }] }))).toMatch(/one dense layer/);
  expect(fastGradUnsupported(parseModelConfigForTest({}))).toBeNull();
});

describe('Meta RNN WASM engine', () => {
  it.each([[8, 2], [12, 3]])('matches the tfjs meta-loss and gradient (H %i, %i micro ticks)', async (H, MT) => {
    const { metaRnnModel, createMetaRnnGradEngine } = await import('./fast-grad-imports.js');
    const model = metaRnnModel({ inputDim: 4, numClasses: 4, hidden: H, microTicks: MT });
    const tb = new TaskFamily(tinyTasks({ length: 9, labelWidth: 4 })).batch(4);
    const theta = model.initVector(5).map((v) => v * 2);
    const ref = await segmentedValueAndGrad(model, theta, tb.batch, tb.seeds, 1000);
    const fast = await createMetaRnnGradEngine(model)(theta, tb.batch, tb.seeds);
    expect(Math.abs(fast.loss - ref.loss)).toBeLessThan(2e-5);
    expect(fast.accuracy).toBeCloseTo(ref.accuracy, 6);
    expect(maxAbsDiff(fast.grad, ref.grad)).toBeLessThan(2e-4 * maxAbs(ref.grad));
  });
});
