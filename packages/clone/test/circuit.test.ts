import { tf } from '@vsml/core';
import { Rng } from '@vsml/rng';
import {
  FlatAdam,
  QUICK_PRESET,
  emptyPool,
  evaluateSubRnnClone,
  initialVm,
  parseClonePreset,
  presetModelConfig,
  subRnnIteration,
  trainableMask,
  cloneModelConfig,
  type ClonePresetInput,
} from '../src/index.js';
import { useBackend } from './helpers.js';

useBackend();

/** The quick preset at a test's size (slow 8, messages 4), with or without the update circuit. */
function tinyPreset(circuit: boolean, extra: Partial<ClonePresetInput> = {}): ClonePresetInput {
  const random = { ...QUICK_PRESET.curriculum[0], iterations: 3, batch: 64 };
  return {
    ...structuredClone(QUICK_PRESET),
    model: { ...QUICK_PRESET.model, slowSize: 8, msgSize: 4, separateBackwardRnn: circuit },
    init: circuit ? { updateCircuit: {} } : {},
    curriculum: [random],
    ...extra,
  } as unknown as ClonePresetInput;
}

test('the update circuit computes Δw = −η·e·tanh x and Δb = −η·e at init, and holds w, b in the forward tick', async () => {
  const preset = parseClonePreset(tinyPreset(true));
  const r = await evaluateSubRnnClone({ vm: initialVm(preset), preset, rows: 512, warmup: 3, steps: 2 });
  expect(r.updWRel).toBeLessThan(0.06);
  expect(r.updWCorr).toBeGreaterThan(0.998);
  expect(r.updBRel).toBeLessThan(0.03);
  expect(r.holdRel).toBeLessThan(1e-3);
  // the update is right for both signs of x (the official init's local optimum gets one sign only)
  for (const bin of r.bins.x) expect(bin.gain).toBeGreaterThan(0.9);
  const neg = r.samples.x.map((x, i) => (x < 0 ? i : -1)).filter((i) => i >= 0);
  const pos = r.samples.x.map((x, i) => (x > 0.5 ? i : -1)).filter((i) => i >= 0);
  const gain = (idx: number[]): number => idx.reduce((s, i) => s + r.samples.clone[i]! * r.samples.target[i]!, 0) / idx.reduce((s, i) => s + r.samples.target[i]! ** 2, 0);
  expect(gain(neg)).toBeGreaterThan(0.9);
  expect(gain(pos)).toBeGreaterThan(0.9);
});

test('without the circuit the official init does not update w at all', async () => {
  const preset = parseClonePreset(tinyPreset(false));
  const r = await evaluateSubRnnClone({ vm: initialVm(preset), preset, rows: 256, warmup: 2, steps: 1 });
  expect(r.updWRel).toBeGreaterThan(0.9);
});

test('the update circuit scales with η, the micro ticks and the bias learning rate', async () => {
  const base = tinyPreset(true);
  const preset = parseClonePreset({ ...base, model: { ...base.model, microTicks: 3 }, emulation: { ...base.emulation, eta: 0.5, biasEta: 0.2 } } as ClonePresetInput);
  const r = await evaluateSubRnnClone({ vm: initialVm(preset), preset, rows: 256, warmup: 2, steps: 2 });
  expect(r.updWRel).toBeLessThan(0.06);
  expect(r.updBRel).toBeLessThan(0.03);
});

test('the circuit needs a separate reverse-tick LSTM and helper dims apart from w and b', () => {
  const base = tinyPreset(true);
  expect(() => parseClonePreset({ ...base, model: { ...base.model, separateBackwardRnn: false } } as ClonePresetInput)).toThrow(/separateBackwardRnn/);
  expect(() => parseClonePreset({ ...base, init: { updateCircuit: { helpers: [0, 7] } } } as ClonePresetInput)).toThrow(/helper dims/);
  expect(() => parseClonePreset({ ...base, init: { updateCircuit: { helpers: [6, 6] } } } as ClonePresetInput)).toThrow(/helper dims/);
});

test('cloning keeps the circuit fixed (train: false) and trains it with train: true', async () => {
  for (const train of [false, true]) {
    const input = tinyPreset(true);
    const preset = parseClonePreset({ ...input, init: { updateCircuit: { train } } } as ClonePresetInput);
    const config = cloneModelConfig(preset.model, [1, 1]);
    const v0 = initialVm(preset, presetModelConfig(preset));
    const mask = trainableMask(preset);
    if (!train) {
      expect(mask).not.toBeNull();
      const frozen = mask!.reduce((s, m) => s + (m === 0 ? 1 : 0), 0);
      // per group: 2 helpers × 4 gates + 2 storage dims × 3 gates = 14 columns of (K rows + 1 bias), two groups
      const K = 2 * config.msgSize + config.slowSize;
      expect(frozen).toBe(2 * 14 * (K + 1));
    } else expect(mask).toBeNull();
    const init = tf.tensor1d(v0);
    const v = tf.variable(init);
    init.dispose();
    const stage = preset.curriculum[0]!;
    if (stage.kind !== 'subrnn') throw new Error('expected the random stage');
    const adam = new FlatAdam(v, stage.optimizer, undefined, mask);
    const pool = emptyPool(stage.batch, config.slowSize);
    for (let it = 0; it < 3; it++) await subRnnIteration(v, (g) => adam.apply(g), pool, Rng.fromSeed(1, it), config, preset.emulation, stage);
    const v1 = await v.data();
    let movedFrozen = 0;
    let movedFree = 0;
    const m = mask ?? trainableMask(parseClonePreset({ ...input, init: { updateCircuit: { train: false } } } as ClonePresetInput))!;
    for (let i = 0; i < v0.length; i++) {
      if (v1[i] === v0[i]) continue;
      if (m[i] === 0) movedFrozen++;
      else movedFree++;
    }
    expect(movedFree).toBeGreaterThan(100);
    if (train) expect(movedFrozen).toBeGreaterThan(0);
    else expect(movedFrozen).toBe(0);
    adam.dispose();
    v.dispose();
  }
});
