// The sub-RNN, dense-layer and tick ops: hand-computed tiny cases (gate order and offsets, message slots, micro
// ticks reusing their messages), fused == literal, NaN propagation, gradients through one tick, no leaks.
import {
  tf,
  parseModelConfig,
  lstmCellStep,
  messengers,
  subRnnStep,
  denseMicroTick,
  denseLayerTick,
  forwardTick,
  reverseTick,
  errorInjection,
  injectInput,
  runEpisode,
  initState,
  initParams,
  rnnParams,
  disposeState,
  disposeParams,
  paramValueAndGrads,
  stateFromArrays,
  type ParamSet,
} from '../src/index.js';
import { maxAbsDiff, randomNamed, toParamSet, useBackend } from './helpers/setup.js';

useBackend('wasm');

const sig = (z: number): number => 1 / (1 + Math.exp(-z));

describe('lstmCellStep (custom LSTM: gates i, g, f, o; input −5, forget +5)', () => {
  const H = 2;
  const M = 1;
  for (const kernel of ['fused', 'reference'] as const) {
    it(`zero weights: c' = σ(5)·c, h' = σ(0)·tanh(c') [${kernel}]`, () => {
      const rnn = { lstmW: tf.zeros([2 * M + H, 4 * H]), lstmB: tf.zeros([4 * H]) };
      const c = tf.tensor2d([[0.3, -1.2]]);
      const r = lstmCellStep(rnn, tf.tensor2d([[0.7]]), tf.tensor2d([[-0.4]]), tf.tensor2d([[0.9, -0.2]]), c, { kernel });
      const c1 = [sig(5) * 0.3, sig(5) * -1.2];
      expect(maxAbsDiff(r.c.dataSync(), c1)).toBeLessThan(1e-6);
      expect(maxAbsDiff(r.h.dataSync(), c1.map((v) => 0.5 * Math.tanh(v)))).toBeLessThan(1e-6);
    });

    it(`bias blocks map to gates in the order i, g, f, o [${kernel}]`, () => {
      // bias: i-block 5 (→ σ(0) = .5), g-block 1, f-block −5 (→ σ(0) = .5), o-block 2
      const b = [5, 5, 1, 1, -5, -5, 2, 2];
      const rnn = { lstmW: tf.zeros([2 * M + H, 4 * H]), lstmB: tf.tensor1d(b) };
      const r = lstmCellStep(rnn, tf.zeros([1, M]), tf.zeros([1, M]), tf.zeros([1, H]), tf.tensor2d([[0.4, -0.6]]), { kernel });
      const c1 = [0.5 * 0.4 + 0.5 * Math.tanh(1), 0.5 * -0.6 + 0.5 * Math.tanh(1)];
      expect(maxAbsDiff(r.c.dataSync(), c1)).toBeLessThan(1e-6);
      expect(maxAbsDiff(r.h.dataSync(), c1.map((v) => sig(2) * Math.tanh(v)))).toBeLessThan(1e-6);
    });

    it(`rows of lstm.w read forward message, backward message, hidden state [${kernel}]`, () => {
      // column 2 = g gate of unit 0; row 0 fwd, row 1 bwd, rows 2-3 hidden
      const w = tf.buffer([2 * M + H, 4 * H]);
      w.set(1, 0, 2);
      w.set(-2, 1, 2);
      w.set(0.5, 3, 2);
      const rnn = { lstmW: w.toTensor(), lstmB: tf.tensor1d([5, 5, 0, 0, 0, 0, 0, 0]) };
      const r = lstmCellStep(rnn, tf.tensor2d([[0.3]]), tf.tensor2d([[0.1]]), tf.tensor2d([[9, 0.8]]), tf.zeros([1, H]), { kernel });
      const g0 = Math.tanh(0.3 - 0.2 + 0.4);
      expect(maxAbsDiff(r.c.dataSync(), [0.5 * g0, 0.5 * Math.tanh(0)])).toBeLessThan(1e-6);
    });
  }

  it('fused == reference on random inputs, shared and per-member weights', () => {
    const config = parseModelConfig({ slowSize: 5, msgSize: 3, layers: [{ in: 2, out: 2 }] });
    const named = randomNamed(config, 3);
    const rnn = { lstmW: tf.tensor(named['lstm.w']!, [11, 20]), lstmB: tf.tensor(named['lstm.b']!) };
    const f = tf.randomNormal([6, 4, 3], 0, 1, 'float32', 1);
    const b = tf.randomNormal([6, 4, 3], 0, 1, 'float32', 2);
    const h = tf.randomUniform([6, 4, 5], -1, 1, 'float32', 3);
    const c = tf.randomNormal([6, 4, 5], 0, 1, 'float32', 4);
    const a1 = lstmCellStep(rnn, f, b, h, c, { kernel: 'fused' });
    const a2 = lstmCellStep(rnn, f, b, h, c, { kernel: 'reference' });
    expect(maxAbsDiff(a1.h.dataSync(), a2.h.dataSync())).toBeLessThan(1e-5);
    expect(maxAbsDiff(a1.c.dataSync(), a2.c.dataSync())).toBeLessThan(1e-5);
    // per member: P = 2 stacked weights, rows 0-2 use member 0, rows 3-5 member 1
    const w2 = tf.stack([rnn.lstmW, tf.mul(rnn.lstmW, -0.5)]);
    const b2 = tf.stack([rnn.lstmB, tf.add(rnn.lstmB, 1)]);
    const s = lstmCellStep({ lstmW: w2, lstmB: b2 }, f, b, h, c);
    const m1 = lstmCellStep({ lstmW: tf.mul(rnn.lstmW, -0.5), lstmB: tf.add(rnn.lstmB, 1) }, f, b, h, c, { kernel: 'reference' });
    const sh = s.h.arraySync() as number[][][];
    expect(maxAbsDiff(sh.slice(0, 3).flat(2), (a2.h.arraySync() as number[][][]).slice(0, 3).flat(2))).toBeLessThan(1e-5);
    expect(maxAbsDiff(sh.slice(3).flat(2), (m1.h.arraySync() as number[][][]).slice(3).flat(2))).toBeLessThan(1e-5);
  });

  it('propagates NaN instead of hiding it', () => {
    const rnn = { lstmW: tf.ones([4, 8]), lstmB: tf.zeros([8]) };
    const r = lstmCellStep(rnn, tf.tensor2d([[NaN]]), tf.zeros([1, 1]), tf.zeros([1, 2]), tf.zeros([1, 2]));
    expect(Array.from(r.h.dataSync()).every(Number.isNaN)).toBe(true);
  });

  it('rejects inputs that do not fit lstm.w, naming the shapes', () => {
    const rnn = { lstmW: tf.zeros([4, 8]), lstmB: tf.zeros([8]) };
    expect(() => lstmCellStep(rnn, tf.zeros([1, 2]), tf.zeros([1, 2]), tf.zeros([1, 2]), tf.zeros([1, 2]))).toThrow(/lstmCellStep: fwdIn \[1,2\]/);
  });
});

