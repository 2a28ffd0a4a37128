// Does meta-training learn: a few outer steps of each estimator (full gradient, OpenAI-ES, sep-CMA-ES) through
// metaTrain lower the meta-loss clearly. The tasks are held fixed (one batch / one episode) so that the loss is a
// deterministic function of θ and a few steps suffice; a sign error anywhere in estimator → outer optimiser → θ
// makes the loss rise instead. (On fresh tasks a few steps do not move the loss of these tiny models measurably.)
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
  type TaskFamilyConfigInput,
} from '../src/index.js';
import { TINY_VSML, tinyTasks, useBackend } from './helpers.js';

useBackend('cpu');

/** Every meta-step sees the batch of step 0; every ES/CMA unit seed the episode of unit 0. */
class FixedTasks extends TaskFamily {
  override batch(_step: number, episodes?: number): ReturnType<TaskFamily['batch']> {
    return super.batch(0, episodes);
  }
  override unit(_seed: number): ReturnType<TaskFamily['unit']> {
    return super.unit(0);
  }
}

async function train(model: MetaModel, tasksCfg: TaskFamilyConfigInput, estimator: Estimator, steps: number, lr: number): Promise<{ theta: Float32Array; losses: number[] }> {
  const recs: MetricsRecord[] = [];
  const r = await metaTrain({ model, estimator, tasks: tasksCfg, config: { steps, seed: 5, optimizer: { lr } }, onMetrics: (m) => void recs.push(m) });
  return { theta: r.theta, losses: recs.filter((m) => m.kind === 'train').map((m) => m['loss'] as number) };
}

const unitLoss = async (model: MetaModel, tasks: TaskFamily, vmFlat: Float32Array): Promise<number> => (await new InProcessEvaluator(model, tasks).evaluate([{ seed: 0, vmFlat }]))[0]!;

describe('meta-training lowers the meta-loss (fixed tasks)', () => {
  it('VSML, full gradient: each of 8 Adam steps lowers the loss of the fixed batch (1.099 → 1.009)', async () => {
    const tasksCfg = tinyTasks({ length: 8 });
    const model = vsmlModel({ config: TINY_VSML });
    const { losses } = await train(model, tasksCfg, fullGradEstimator({ model, tasks: new FixedTasks(tasksCfg), segmentSteps: 4 }), 8, 0.1);
    expect(losses).toHaveLength(8);
    for (let k = 1; k < 8; k++) expect(losses[k]!).toBeLessThan(losses[k - 1]!);
    expect(losses[7]!).toBeLessThan(0.95 * losses[0]!);
  });

  it('Meta RNN, full gradient: 8 Adam steps lower the loss of the fixed batch', async () => {
    const tasksCfg = tinyTasks({ length: 8, labelWidth: 4 });
    const model = metaRnnModel({ inputDim: 4, numClasses: 4, hidden: 6 });
    const { losses } = await train(model, tasksCfg, fullGradEstimator({ model, tasks: new FixedTasks(tasksCfg) }), 8, 0.1);
    for (let k = 1; k < 8; k++) expect(losses[k]!).toBeLessThan(losses[k - 1]!);
    expect(losses[7]!).toBeLessThan(0.8 * losses[0]!);
  });

  it('Meta RNN, OpenAI-ES: 10 steps lower the loss of the fixed episode (1.41 → 0.55)', async () => {
    const tasksCfg = tinyTasks({ length: 8, labelWidth: 4 });
    const model = metaRnnModel({ inputDim: 4, numClasses: 4, hidden: 6 });
    const tasks = new FixedTasks(tasksCfg);
    const { theta } = await train(model, tasksCfg, esEstimator({ evaluator: new InProcessEvaluator(model, tasks), pairs: 8, sigma: 0.1 }), 10, 0.2);
    const before = await unitLoss(model, tasks, model.initVector(5));
    expect(await unitLoss(model, tasks, theta)).toBeLessThan(0.6 * before);
  });

  it('Meta RNN, sep-CMA-ES: 10 generations lower the loss of the fixed episode at the mean (1.41 → 0.61)', async () => {
    const tasksCfg = tinyTasks({ length: 8, labelWidth: 4 });
    const model = metaRnnModel({ inputDim: 4, numClasses: 4, hidden: 6 });
    const tasks = new FixedTasks(tasksCfg);
    const { theta } = await train(model, tasksCfg, sepCmaEstimator({ evaluator: new InProcessEvaluator(model, tasks), popSize: 8, seed: 3, sigma0: 0.3 }), 10, 1e-3);
    const before = await unitLoss(model, tasks, model.initVector(5));
    expect(await unitLoss(model, tasks, theta)).toBeLessThan(0.6 * before);
  });
});
