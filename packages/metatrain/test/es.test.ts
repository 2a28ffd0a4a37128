// The evolution path: antithetic pairs share their episode, the OpenAI-ES estimate points along the gradient,
// batched in-process evaluation equals one-at-a-time, and the worker-thread evaluator (built dist) agrees.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  FastEvaluator,
  InProcessEvaluator,
  TaskFamily,
  WorkerEvaluator,
  defaultWorkerModule,
  esEstimator,
  evaluateUnits,
  sepCmaEstimator,
  vsmlModel,
  type EvalUnit,
  type Evaluator,
} from '../src/index.js';
import { TINY_VSML, tinyTasks, useBackend } from './helpers.js';

useBackend('cpu');

/** loss = ||v − target||², records the units it saw */
function quadratic(target: Float32Array, seen: EvalUnit[][] = []): Evaluator {
  return {
    async evaluate(units) {
      seen.push([...units]);
      return Float64Array.from(units.map((u) => u.vmFlat.reduce((s, v, i) => s + (v - target[i]!) ** 2, 0)));
    },
    async close() {},
  };
}

describe('esEstimator', () => {
  it('estimates the gradient direction with antithetic pairs sharing seeds', async () => {
    const n = 20;
    const target = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const seen: EvalUnit[][] = [];
    const est = esEstimator({ evaluator: quadratic(target, seen), pairs: 400, sigma: 0.05 });
    const theta = new Float32Array(n);
    const out = await est.estimate(theta, { step: 0, seed: 11 });
    const exact = Array.from(theta, (v, i) => 2 * (v - target[i]!));
    const g = out.grad!;
    const dot = exact.reduce((s, v, i) => s + v * g[i]!, 0);
    const cos = dot / Math.sqrt(exact.reduce((s, v) => s + v * v, 0) * g.reduce((s, v) => s + v * v, 0));
    expect(cos).toBeGreaterThan(0.9);
    const units = seen[0]!;
    expect(units).toHaveLength(800);
    for (let k = 0; k < 400; k += 37) {
      expect(units[2 * k]!.seed).toBe(units[2 * k + 1]!.seed);
      // θ+σε and θ−σε
      expect(units[2 * k]!.vmFlat[3]! + units[2 * k + 1]!.vmFlat[3]!).toBeCloseTo(0, 6);
    }
    expect(units[0]!.seed).not.toBe(units[2]!.seed);
    expect(out.metrics['usedPairs']).toBe(400);
    // same context → same noise and seeds
    const again = await esEstimator({ evaluator: quadratic(target), pairs: 400 }).estimate(theta, { step: 0, seed: 11 });
    expect(Array.from(again.grad!)).toEqual(Array.from(g));
  });

  it('sep-CMA-ES moves its mean downhill on a quadratic', async () => {
    const n = 6;
    const target = new Float32Array(n).fill(1);
    const est = sepCmaEstimator({ evaluator: quadratic(target), popSize: 8, sigma0: 0.3, seed: 2 });
    let theta: Float32Array = new Float32Array(n);
    const f0 = theta.reduce((s, v, i) => s + (v - target[i]!) ** 2, 0);
    for (let s = 0; s < 40; s++) theta = (await est.estimate(theta, { step: s, seed: s })).theta!;
    expect(theta.reduce((s, v, i) => s + (v - target[i]!) ** 2, 0)).toBeLessThan(0.1 * f0);
  });
});

describe('evaluators', () => {
  const model = vsmlModel({ config: TINY_VSML });
  const tasksCfg = tinyTasks({ length: 6 });
  const tasks = new TaskFamily(tasksCfg);
  const units: EvalUnit[] = [11, 11, 12, 12, 13, 13].map((seed, i) => ({ seed, vmFlat: model.initVector(i) }));

  it('batched in-process evaluation equals one unit at a time; pairs see the same episode', async () => {
    const batched = await new InProcessEvaluator(model, tasks).evaluate(units);
    for (let i = 0; i < units.length; i++) {
      const one = await evaluateUnits(model, tasks, [units[i]!]);
      expect(one[0]).toBeCloseTo(batched[i]!, 5);
    }
    // identical V_M and seed → identical loss
    const twin = await evaluateUnits(model, tasks, [units[0]!, { ...units[0]! }]);
    expect(twin[0]).toBe(twin[1]);
  });

  it('the forward-only WASM evaluator gives the in-process losses (H = 16)', async () => {
    const m16 = vsmlModel({ config: { layers: [{ in: 4, out: 2 }] } });
    const us: EvalUnit[] = [21, 22, 23].map((seed, i) => ({ seed, vmFlat: m16.initVector(i).map((v) => 2 * v) }));
    const a = await new FastEvaluator(m16, tasks).evaluate(us);
    const b = await new InProcessEvaluator(m16, tasks).evaluate(us);
    for (let i = 0; i < us.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 5);
  });

  it('worker threads (built dist) give the in-process losses', async () => {
    // the package's test script builds dist/ first (tsup); a missing build is a failure, never a skipped test
    expect(defaultWorkerModule()).not.toBeNull();
    expect(existsSync(join(__dirname, '../dist/index.js'))).toBe(true);
    const w = new WorkerEvaluator({ model: model.describe(), tasks: tasksCfg, threads: 1, backend: 'cpu' });
    try {
      const a = await w.evaluate(units);
      const b = await new InProcessEvaluator(model, tasks).evaluate(units);
      for (let i = 0; i < units.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 5);
    } finally {
      await w.close();
    }
    const m16 = vsmlModel({ config: { layers: [{ in: 4, out: 2 }] } });
    const us: EvalUnit[] = [31, 32].map((seed, i) => ({ seed, vmFlat: m16.initVector(i) }));
    const wf = new WorkerEvaluator({ model: m16.describe(), tasks: tasksCfg, threads: 1, backend: 'cpu', engine: 'wasm' });
    try {
      const a = await wf.evaluate(us);
      const b = await new InProcessEvaluator(m16, tasks).evaluate(us);
      for (let i = 0; i < us.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 5);
    } finally {
      await wf.close();
    }
  });
});