describe('messengers and subRnnStep', () => {
  it('apply fwd/bwd affine maps and, with layer norm, normalise each message over its M entries', () => {
    const config = parseModelConfig({ slowSize: 3, msgSize: 4, layerNorm: true, layers: [{ in: 2, out: 2 }] });
    const params = toParamSet(config, randomNamed(config, 9));
    const rnn = rnnParams(params, config, 0, 'forward');
    const h = tf.tensor2d([[0.2, -0.5, 0.9]]);
    const { fwd, bwd } = messengers(rnn, h);
    const hv = [0.2, -0.5, 0.9];
    const W = params['fwd.w']!.arraySync() as number[][];
    const bb = params['fwd.b']!.arraySync() as number[];
    const raw = [0, 1, 2, 3].map((m) => bb[m]! + hv.reduce((s, v, j) => s + v * W[j]![m]!, 0));
    const mean = raw.reduce((a, v) => a + v, 0) / 4;
    const vr = raw.reduce((a, v) => a + (v - mean) ** 2, 0) / 4;
    const sc = params['fwdNorm.scale']!.arraySync() as number[];
    const of = params['fwdNorm.offset']!.arraySync() as number[];
    const want = raw.map((v, m) => sc[m]! * ((v - mean) / Math.sqrt(vr + 1e-5)) + of[m]!);
    expect(maxAbsDiff(fwd.dataSync(), want)).toBeLessThan(1e-5);
    expect(bwd.shape).toEqual([1, 4]);
    const s = subRnnStep(rnn, tf.zeros([1, 4]), tf.zeros([1, 4]), h, tf.zeros([1, 3]));
    const m2 = messengers(rnn, s.h);
    expect(maxAbsDiff(s.fwd.dataSync(), m2.fwd.dataSync())).toBe(0);
    disposeParams(params);
  });
});

