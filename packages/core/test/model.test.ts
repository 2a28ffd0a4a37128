// Model config, V_M layout and counts, parameter init and flat vectors, V_L initial state and merging.
import {
  tf,
  parseModelConfig,
  defaultModelConfig,
  withLayerSizes,
  paramLayout,
  countVM,
  countVL,
  initParams,
  initParamVector,
  flattenParams,
  unflattenParams,
  checkParams,
  stackParams,
  disposeParams,
  initState,
  mergeInnerBatch,
  clipState,
  disposeState,
  episodeLoss,
  paramValueAndGrads,
  isVsmlError,
  GATE_ORDER,
  GATE_OFFSETS,
} from '../src/index.js';
import { randomData, useBackend } from './helpers/setup.js';

useBackend('wasm');

describe('model config', () => {
  it('has the official defaults', () => {
    expect(defaultModelConfig()).toEqual({
      layers: [{ in: 784, out: 10 }],
      slowSize: 16,
      msgSize: 8,
      microTicks: 2,
      outputIdx: 1,
      tanhBound: 100,
      feedLabel: false,
      backwardPass: false,
      separateBackwardRnn: false,
      layerwiseRnns: false,
      layerNorm: false,
      initRandProportion: 0.5,
      stateClip: null,
      aggregation: 'mean',
      innerBatchMerge: 0.5,
    });
    expect(GATE_ORDER).toEqual(['i', 'g', 'f', 'o']);
    expect(GATE_OFFSETS).toEqual({ i: -5, g: 0, f: 5, o: 0 });
  });

  it('rejects unknown keys with their key path, and every other problem at once', () => {
    let err: unknown;
    try {
      parseModelConfig({ layers: [{ in: 4, out: 3, width: 2 }, { in: 5, out: 2 }], slowsize: 8, outputIdx: 9, aggregation: 'max' });
    } catch (e) {
      err = e;
    }
    expect(isVsmlError(err)).toBe(true);
    expect((err as { code: string }).code).toBe('BAD_CONFIG');
    const msg = (err as Error).message;
    expect(msg).toMatch(/model.layers\[0\].width: unknown key/);
    expect(msg).toMatch(/model.slowsize: unknown key/);
    expect(msg).toMatch(/model.aggregation:/);
    expect(() => parseModelConfig({ layers: [{ in: 4, out: 3 }, { in: 5, out: 2 }] })).toThrow(/model.layers\[1\].in: must equal layers\[0\].out = 3/);
    expect(() => parseModelConfig({ outputIdx: 8 })).toThrow(/model.outputIdx: must be < msgSize = 8/);
    expect(() => parseModelConfig({ separateBackwardRnn: true })).toThrow(/needs backwardPass/);
    expect(() => parseModelConfig({ stateClip: [4, -4] })).toThrow(/lo < hi/);
    expect(() => parseModelConfig({ msgSize: 1 })).toThrow(/model.msgSize/);
  });

  it('withLayerSizes moves the same V_M to other sizes', () => {
    const c = parseModelConfig({ layerNorm: true });
    const deep = withLayerSizes(c, [100, 32, 5]);
    expect(deep.layers).toEqual([
      { in: 100, out: 32 },
      { in: 32, out: 5 },
    ]);
    expect(countVM(deep)).toBe(countVM(c));
    expect(() => withLayerSizes(parseModelConfig({ layerwiseRnns: true }), [10, 5, 2])).toThrow(/layerwiseRnns/);
    expect(() => withLayerSizes(c, [3])).toThrow(/at least 2 sizes/);
  });
});

