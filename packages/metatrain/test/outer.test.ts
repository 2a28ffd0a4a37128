// The outer loop: N steps straight = N/2 + resume + N/2 (bit-identical θ) for the gradient path, ES and sep-CMA-ES,
// VSML (core's checkpoint format) and the Meta RNN (the package's own); metrics, meta-tests, abort, mismatches.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '@vsml/core';
import {
  InProcessEvaluator,
  TaskFamily,
  esEstimator,
  fullGradEstimator,
  metaRnnModel,
  metaTrain,
  sepCmaEstimator,
  vsmlModel,
  type Estimator,
  type MetaModel,
  type MetricsRecord,
} from '../src/index.js';
import { TINY_VSML, tinyTasks, useBackend } from './helpers.js';

useBackend('cpu');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vsml-metatrain-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Setup = () => { model: MetaModel; estimator: Estimator; tasksCfg: ReturnType<typeof tinyTasks>; lr: number };

const vsmlGrad: Setup = () => {
  const tasksCfg = tinyTasks();
  const model = vsmlModel({ config: TINY_VSML });
  return { model, estimator: fullGradEstimator({ model, tasks: new TaskFamily(tasksCfg), segmentSteps: 3 }), tasksCfg, lr: 0.01 };
};
const vsmlEs: Setup = () => {
  const tasksCfg = tinyTasks({ length: 6 });
  const model = vsmlModel({ config: TINY_VSML });
  return { model, estimator: esEstimator({ evaluator: new InProcessEvaluator(model, new TaskFamily(tasksCfg)), pairs: 3 }), tasksCfg, lr: 0.025 };
};
const vsmlSepCma: Setup = () => {
  const tasksCfg = tinyTasks({ length: 6 });
  const model = vsmlModel({ config: TINY_VSML });
  return { model, estimator: sepCmaEstimator({ evaluator: new InProcessEvaluator(model, new TaskFamily(tasksCfg)), popSize: 4, seed: 3 }), tasksCfg, lr: 0 };
};
const metaRnnGrad: Setup = () => {
  const tasksCfg = tinyTasks({ labelWidth: 4 });
  const model = metaRnnModel({ inputDim: 4, numClasses: 4, hidden: 6 });
  return { model, estimator: fullGradEstimator({ model, tasks: new TaskFamily(tasksCfg) }), tasksCfg, lr: 0.01 };
};

describe.each([
  ['VSML, full-grad', vsmlGrad],
  ['VSML, OpenAI-ES', vsmlEs],
  ['VSML, sep-CMA-ES', vsmlSepCma],
  ['Meta RNN, full-grad', metaRnnGrad],
] as const)('resume: %s', (name, setup) => {
  it('N steps straight equal N/2 + resume + N/2 (bit-identical θ and metrics)', async () => {
    const N = 4;
    const run = async (steps: number, file: string, resume: boolean, records: MetricsRecord[]) => {
      const { model, estimator, tasksCfg, lr } = setup();
      return metaTrain({
        model,
        estimator,
        tasks: tasksCfg,
        config: { steps, seed: 5, optimizer: { lr: lr || 1e-3 }, checkpointEvery: 1 },
        checkpointPath: file,
        ...(resume ? { resumeFrom: file } : {}),
        onMetrics: (r) => {
          records.push(r);
        },
      });
    };
    const slug = name.replace(/\W+/g, '-');
    const straightRec: MetricsRecord[] = [];
    const straight = await run(N, join(dir, `${slug}-a.json`), false, straightRec);
    const splitRec: MetricsRecord[] = [];
    const half = await run(N / 2, join(dir, `${slug}-b.json`), false, splitRec);
    expect(half.step).toBe(N / 2);
    const resumed = await run(N, join(dir, `${slug}-b.json`), true, splitRec);
    expect(resumed.step).toBe(N);
    expect(Array.from(resumed.theta)).toEqual(Array.from(straight.theta));
    const losses = (rs: MetricsRecord[]) => rs.filter((r) => r.kind === 'train').map((r) => [r.step, r['loss'], r['lossAvg']]);
    expect(losses(splitRec)).toEqual(losses(straightRec));
    expect(straight.theta.some((v, i) => v !== setup().model.initVector(5)[i])).toBe(true);
  });
});

