// The shipped V_M checkpoints learn: on a short online MNIST stream (7×7, classes 0–2, 5 seeds) each beats a random
// V_M of the same model by a clear margin. A V_M that never learns (or a broken loader / learner) fails here; the
// demo and main-job tests only check files and strings.
import { initBackend, initParamVector, loadCheckpoint } from '@vsml/core';
import * as clone from '@vsml/clone';
import * as mt from '@vsml/metatrain';
import { shippedCheckpoints } from '../src/commands/demo.js';
import { cloneSuiteSpec, loadClonedVm, resolveClonePreset } from '../src/commands/clone-setup.js';
import { loadPreset } from '../src/config/presets.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('shipped checkpoints', () => {
  it('vsml-scratch.vm.json beats a random V_M on a 30-step stream (online accuracy 0.76 vs 0.27)', async () => {
    const { vsml } = shippedCheckpoints();
    expect(vsml).not.toBeNull();
    const ck = await loadCheckpoint(vsml!);
    const cfg = { dataset: 'mnist', preprocess: { resize: [7, 7], classes: [0, 1, 2] }, steps: 30, seeds: [1, 2, 3, 4, 5] };
    const trained = await mt.metaTest({ ...cfg, learner: await mt.vsmlLearnerFromCheckpoint(vsml!) });
    const model = mt.vsmlModel({ config: ck.model });
    const random = await mt.metaTest({ ...cfg, learner: model.learner(model.initVector(3)) });
    expect(trained.summary['online']!.mean).toBeGreaterThan(random.summary['online']!.mean + 0.25);
    expect(trained.summary['loss']!.mean).toBeLessThan(random.summary['loss']!.mean - 0.3);
  });

  it('clone-backprop.vm.json beats a random V_M in the clone demo suite, 20 steps (held-out accuracy 0.61 vs 0.28)', async () => {
    const { clone: file } = shippedCheckpoints();
    expect(file).not.toBeNull();
    const { preset, source } = loadPreset({ preset: 'quick' });
    const base = resolveClonePreset(preset, source);
    const spec = { ...cloneSuiteSpec(preset, source, 'demo', base), datasets: ['mnist'], steps: 20, innerBatch: 16, seeds: [1, 2, 3, 4, 5], evalEvery: 20, evalCount: 300, sgd: { enabled: false } };
    spec.preprocess = { ...spec.preprocess, classes: [0, 1, 2] };
    const shipped = await loadClonedVm(file!);
    const ck = await loadCheckpoint(file!);
    const run = async (vm: Float32Array) => (await clone.metaTestClone({ vm, model: shipped.model, emulation: base.emulation, spec })).results[0]!.summary;
    const a = await run(shipped.vm);
    const b = await run(initParamVector(ck.model, 3));
    expect(a['test']!.mean).toBeGreaterThan(b['test']!.mean + 0.15);
    expect(a['testLoss']!.mean).toBeLessThan(b['testLoss']!.mean - 0.08);
    expect(a['recent']!.mean).toBeGreaterThan(b['recent']!.mean + 0.15);
  });
});
