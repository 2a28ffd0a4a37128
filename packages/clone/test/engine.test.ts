// The clone's step on core's forward engine (createCloneEngine: merging, zero stale backward messages, per-row
// scaled error) against the tfjs reference (cloneStep / predictLogits), and metaTestClone on both engines.
import { tf, disposePreparedModel, disposeState, initState, prepareModel, unflattenParams, disposeParams, type VlState } from '@vsml/core';
import { Rng } from '@vsml/rng';
import { calibrateClone, cloneMemberBytes, cloneModelConfig, cloneStep, createCloneEngine, EngineFitness, fitnessOf, improveClone, metaTestClone, predictLogits, tidy, type FitnessEpisode } from '../src/index.js';
import { randomVm, useBackend } from './helpers.js';

useBackend();

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

describe('clone step: forward engine == cloneStep (tfjs)', () => {
  // the clone's model (slow 32, msg 8, clip ±4, outputIdx 0, backwardPass, merge 1) on a tiny 2-layer network
  test.each([
    ['merge 1 (the clone preset)', {}],
    ['merge 0.5, 1 micro tick', { innerBatchMerge: 0.5, microTicks: 1 }],
    ['separate reverse-tick LSTM (the update-circuit preset)', { separateBackwardRnn: true }],
  ])('%s: logits, state and predictions over 4 steps', (_n, extra) => {
    const config = cloneModelConfig(extra, [6, 5, 3]);
    const vm = randomVm(config, 4);
    const B = 4;
    const T = 4;
    const errorScale = 0.7;
    const params = unflattenParams(config, vm);
    const model = prepareModel(params, config);
    const before = tf.memory().numTensors;
    const rng = Rng.fromSeed(9);
    const xs = rng.fillNormal(new Float32Array(T * B * 6));
    const ys = Int32Array.from({ length: T * B }, () => rng.int(0, 3));
    const engine = createCloneEngine(config, vm, B, errorScale, 17);
    let state: VlState = initState(config, { population: 1, innerBatch: B, seed: 17 });
    for (let t = 0; t < T; t++) {
      const x = xs.subarray(t * B * 6, (t + 1) * B * 6);
      const y = ys.subarray(t * B, (t + 1) * B);
      const got = engine.runEpisode(x, y);
      const prev = state;
      const r = tidy(() => {
        const s = cloneStep(model, prev, tf.tensor2d(x, [B, 6]), tf.tensor1d(y, 'int32'), { errorScale });
        return { state: s.state, logits: s.logits };
      });
      state = r.state;
      disposeState(prev, state);
      expect(maxRel(got.logits, r.logits.dataSync())).toBeLessThan(1e-5);
      r.logits.dispose();
    }
    config.layers.forEach((_, l) => {
      const s = engine.getState(l);
      expect(maxRel(s.c, state.layers[l]!.c.dataSync())).toBeLessThan(1e-5);
      expect(maxRel(s.h, state.layers[l]!.h.dataSync())).toBeLessThan(1e-5);
    });
    const xt = rng.fillNormal(new Float32Array(7 * 6));
    const lt = tidy(() => predictLogits(model, state, tf.tensor2d(xt, [7, 6])));
    expect(maxRel(engine.predict(xt), lt.dataSync())).toBeLessThan(1e-5);
    lt.dispose();
    disposeState(state);
    expect(tf.memory().numTensors).toBe(before);
    disposePreparedModel(model);
    disposeParams(params);
  });
});

describe('metaTestClone: engine wasm == engine tfjs', () => {
  test('same online losses, correctness and test accuracies', async () => {
    const model = { slowSize: 8, msgSize: 4, microTicks: 2 };
    const vm = randomVm(cloneModelConfig(model, [16, 10]), 11);
    const spec = { datasets: ['random'], preprocess: { resize: [4, 4] as [number, number] }, steps: 6, innerBatch: 3, seeds: [2], evalEvery: 3, evalCount: 12, errorScale: 0.8, sgd: { enabled: false } };
    const before = tf.memory().numTensors;
    const w = await metaTestClone({ vm, model, spec, engine: 'wasm' });
    const t = await metaTestClone({ vm, model, spec, engine: 'tfjs' });
    expect(tf.memory().numTensors).toBe(before);
    const [a, b] = [w.runs[0]!, t.runs[0]!];
    expect(maxRel(a.loss, b.loss)).toBeLessThan(1e-5);
    expect(Array.from(a.correct)).toEqual(Array.from(b.correct));
    expect(a.testSteps).toEqual(b.testSteps);
    expect(a.testAccuracy).toEqual(b.testAccuracy);
    expect(maxRel(a.testLoss, b.testLoss)).toBeLessThan(1e-5);
  });
});