describe('metaTrain', () => {
  it('writes train + vm checkpoints in core format for VSML, runs periodic meta-tests, reports progress', async () => {
    const { model, estimator, tasksCfg } = vsmlGrad();
    const file = join(dir, 'mt.json');
    const records: MetricsRecord[] = [];
    const progress: number[] = [];
    const tests: number[] = [];
    await metaTrain({
      model,
      estimator,
      tasks: tasksCfg,
      config: { steps: 3, metaTestEvery: 2, checkpointEvery: 2 },
      checkpointPath: file,
      metaTests: [{ dataset: 'mnist', preprocess: { resize: [2, 2] }, steps: 10 }],
      onMetrics: (r) => {
        records.push(r);
      },
      onProgress: (p) => {
        progress.push(p.etaSeconds);
        expect(p.totalSteps).toBe(3);
      },
      onMetaTest: (r, step) => {
        tests.push(step);
        expect(r.steps).toBe(10);
      },
    });
    expect(tests).toEqual([2, 3]);
    expect(progress).toHaveLength(3);
    expect(progress[2]).toBe(0);
    expect(records.map((r) => `${r.kind}@${r.step}`)).toEqual(['train@1', 'train@2', 'metatest@2', 'checkpoint@2', 'train@3', 'checkpoint@3', 'metatest@3']);
    const ck = await loadCheckpoint(file, { kind: 'train' });
    expect(ck.step).toBe(3);
    expect((ck.optimizer as { format: string }).format).toBe('vsml-metatrain/train');
    const vm = await loadCheckpoint(join(dir, 'mt.vm.json'), { kind: 'vm' });
    expect(vm.step).toBe(3);
  });

  it('a run stopped between scheduled checkpoints and resumed writes the metrics records of an uninterrupted run', async () => {
    const kinds = (rs: { kind: string; step: number }[]): string[] => rs.map((r) => `${r.kind}@${r.step}`);
    const straight: { kind: string; step: number }[] = [];
    const a = vsmlGrad();
    await metaTrain({ model: a.model, estimator: a.estimator, tasks: a.tasksCfg, config: { steps: 4, checkpointEvery: 2 }, checkpointPath: join(dir, 'straight.json'), onMetrics: (r) => void straight.push(r) });
    const broken: { kind: string; step: number }[] = [];
    const b = vsmlGrad();
    const ac = new AbortController();
    const file = join(dir, 'stopped.json');
    const r = await metaTrain({
      model: b.model,
      estimator: b.estimator,
      tasks: b.tasksCfg,
      config: { steps: 4, checkpointEvery: 2 },
      checkpointPath: file,
      signal: ac.signal,
      onMetrics: (m) => void broken.push(m),
      onProgress: (p) => void (p.step === 3 && ac.abort()),
    });
    expect(r).toMatchObject({ stopped: 'aborted', step: 3 });
    const c = vsmlGrad();
    await metaTrain({ model: c.model, estimator: c.estimator, tasks: c.tasksCfg, config: { steps: 4, checkpointEvery: 2 }, checkpointPath: file, resumeFrom: file, onMetrics: (m) => void broken.push(m) });
    expect(kinds(broken)).toEqual(kinds(straight));
  });

  it('stops on abort after checkpointing, and refuses to resume another model', async () => {
    const { model, estimator, tasksCfg } = vsmlGrad();
    const file = join(dir, 'abort.json');
    const ac = new AbortController();
    const r = await metaTrain({
      model,
      estimator,
      tasks: tasksCfg,
      config: { steps: 50 },
      checkpointPath: file,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.step === 2) ac.abort();
      },
    });
    expect(r).toMatchObject({ stopped: 'aborted', step: 2 });
    expect(existsSync(file)).toBe(true);
    const other = vsmlModel({ config: { ...TINY_VSML, microTicks: 3 } });
    await expect(
      metaTrain({ model: other, estimator: fullGradEstimator({ model: other, tasks: new TaskFamily(tasksCfg) }), tasks: tasksCfg, config: { steps: 3 }, resumeFrom: file }),
    ).rejects.toMatchObject({ code: 'RESUME_MISMATCH' });
  });
});