describe('dense layer ops', () => {
  const config = parseModelConfig({ slowSize: 4, msgSize: 3, microTicks: 3, layers: [{ in: 3, out: 2 }] });
  it('denseLayerTick (fused and reference) == microTicks × denseMicroTick with the same messages', () => {
    const params = toParamSet(config, randomNamed(config, 4));
    const rnn = rnnParams(params, config, 0, 'forward');
    const layer = {
      h: tf.randomUniform([2, 3, 2, 4], -1, 1, 'float32', 1),
      c: tf.randomNormal([2, 3, 2, 4], 0, 1, 'float32', 2),
      fwdIn: tf.randomNormal([2, 3, 3], 0, 1, 'float32', 3),
      bwdIn: tf.randomNormal([2, 2, 3], 0, 1, 'float32', 4),
    };
    let cur = { ...layer };
    let last = denseMicroTick(rnn, config, cur);
    for (let m = 1; m < 3; m++) {
      cur = { ...cur, h: last.h, c: last.c };
      last = denseMicroTick(rnn, config, cur);
    }
    for (const kernel of ['fused', 'reference'] as const) {
      const r = denseLayerTick(rnn, config, layer, { kernel });
      expect(maxAbsDiff(r.h.dataSync(), last.h.dataSync())).toBeLessThan(1e-5);
      expect(maxAbsDiff(r.c.dataSync(), last.c.dataSync())).toBeLessThan(1e-5);
      expect(maxAbsDiff(r.fwdOut.dataSync(), last.fwdOut.dataSync())).toBeLessThan(1e-5);
      expect(maxAbsDiff(r.bwdOut.dataSync(), last.bwdOut.dataSync())).toBeLessThan(1e-5);
      expect(r.fwdOut.shape).toEqual([2, 2, 3]);
      expect(r.bwdOut.shape).toEqual([2, 3, 3]);
    }
    disposeParams(params);
  });

  it('rejects a layer state of the wrong shape', () => {
    const params = initParams(config, 1);
    const rnn = rnnParams(params, config, 0, 'forward');
    expect(() => denseLayerTick(rnn, config, { h: tf.zeros([1, 3, 2, 5]), c: tf.zeros([1, 3, 2, 5]), fwdIn: tf.zeros([1, 3, 3]), bwdIn: tf.zeros([1, 2, 3]) })).toThrow(
      /denseLayerTick: h \[1,3,2,5\]/,
    );
    disposeParams(params);
  });
});

describe('message slots and micro ticks in an episode (hand computed, H = 1, M = 2, one 1→2 layer)', () => {
  // lstm.w rows: [fwd slot 0, fwd slot 1, bwd slot 0, bwd slot 1, h]; columns [i, g, f, o]
  const w = [
    [0, 1, 0, 0], // x → g
    [0, 0, 0, 0],
    [0, 2, 0, 0], // error → g
    [0, -1.5, 0, 0], // label → g
    [0, 0, 0, 0],
  ];
  const params = (): ParamSet => ({
    'lstm.w': tf.tensor2d(w),
    'lstm.b': tf.tensor1d([5, 0, -5, 0]), // i = f = o = σ(0) = 0.5
    'fwd.w': tf.tensor2d([[7, 3]]), // slot 0 (not the output) 7, slot 1 (the output) 3
    'fwd.b': tf.tensor1d([0, 0.25]),
    'bwd.w': tf.zeros([1, 2]),
    'bwd.b': tf.zeros([2]),
  });
  for (const feedLabel of [false, true]) {
    it(`x in forward slot 0, err (and label: ${feedLabel}) in backward slots 0 and 1 at the next step, logits from slot 1`, () => {
      const config = parseModelConfig({ slowSize: 1, msgSize: 2, layers: [{ in: 1, out: 2 }], feedLabel, microTicks: 2 });
      const x = [0.8, -0.6];
      const y = [1, 0];
      const p = params();
      const state = stateFromArrays(config, [{ c: new Float32Array(2) }], { population: 1 });
      const r = runEpisode(p, config, { inputs: x, labels: y, steps: 2, population: 1 }, { initialState: state });
      const bound = (v: number): number => 100 * Math.tanh(v / 100);
      // step 0: no error yet; two micro ticks with the same input: c = .5c + .5 tanh(x)
      const t0 = Math.tanh(x[0]!);
      const c2 = 0.75 * t0;
      const l0 = bound(3 * 0.5 * Math.tanh(c2) + 0.25);
      const err0 = [0.5 - (y[0] === 0 ? 1 : 0), 0.5 - (y[0] === 1 ? 1 : 0)];
      const lab0 = [0, 1].map((b) => (feedLabel && b === y[0] ? 1 : 0));
      const l1 = [0, 1].map((b) => {
        const g = Math.tanh(x[1]! + 2 * err0[b]! - 1.5 * lab0[b]!);
        const cb = 0.25 * c2 + 0.75 * g;
        return bound(3 * 0.5 * Math.tanh(cb) + 0.25);
      });
      expect(maxAbsDiff(r.logits.dataSync(), [l0, l0, ...l1])).toBeLessThan(1e-5);
      tf.dispose([r.logits, r.loss, r.correct]);
      disposeState(state);
      disposeParams(p);
    });
  }
});