describe('improveClone: engine wasm == engine tfjs', () => {
  const model = { slowSize: 8, msgSize: 4, microTicks: 2 };
  const config = cloneModelConfig(model, [6, 5, 3]);
  const spec = { steps: 7, innerBatch: 3, fitnessWindow: 0.5, errorScale: 0.8, chunkRows: 16 };
  // segments of 3 steps: the engine's chunks cross segment boundaries
  const rng = Rng.fromSeed(5);
  const segs = Array.from({ length: 3 }, () => ({ x: rng.fillNormal(new Float32Array(3 * 3 * 6)), y: Int32Array.from({ length: 9 }, () => rng.int(0, 3)) }));
  const ep: FitnessEpisode = { segment: 3, data: (k) => segs[k]!, stateSeed: 23 };
  const vms = [0, 1, 2, 3, 4].map((s) => randomVm(config, 30 + s));

  test('fitness of P members with their own V_M == fitnessOf one by one (any grouping)', async () => {
    const before = tf.memory().numTensors;
    const ref = vms.map((v) => fitnessOf(v, config, ep, spec));
    expect(tf.memory().numTensors).toBe(before);
    const all = await new EngineFitness(config, spec).evaluate(vms, ep);
    expect(maxRel(all, ref)).toBeLessThan(1e-4);
    // groups of 2 (2 + 2 + 1 members): bit-identical to one group
    const small = new EngineFitness(config, spec, 2.5 * cloneMemberBytes(config, spec.innerBatch));
    expect(small.maxMembers).toBe(2);
    const done: number[] = [];
    expect(await small.evaluate(vms, ep, (d) => void done.push(d))).toEqual(all);
    expect(done).toEqual([2, 4, 5]);
    expect(new Set(all).size).toBe(vms.length);
  });

  test('a short run: the same CMA-ES trajectory on both engines', async () => {
    const vm = randomVm(config, 12);
    const run = { generations: 3, popSize: 5, sigma0: 0.3, params: 'biases' as const, steps: 5, innerBatch: 2, dataset: 'random', hidden: [5], preprocess: { resize: [3, 2] as [number, number] }, fitnessWindow: 0.6, seed: 4, segment: 2 };
    const before = tf.memory().numTensors;
    const w = await improveClone({ vm, model, spec: run, engine: 'wasm' });
    const t = await improveClone({ vm, model, spec: run, engine: 'tfjs' });
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(w.vm)).toEqual(Array.from(t.vm));
    expect(Array.from(w.best)).toEqual(Array.from(t.best));
    const keys = ['baseline', 'meanFitness', 'best', 'median', 'worst'] as const;
    expect(maxRel(w.history.flatMap((h) => keys.map((k) => h[k])), t.history.flatMap((h) => keys.map((k) => h[k])))).toBeLessThan(1e-4);
    expect(w.history.map((h) => h.sigma)).toEqual(t.history.map((h) => h.sigma));
  });
});

describe('calibrateClone: engine wasm == engine tfjs', () => {
  test('shallow: the same gains, errors and scales', () => {
    const model = { slowSize: 8, msgSize: 4, microTicks: 2 };
    const hidden: number[] = [];
    const vm = randomVm(cloneModelConfig(model, [16, ...hidden, 10]), 21);
    const opts = { vm, model, emulation: { eta: 1 }, dataset: 'random', preprocess: { resize: [4, 4] as [number, number] }, hidden, steps: 5, innerBatch: 3, rounds: 2, seed: 3 };
    const before = tf.memory().numTensors;
    const w = calibrateClone({ ...opts, engine: 'wasm' });
    const t = calibrateClone({ ...opts, engine: 'tfjs' });
    expect(tf.memory().numTensors).toBe(before);
    expect(w.rounds.length).toBe(t.rounds.length);
    const nums = (c: typeof w): number[] => [c.errorScale, ...c.rounds.flatMap((r) => [r.errorScale, r.gain, r.relError, r.rate])];
    expect(nums(w).every(Number.isFinite)).toBe(true);
    expect(maxRel(nums(w), nums(t))).toBeLessThan(1e-3);
  });
});

test('calibrateClone: engine wasm refuses hidden layers (tfjs is the default there)', () => {
  const model = { slowSize: 8, msgSize: 4, microTicks: 2 };
  const vm = randomVm(cloneModelConfig(model, [16, 5, 10]), 21);
  const opts = { vm, model, dataset: 'random', preprocess: { resize: [4, 4] as [number, number] }, hidden: [5], steps: 2, innerBatch: 2, rounds: 1 };
  expect(() => calibrateClone({ ...opts, engine: 'wasm' })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  expect(calibrateClone(opts).rounds).toHaveLength(1);
});
