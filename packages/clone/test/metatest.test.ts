import { tf } from '@vsml/core';
import { cloneModelConfig, improveClone, metaTestClone, searchIndices, type MetaTestRun } from '../src/index.js';
import { randomVm, useBackend } from './helpers.js';

useBackend();

const model = { slowSize: 8, msgSize: 3, microTicks: 2 };
const pre = { resize: [4, 4] as [number, number] };
const vm = randomVm(cloneModelConfig(model, [16, 10]), 11);

describe('metaTestClone', () => {
  test('writes results in the report schema, clone next to SGD, per seed', async () => {
    const runs: MetaTestRun[] = [];
    const before = tf.memory().numTensors;
    const { results } = await metaTestClone({
      vm,
      model,
      emulation: { eta: 1 },
      spec: { datasets: ['random'], preprocess: pre, steps: 12, innerBatch: 3, seeds: [1, 2], evalEvery: 5, evalCount: 20, segment: 7, chunkRows: 2 },
      command: 'test',
      onRun: (r) => void runs.push(r),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(results.map((r) => r.learner)).toEqual(['vsml-clone', 'sgd-emulated']);
    const r = results[0]!;
    expect(r).toMatchObject({ kind: 'vsml-metatest', version: 1, dataset: 'random', steps: 12, seeds: [1, 2], command: 'test' });
    expect(r.onlineAccuracy.mean).toHaveLength(12);
    expect(r.testAccuracy!.steps).toEqual([0, 5, 10, 12]);
    expect(Object.keys(r.summary)).toEqual(expect.arrayContaining(['test', 'final', 'recent']));
    expect(r.vmCount).toBe(vm.length);
    expect(runs).toHaveLength(4);
    // the cumulative online accuracy is the running mean of the per-step correctness
    const clones = runs.filter((x) => x.learner === 'vsml-clone');
    expect(clones.map((x) => x.seed)).toEqual([1, 2]);
    const mean = (a: Float32Array): number => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
    expect(Math.abs(r.onlineAccuracy.mean[11]! - (mean(clones[0]!.correct) + mean(clones[1]!.correct)) / 2)).toBeLessThan(1e-6);
    expect(r.summary['final']!.mean).toBeCloseTo(r.onlineAccuracy.mean[11]!, 6);
  });

  test('same seed, same numbers', async () => {
    const spec = { datasets: ['random'], preprocess: pre, steps: 4, innerBatch: 2, seeds: [3], evalEvery: 2, evalCount: 10, sgd: { enabled: false } };
    const a = await metaTestClone({ vm, model, spec });
    const b = await metaTestClone({ vm, model, spec });
    expect(a.runs[0]!.loss).toEqual(b.runs[0]!.loss);
    expect(a.results).toHaveLength(1);
  });
});

describe('metaTestClone with worker threads', () => {
  // the workers load the built dist/metatest-worker.mjs (the test script builds the package first)
  test('2 workers: results and runs bit-identical to 1 worker, onRun in spec order', async () => {
    const spec = { datasets: ['random', 'sum'], preprocess: pre, steps: 5, innerBatch: 2, seeds: [1, 2, 3], evalEvery: 2, evalCount: 10 };
    const order: string[] = [];
    const one = await metaTestClone({ vm, model, spec, command: 'x' });
    const before = tf.memory().numTensors;
    const two = await metaTestClone({ vm, model, spec, command: 'x', workers: 2, onRun: (r) => void order.push(`${r.learner} ${r.dataset} ${r.seed}`) });
    expect(tf.memory().numTensors).toBe(before);
    expect(two.results).toEqual(one.results);
    expect(two.runs.map(({ elapsedMs: _e, ...r }) => r)).toEqual(one.runs.map(({ elapsedMs: _e, ...r }) => r));
    expect(one.results.map((r) => [r.learner, r.dataset])).toEqual([
      ['vsml-clone', 'random'],
      ['sgd-emulated', 'random'],
      ['vsml-clone', 'sum'],
      ['sgd-emulated', 'sum'],
    ]);
    expect(order.slice(0, 4)).toEqual(['vsml-clone random 1', 'sgd-emulated random 1', 'vsml-clone random 2', 'sgd-emulated random 2']);
    await expect(metaTestClone({ vm, model, spec: { ...spec, datasets: ['nope'] }, workers: 2 })).rejects.toThrow(/nope/);
    await expect(metaTestClone({ vm, model, spec, workers: 0 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});

describe('improveClone', () => {
  test('sep-CMA-ES around the clone: history, checkpoints, resume', async () => {
    const spec = { generations: 2, popSize: 4, sigma0: 0.05, params: 'biases' as const, steps: 3, innerBatch: 2, dataset: 'random', preprocess: pre, fitnessWindow: 0.5, seed: 2 };
    const config = cloneModelConfig(model, [16, 10]);
    expect(searchIndices(config, 'biases').length).toBeLessThan(vm.length);
    expect(searchIndices(config, 'all').length).toBe(vm.length);
    const ckpts: unknown[] = [];
    const before = tf.memory().numTensors;
    const r = await improveClone({ vm, model, spec, onCheckpoint: (c) => void ckpts.push(structuredClone(c.optimizer)) });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.history).toHaveLength(2);
    expect(r.history[0]!.kind).toBe('improve');
    expect(Number.isFinite(r.history[1]!.baseline)).toBe(true);
    expect(r.vm).toHaveLength(vm.length);
    expect(ckpts).toHaveLength(2);
    // the best is the lowest fitness evaluated (candidates, the unchanged clone, the mean), never worse than the start
    const evaluated = r.history.flatMap((h) => [h.best, h.baseline, h.meanFitness]);
    expect(r.bestFitness).toBe(Math.min(...evaluated));
    for (const h of r.history) expect(r.bestFitness).toBeLessThanOrEqual(h.baseline);
    // weights outside the search space are the clone's
    const idx = new Set(searchIndices(config, 'biases'));
    for (let i = 0; i < vm.length; i++) if (!idx.has(i)) expect(r.vm[i]).toBe(vm[i]);
    // resume from the first checkpoint: the second generation is the same
    const resumed = await improveClone({ vm, model, spec, resume: { optimizer: ckpts[0] } });
    expect(resumed.history[1]).toEqual({ ...r.history[1]!, elapsedMs: resumed.history[1]!.elapsedMs });
    expect(Array.from(resumed.vm)).toEqual(Array.from(r.vm));
    // the best point so far is in the checkpoint: "best" is the best of the whole run, not since the resume
    const first = ckpts[0] as { best: { x: number[]; f: number } };
    const h0 = r.history[0]!;
    expect(first.best.f).toBe(Math.min(h0.best, h0.baseline, h0.meanFitness));
    expect(resumed.bestFitness).toBe(r.bestFitness);
    expect(Array.from(resumed.best)).toEqual(Array.from(r.best));
    // a resume whose first generation is much better than anything after it keeps that one as the best
    const rigged = { ...first, best: { x: first.best.x, f: -1 } };
    const kept = await improveClone({ vm, model, spec, resume: { optimizer: rigged } });
    expect(kept.bestFitness).toBe(-1);
    // a best point of the wrong size is refused
    await expect(improveClone({ vm, model, spec, resume: { optimizer: { ...first, best: { x: [1, 2], f: 0 } } } })).rejects.toMatchObject({ code: 'CHECKPOINT_MISMATCH' });
  });

  test('refuses Fashion-MNIST', async () => {
    await expect(improveClone({ vm, model, spec: { dataset: 'fashion_mnist' } })).rejects.toMatchObject({ code: 'FORBIDDEN_DATASET' });
  });
});