describe('V_M layout and counts', () => {
  it('|V_M| and |V_L| of the default MNIST model are 2,384 and 250,880 (2,416 with layer norm)', () => {
    expect(countVM(defaultModelConfig())).toBe(2384);
    expect(countVL(defaultModelConfig())).toBe(250880);
    expect(countVM(defaultModelConfig({ layerNorm: true }))).toBe(2416);
    // method sheet §2.12
    expect(countVL(defaultModelConfig({ layers: [{ in: 784, out: 32 }, { in: 32, out: 10 }] }))).toBe(813056);
    expect(countVL(defaultModelConfig({ layers: [{ in: 784, out: 62 }] }))).toBe(1555456);
    expect(countVL(defaultModelConfig({ layers: [{ in: 3072, out: 10 }] }))).toBe(983040);
    const two = [{ in: 784, out: 32 }, { in: 32, out: 10 }];
    expect(countVM(defaultModelConfig({ layers: two, layerwiseRnns: true }))).toBe(2 * 2384);
    expect(countVM(defaultModelConfig({ backwardPass: true, separateBackwardRnn: true }))).toBe(2 * 2384);
    expect(countVM(defaultModelConfig({ layers: two, layerwiseRnns: true, backwardPass: true, separateBackwardRnn: true }))).toBe(4 * 2384);
  });

  it('names, shapes and offsets follow the documented order', () => {
    const l = paramLayout(defaultModelConfig({ layerNorm: true }));
    expect(l.map((s) => [s.name, s.shape])).toEqual([
      ['lstm.w', [32, 64]],
      ['lstm.b', [64]],
      ['fwd.w', [16, 8]],
      ['fwd.b', [8]],
      ['bwd.w', [16, 8]],
      ['bwd.b', [8]],
      ['fwdNorm.scale', [8]],
      ['fwdNorm.offset', [8]],
      ['bwdNorm.scale', [8]],
      ['bwdNorm.offset', [8]],
    ]);
    let o = 0;
    for (const s of l) {
      expect(s.offset).toBe(o);
      o += s.size;
    }
    const sep = paramLayout(defaultModelConfig({ layers: [{ in: 4, out: 3 }, { in: 3, out: 2 }], layerwiseRnns: true, backwardPass: true, separateBackwardRnn: true }));
    expect(sep.filter((s) => s.base === 'lstm.w').map((s) => s.name)).toEqual(['layers.0.lstm.w', 'layers.1.lstm.w', 'layers.0.reverse.lstm.w', 'layers.1.reverse.lstm.w']);
  });
});

describe('V_M parameters', () => {
  const config = defaultModelConfig();

  it('initialise as Haiku: truncated normal (±2σ, no rescaling) σ = 1/√fan-in, zero biases, deterministic', () => {
    const v = initParamVector(config, 42);
    expect(Array.from(initParamVector(config, 42))).toEqual(Array.from(v));
    expect(Array.from(initParamVector(config, 43))).not.toEqual(Array.from(v));
    const [w, b, fw] = paramLayout(config);
    const lw = v.subarray(w!.offset, w!.offset + w!.size);
    const s = 1 / Math.sqrt(32);
    expect(Math.max(...Array.from(lw).map(Math.abs))).toBeLessThanOrEqual(2 * s + 1e-7);
    const std = Math.sqrt(lw.reduce((a, x) => a + x * x, 0) / lw.length);
    expect(std / s).toBeGreaterThan(0.84); // ≈ 0.88 for a standard normal truncated at ±2
    expect(std / s).toBeLessThan(0.92);
    expect(v.subarray(b!.offset, b!.offset + b!.size).every((x) => x === 0)).toBe(true);
    const f = v.subarray(fw!.offset, fw!.offset + fw!.size);
    expect(Math.max(...Array.from(f).map(Math.abs))).toBeLessThanOrEqual(2 / 4 + 1e-7);
    const ln = initParams(defaultModelConfig({ layerNorm: true }), 1);
    expect(Array.from(ln['fwdNorm.scale']!.dataSync())).toEqual(new Array(8).fill(1));
    disposeParams(ln);
  });

  it('flatten / unflatten round-trip, shared and per member; stacking', () => {
    const a = initParams(config, 1);
    const b = initParams(config, 2);
    const fa = flattenParams(a, config);
    expect(fa.length).toBe(2384);
    expect(Array.from(fa)).toEqual(Array.from(initParamVector(config, 1)));
    const back = unflattenParams(config, fa);
    expect(Array.from(flattenParams(back))).toEqual(Array.from(fa));
    const st = stackParams([a, b]);
    expect(checkParams(st, config)).toBe(2);
    expect(st['lstm.w']!.shape).toEqual([2, 32, 64]);
    const fst = flattenParams(st, config);
    expect(Array.from(fst.subarray(2384))).toEqual(Array.from(flattenParams(b)));
    const st2 = unflattenParams(config, fst, { population: 2 });
    expect(Array.from(st2['fwd.w']!.dataSync())).toEqual(Array.from(st['fwd.w']!.dataSync()));
    expect(() => unflattenParams(config, new Float32Array(10))).toThrow(/length 10, expected 2384/);
    expect(() => checkParams({ ...a, 'lstm.w': tf.zeros([3, 3]) }, config)).toThrow(/'lstm.w' has shape \[3,3\]/);
    expect(() => checkParams({ ...a, extra: tf.zeros([1]) }, config)).toThrow(/unknown parameter 'extra'/);
    [a, b, back, st, st2].forEach(disposeParams);
  });

  it('unflattening a tensor is differentiable: gradients w.r.t. the flat vector (also [P, n])', () => {
    const small = parseModelConfig({ layers: [{ in: 3, out: 2 }], slowSize: 4, msgSize: 2 });
    const n = countVM(small);
    const flat = tf.tensor2d(Array.from({ length: 2 }, (_, m) => Array.from(initParamVector(small, m))));
    const { x, y } = randomData(small, 3, 2, 1);
    const g = tf.grad((v: tf.Tensor) => episodeLoss(unflattenParams(small, v), small, { inputs: x, labels: y, steps: 3, population: 2 }, { seed: 1 }))(flat);
    expect(g.shape).toEqual([2, n]);
    // same as the named gradients
    const named = unflattenParams(small, flat);
    const vg = paramValueAndGrads(named, (p) => episodeLoss(p, small, { inputs: x, labels: y, steps: 3, population: 2 }, { seed: 1 }));
    const gm = flattenParams(vg.grads, small);
    const gv = g.dataSync();
    for (let i = 0; i < gm.length; i++) expect(Math.abs(gm[i]! - gv[i]!)).toBeLessThan(1e-6);
  });
});

