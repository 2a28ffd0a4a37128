import { CLONE_PRESETS, PAPER_PRESET, QUICK_PRESET, cloneModelConfig, isCloneError, parseClonePreset } from '../src/index.js';

function expectBadConfig(input: unknown, pattern: RegExp): void {
  try {
    parseClonePreset(input);
  } catch (e) {
    expect(isCloneError(e)).toBe(true);
    expect((e as { code: string }).code).toBe('BAD_CONFIG');
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected BAD_CONFIG');
}

describe('presets', () => {
  test.each(Object.keys(CLONE_PRESETS))('%s parses and round-trips through JSON', (name) => {
    const p = parseClonePreset(JSON.parse(JSON.stringify(CLONE_PRESETS[name as keyof typeof CLONE_PRESETS])));
    expect(p.name).toBe(name);
    expect(parseClonePreset(p)).toEqual(p);
  });

  test('paper preset carries Tables 1 and 2', () => {
    const p = parseClonePreset(PAPER_PRESET);
    const s0 = p.curriculum[0]!;
    expect(s0.kind).toBe('subrnn');
    if (s0.kind !== 'subrnn') return;
    expect([s0.batch, s0.iterations, s0.data.xStd, s0.optimizer.lr]).toEqual([32768, 1e6, 2, 5e-3]);
    expect(p.model['slowSize']).toBe(32);
    expect(p.emulation.scale).toBe(20);
    expect([p.improve.generations, p.improve.popSize, p.improve.sigma0, p.improve.steps]).toEqual([200, 64, 0.1, 10000]);
    expect(p.metatest.innerBatch).toBe(64);
    expect(cloneModelConfig(p.model, [784, 10]).stateClip).toEqual([-4, 4]);
  });

  test('unknown keys are errors, with their path', () => {
    expectBadConfig({ ...QUICK_PRESET, extra: 1 }, /preset\.extra: unknown key/);
    expectBadConfig({ ...QUICK_PRESET, emulation: { ...QUICK_PRESET.emulation, lr: 1 } }, /preset\.emulation\.lr: unknown key/);
    expectBadConfig({ ...QUICK_PRESET, curriculum: [{ ...QUICK_PRESET.curriculum[0], foo: 2 }] }, /curriculum\[0\]\.foo: unknown key/);
    expectBadConfig({ ...QUICK_PRESET, model: { slowSize: 8, bogus: true } }, /bogus: unknown key/);
  });

  test('Fashion-MNIST is refused for cloning and improving', () => {
    const st = { ...QUICK_PRESET.curriculum[1], data: { dataset: 'fashion_mnist' } };
    expectBadConfig({ ...QUICK_PRESET, curriculum: [st] }, /held out/);
    expectBadConfig({ ...QUICK_PRESET, improve: { ...QUICK_PRESET.improve, dataset: 'fashion_mnist' } }, /held out/);
  });

  test('model constraints of a clone', () => {
    expectBadConfig({ ...QUICK_PRESET, model: { backwardPass: false } }, /backwardPass/);
    expectBadConfig({ ...QUICK_PRESET, model: { layerNorm: true } }, /layerNorm/);
    expectBadConfig({ ...QUICK_PRESET, model: { layers: [] } }, /layers/);
    expectBadConfig({ ...QUICK_PRESET, emulation: { wDim: 0, bDim: 0 } }, /must differ/);
  });
});
