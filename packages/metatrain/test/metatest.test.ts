// The meta-test protocol: curves and summaries, the result JSON, same streams for every learner, held-out accuracy.
import {
  MetaTestResultSchema,
  metaTest,
  metaTestStreams,
  metaRnnModel,
  onlineLearner,
  summariseRun,
  vsmlModel,
  type Learner,
  type MetaTestConfigInput,
} from '../src/index.js';
import { isMetatrainError } from '../src/errors.js';
import { TINY_VSML, useBackend } from './helpers.js';

useBackend('cpu');

const data: MetaTestConfigInput = { dataset: 'mnist', preprocess: { resize: [2, 2], classes: [3, 8] }, steps: 20, seeds: [1, 2, 3, 4, 5] };

/** A learner that is right at odd steps only (and on the held-out set half of the time). */
const oddLearner: Learner = {
  name: 'odd',
  label: 'odd steps',
  canPredictWithoutLearning: true,
  counts: () => ({ vm: null, vl: 7 }),
  async runEpisodes(b, o) {
    const correct = new Float32Array(b.steps * b.population);
    for (let t = 0; t < b.steps; t++) for (let p = 0; p < b.population; p++) correct[t * b.population + p] = t % 2;
    const held = o.heldOut ? new Float32Array(o.heldOut.atSteps.length * b.population).fill(0.5) : undefined;
    return { correct, loss: new Float32Array(b.steps * b.population).fill(0.25), ...(held ? { heldOutAccuracy: held } : {}) };
  },
};

describe('summariseRun', () => {
  it('computes online accuracy, last100, final and loss per seed', () => {
    const T = 4;
    const S = 2;
    // seed 0: 1 1 0 0 ; seed 1: 0 1 1 1
    const correct = Float32Array.from([1, 0, 1, 1, 0, 1, 0, 1]);
    const loss = Float32Array.from([1, 2, 1, 2, 1, 2, 1, 2]);
    const r = summariseRun(correct, loss, T, S);
    expect(r.onlineAccuracy.mean).toEqual([0.5, 0.75, (2 / 3 + 2 / 3) / 2, (0.5 + 0.75) / 2]);
    expect(r.onlineAccuracy.std[0]).toBeCloseTo(0.5);
    expect(r.summary['final']).toEqual({ mean: 0.5, std: 0.5 });
    expect(r.summary['online']!.mean).toBeCloseTo(0.625);
    expect(r.summary['last100']!.mean).toBeCloseTo(0.625);
    expect(r.summary['loss']).toEqual({ mean: 1.5, std: 0.5 });
  });
});

describe('metaTest', () => {
  it('returns the result JSON of the report, with held-out accuracy where possible', async () => {
    const r = await metaTest({ ...data, learner: oddLearner, testEvery: 5, testCount: 10, command: 'test' });
    expect(MetaTestResultSchema.safeParse(r).success).toBe(true);
    expect(r.onlineAccuracy.mean).toHaveLength(20);
    expect(r.onlineAccuracy.mean[1]).toBeCloseTo(0.5);
    expect(r.onlineAccuracy.mean[19]).toBeCloseTo(0.5);
    expect(r.testAccuracy!.steps).toEqual([5, 10, 15, 20]);
    expect(r.summary['test']).toEqual({ mean: 0.5, std: 0 });
    expect(r.summary['final']!.mean).toBe(1);
    expect(r.summary['online@100']).toBeUndefined();
    expect(r).toMatchObject({ kind: 'vsml-metatest', version: 1, learner: 'odd', dataset: 'mnist', steps: 20, vmCount: null, vlCount: 7, command: 'test' });
  });

  it('gives every learner the same streams, one per seed, and splits seeds into chunks consistently', async () => {
    const a = metaTestStreams({ ...data, split: 'test', population: null, testEvery: null, testCount: 1000, command: '', preprocess: data.preprocess!, seeds: data.seeds! });
    const b = metaTestStreams({ ...data, split: 'test', population: null, testEvery: null, testCount: 1000, command: '', preprocess: data.preprocess!, seeds: data.seeds! });
    expect(a.x).toEqual(b.x);
    expect(a.y).toEqual(b.y);
    expect([a.dim, a.numClasses, a.population]).toEqual([4, 2, 5]);
    const learner = vsmlModel({ config: TINY_VSML }).learner(vsmlModel({ config: TINY_VSML }).initVector(0));
    const whole = await metaTest({ ...data, learner });
    const chunked = await metaTest({ ...data, learner, population: 2 });
    expect(chunked.onlineAccuracy.mean).toEqual(whole.onlineAccuracy.mean);
    expect(whole.testAccuracy).toBeNull();
    expect(whole.vmCount).toBe(vsmlModel({ config: TINY_VSML }).size);
    expect(whole.vlCount).toBe(4 * 2 * 2 * 4);
  });

  it('runs online SGD with held-out accuracy measured on the other split', async () => {
    const r = await metaTest({ ...data, learner: onlineLearner({ model: 'linear', optimizer: 'sgd' }), testEvery: 10, testCount: 50 });
    expect(r.testAccuracy!.steps).toEqual([10, 20]);
    for (const v of r.testAccuracy!.mean) expect(v > 0 && v < 1).toBe(true);
    expect(r.label).toBe('online SGD 0.01, linear');
    expect(r.vlCount).toBe(4 * 2 + 2);
  });

  it('held-out accuracy of online SGD rises with training (3 vs 8 at 2×2: 0.57 after 10 steps, 0.69 after 100)', async () => {
    const r = await metaTest({ ...data, steps: 100, learner: onlineLearner({ model: 'linear', optimizer: 'sgd', lr: 0.1 }), testEvery: 10, testCount: 200 });
    const acc = r.testAccuracy!.mean;
    expect(acc).toHaveLength(10);
    expect(acc[9]!).toBeGreaterThan(acc[0]! + 0.05);
    expect(acc[9]!).toBeGreaterThan(0.62);
    expect(r.summary['test']!.mean).toBeCloseTo(acc[9]!, 9);
  });

  it('rejects fewer than 5 seeds and learners that cannot run on the input size', async () => {
    await expect(metaTest({ ...data, seeds: [1, 2], learner: oddLearner })).rejects.toMatchObject({ name: 'MetatrainError', code: 'BAD_CONFIG' });
    const rnn = metaRnnModel({ inputDim: 49, numClasses: 10, hidden: 4 });
    const e = await metaTest({ ...data, learner: rnn.learner(rnn.initVector(0)) }).catch((x: unknown) => x);
    expect(isMetatrainError(e) && e.code === 'UNSUPPORTED').toBe(true);
  });
});