describe('forwardTick / reverseTick', () => {
  const config = parseModelConfig({
    slowSize: 4,
    msgSize: 3,
    layers: [
      { in: 3, out: 4 },
      { in: 4, out: 2 },
    ],
    backwardPass: true,
    separateBackwardRnn: true,
  });

  it('forward messages cross the stack in one tick; backward messages move one layer per tick', () => {
    const params = toParamSet(config, randomNamed(config, 6));
    const s0 = initState(config, { population: 1, seed: 1 });
    const x = tf.tensor2d([[0.5, -1, 2]]);
    const r = forwardTick(params, config, s0, { x, bwdInjection: errorInjection(tf.tensor2d([[0.3, -0.3]]), null, 3) });
    // layer 1 received layer 0's new forward output in the same tick
    expect(maxAbsDiff(r.state.layers[1]!.fwdIn.dataSync(), r.fwdOut[0]!.dataSync())).toBe(0);
    // layer 0's incoming backward message is layer 1's output of this tick, used only at the next tick
    expect(maxAbsDiff(r.state.layers[0]!.bwdIn.dataSync(), r.bwdOut[1]!.dataSync())).toBe(0);
    expect(r.logits!.shape).toEqual([1, 2]);
    // the slot-0 injection
    expect(maxAbsDiff(r.state.layers[0]!.fwdIn.dataSync(), injectInput(x, 3).dataSync())).toBe(0);
    const rv = reverseTick(params, config, r.state, { x });
    expect(rv.logits).toBeNull();
    // in a reverse tick, layer 0 sees layer 1's backward output of the same tick
    expect(maxAbsDiff(rv.state.layers[0]!.bwdIn.dataSync(), rv.bwdOut[1]!.dataSync())).toBe(0);
    disposeParams(params);
    disposeState(s0);
  });

  it('gradients flow through one tick to every parameter that the logits depend on', () => {
    const params = toParamSet(config, randomNamed(config, 8));
    const s0 = initState(config, { population: 2, seed: 3 });
    const x = tf.randomNormal([2, 3], 0, 1, 'float32', 5);
    const { value, grads } = paramValueAndGrads(params, (p) => tf.sum(tf.square(forwardTick(p, config, s0, { x }).logits!)) as tf.Scalar);
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    for (const n of ['lstm.w', 'lstm.b', 'fwd.w', 'fwd.b']) expect(tf.max(tf.abs(grads[n]!)).dataSync()[0]).toBeGreaterThan(0);
    // the reverse RNN is not used by a forward tick
    expect(tf.max(tf.abs(grads['reverse.lstm.w']!)).dataSync()[0]).toBe(0);
    disposeParams(params);
    disposeState(s0);
  });

  it('keeps numTensors flat over 100 ticks', () => {
    const params = initParams(config, 2);
    let s = initState(config, { population: 1, seed: 2 });
    const x = tf.ones([1, 3]);
    const before = tf.memory().numTensors;
    for (let t = 0; t < 100; t++) {
      const r = forwardTick(params, config, s, { x });
      const next = tf.tidy(() => reverseTick(params, config, r.state, { x }).state as unknown as tf.TensorContainer) as unknown as typeof s;
      tf.dispose([r.logits!, ...r.fwdOut.filter((t): t is tf.Tensor => t !== null), ...r.bwdOut.filter((t): t is tf.Tensor => t !== null)]);
      disposeState(r.state, next);
      disposeState(s, next);
      s = next;
    }
    expect(tf.memory().numTensors).toBe(before);
    disposeState(s);
    disposeParams(params);
  });
});