describe('V_L state', () => {
  const config = parseModelConfig({ layers: [{ in: 25, out: 3 }, { in: 3, out: 2 }] });

  it('initial state: h = 0, first floor(16·0.5) dims of c truncated normal σ = 1/√in, rest 0, messages 0', () => {
    const s = initState(config, { population: 2, seed: 7 });
    expect(s.layers[0]!.h.shape).toEqual([2, 25, 3, 16]);
    expect(s.layers[0]!.fwdIn.shape).toEqual([2, 25, 8]);
    expect(s.layers[1]!.bwdIn.shape).toEqual([2, 2, 8]);
    expect(tf.max(tf.abs(s.layers[0]!.h)).dataSync()[0]).toBe(0);
    const c = s.layers[0]!.c.arraySync() as number[][][][];
    const rand = c.flat(3).filter((_, i) => i % 16 < 8);
    const zero = c.flat(3).filter((_, i) => i % 16 >= 8);
    expect(zero.every((v) => v === 0)).toBe(true);
    expect(rand.every((v) => v !== 0 && Math.abs(v) <= 2 / 5 + 1e-7)).toBe(true);
    const std = Math.sqrt(rand.reduce((a, v) => a + v * v, 0) / rand.length);
    expect(std * 5).toBeGreaterThan(0.82);
    expect(std * 5).toBeLessThan(0.94);
    // layer 1 uses its own fan-in
    expect(Math.max(...(s.layers[1]!.c.dataSync() as Float32Array).map(Math.abs))).toBeLessThanOrEqual(2 / Math.sqrt(3) + 1e-6);
    // members differ; member 0 does not depend on the population size; equal member keys → equal states
    expect(c[0]).not.toEqual(c[1]);
    const one = initState(config, { population: 1, seed: 7 });
    expect((one.layers[0]!.c.arraySync() as number[][][][])[0]).toEqual(c[0]);
    const pairs = initState(config, { population: 2, seed: 7, memberKeys: [1, 1] });
    const pc = pairs.layers[0]!.c.arraySync() as number[][][][];
    expect(pc[0]).toEqual(pc[1]);
    expect(pc[0]).toEqual(c[1]);
    [s, one, pairs].forEach((x) => disposeState(x));
  });

  it('inner batch: rows of a member start equal; merging averages the first half of the state only', () => {
    const s = initState(config, { population: 2, innerBatch: 3, seed: 1 });
    const c = s.layers[0]!.c.arraySync() as number[][][][];
    expect(c[1]).toEqual(c[0]);
    expect(c[3]).not.toEqual(c[0]);
    const x = tf.randomNormal([2 * 3, 2, 2, 4], 0, 1, 'float32', 3);
    const m = mergeInnerBatch(x, 2, 3, 0.5);
    const xv = x.arraySync() as number[][][][];
    const mv = m.arraySync() as number[][][][];
    for (let p = 0; p < 2; p++)
      for (let b = 0; b < 3; b++)
        for (let j = 0; j < 4; j++) {
          const e = p * 3 + b;
          const want = j < 2 ? (xv[p * 3]![1]![0]![j]! + xv[p * 3 + 1]![1]![0]![j]! + xv[p * 3 + 2]![1]![0]![j]!) / 3 : xv[e]![1]![0]![j]!;
          expect(Math.abs(mv[e]![1]![0]![j]! - want)).toBeLessThan(1e-6);
        }
    expect(mergeInnerBatch(x, 6, 1, 0.5)).toBe(x);
    const clipped = clipState(s, [-0.01, 0.01]);
    expect(tf.max(tf.abs(clipped.layers[0]!.c)).dataSync()[0]).toBeCloseTo(0.01, 6);
    disposeState(clipped, s);
    disposeState(s);
  });
});
